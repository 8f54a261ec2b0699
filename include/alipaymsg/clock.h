// Time, injected: library code, the daemon and the simulator ask a Clock instead of reading the
// system time, so tests can drive backoff, retries, timestamps and timeouts without sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace alipaymsg {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch (a fake clock may start anywhere). Thread-safe.
  virtual int64_t NowMs() const = 0;
  // Microseconds since the Unix epoch, for latency records; a clock without finer time says
  // NowMs() * 1000.
  virtual int64_t NowUs() const { return NowMs() * 1000; }
};

// The wall clock (std::chrono::system_clock). Header-only so that any module can use it.
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t NowUs() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // A process-wide instance, the default wherever a Clock pointer may be left null. Never destroyed,
  // so that threads and static objects still running at exit can ask it.
  static const SystemClock& Instance() {
    static const SystemClock* const clock = new SystemClock;
    return *clock;
  }
};

// A clock that moves only when told to (tests). Thread-safe: a test advances it while other
// threads read it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 0) : now_ms_(start_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void Set(int64_t now_ms) { now_ms_.store(now_ms); }
  void Advance(int64_t delta_ms) { now_ms_.fetch_add(delta_ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace alipaymsg
