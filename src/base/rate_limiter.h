// A token bucket for log lines and other events that an attacker can make arbitrarily frequent:
// at most `burst` at once and `per_second` on average. It counts what it holds back, so the next
// admitted event can say "N more suppressed". Thread-safe; time comes from an injected clock.
#pragma once

#include <cstdint>
#include <mutex>

#include "alipaymsg/clock.h"

namespace alipaymsg {

class RateLimiter {
 public:
  // `clock`: null for SystemClock::Instance(); it must outlive the limiter. A wall clock suits: a
  // step back mints no token (and refilling resumes from there), a jump forward refills at most
  // `burst`.
  RateLimiter(double per_second, int burst, const Clock* clock = nullptr);

  // true: go ahead. `suppressed` (when given) gets how many were held back since the last event
  // admitted (0 on refusal), which the caller reports with this one.
  bool Admit(int64_t* suppressed = nullptr);
  // Held back since the last admitted event (e.g. for a summary when the stream stops).
  int64_t suppressed() const;

 private:
  const double per_ms_;
  const double burst_;
  const Clock& clock_;
  mutable std::mutex mu_;
  double tokens_;
  int64_t last_ms_;
  int64_t suppressed_ = 0;
};

}  // namespace alipaymsg
