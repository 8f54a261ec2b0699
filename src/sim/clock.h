// The simulator's notion of "now" (Unix ms). Injected so tests can move time for the timestamp
// window, link_token expiry and redelivery without sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace alipaymsg::sim {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;
  // Unix µs, for latency records; a clock without finer time says NowMs() * 1000.
  virtual int64_t NowUs() const { return NowMs() * 1000; }
};

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
};

// Time that only moves when told to. Thread-safe: tests advance it while the server thread reads it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms) : now_(start_ms) {}
  int64_t NowMs() const override { return now_.load(); }
  void Set(int64_t ms) { now_.store(ms); }
  void Advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace alipaymsg::sim
