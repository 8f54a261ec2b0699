// Reconnect pacing: capped exponential backoff with full jitter (see BackoffOptions in client.h).
// Pure logic; randomness is injected so tests can pin it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "alipaymsg/client.h"

namespace alipaymsg::client {

class Backoff {
 public:
  using Random = std::function<uint64_t()>;
  Backoff(BackoffOptions options, Random random);

  // The wait before the next attempt, and counts the attempt. Attempt 0 (the first retry after a
  // stable session, or the first ever) is immediate.
  std::chrono::milliseconds Next();
  // Called when a session opened and ended; resets only when it lasted `stable_after`.
  void SessionEnded(std::chrono::milliseconds open_for);
  void Reset() { attempt_ = 0; }
  int attempt() const { return attempt_; }
  // The upper bound of the wait for attempt n (n >= 1): min(cap, initial * 2^(n-1)), >= min_delay.
  std::chrono::milliseconds Ceiling(int attempt) const;

 private:
  BackoffOptions options_;
  Random random_;
  int attempt_ = 0;
};

}  // namespace alipaymsg::client
