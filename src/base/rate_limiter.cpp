#include "base/rate_limiter.h"

#include <algorithm>

namespace alipaymsg {

RateLimiter::RateLimiter(double per_second, int burst, const Clock* clock)
    : per_ms_(std::max(per_second, 0.0) / 1000.0),
      burst_(std::max(burst, 1)),
      clock_(clock != nullptr ? *clock : SystemClock::Instance()),
      tokens_(burst_),
      last_ms_(clock_.NowMs()) {}

bool RateLimiter::Admit(int64_t* suppressed) {
  const int64_t now = clock_.NowMs();
  std::lock_guard lock(mu_);
  if (now > last_ms_) {
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now - last_ms_) * per_ms_);
  }
  // Time going back mints nothing, and refilling goes on from the new time: a wall clock stepped
  // back an hour does not silence these lines for an hour.
  last_ms_ = now;
  if (tokens_ < 1.0) {
    ++suppressed_;
    if (suppressed) *suppressed = 0;
    return false;
  }
  tokens_ -= 1.0;
  if (suppressed) *suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

int64_t RateLimiter::suppressed() const {
  std::lock_guard lock(mu_);
  return suppressed_;
}

}  // namespace alipaymsg
