// Memory back to the system when traffic stops. glibc keeps what a thread frees in that thread's
// arena for its next allocation, so after a burst the daemon holds memory it no longer uses: ~1 MB
// after 200 messages, ~15 MB after 100,000 (dispatch workers, verify threads, the io and writer
// threads each have an arena; BENCHMARKS.md, "Memory after a burst"). An idle daemon should not look like a busy one: once the work stops, it is handed
// back, once per burst.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

namespace alipaymsg::daemon {

class IdleTrim {
 public:
  // `trim` returns the freed memory (ReleaseFreedMemory in the daemon; a counter in tests).
  explicit IdleTrim(std::function<void()> trim) : trim_(std::move(trim)) {}

  // Called at a steady interval with a count that grows with the work done (Daemon::ActivityCount).
  // Trims at the first call that finds the count where the previous call left it, after it had
  // moved: one interval of quiet after a burst. Start-up counts as a burst. Returns whether it
  // trimmed.
  bool Tick(uint64_t activity);

 private:
  std::function<void()> trim_;
  std::optional<uint64_t> last_;
  bool worked_since_trim_ = true;
};

// malloc_trim(0) where the C library is glibc: the free memory of every arena, not only the top of
// the main heap, goes back to the system (madvise). Does nothing elsewhere.
void ReleaseFreedMemory();

// malloc_trim never shrinks a thread arena's top chunk: glibc does that only in free(), once the top
// passes M_TRIM_THRESHOLD, and raises that threshold to twice the largest mmapped block freed so far
// (a 1 MB buffer makes it 2 MB per arena; alipay-msgd has up to 14 arenas). Fixing it at 128 KiB,
// glibc's starting value, keeps it there; the mmap threshold stays at its 128 KiB start too. Once, at
// start-up, before the threads; does nothing elsewhere than glibc. Measured in BENCHMARKS.md: no
// change in throughput; after a 100,000-message burst a median 22.8 MB held instead of 24.4.
void KeepArenaTopsSmall();

}  // namespace alipaymsg::daemon
