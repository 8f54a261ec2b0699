#include "client/backoff.h"

#include <algorithm>
#include <utility>

#include "base/backoff.h"

namespace alipaymsg::client {

Backoff::Backoff(BackoffOptions options, Random random)
    : options_(options), random_(std::move(random)) {
  if (options_.min_delay.count() < 1) options_.min_delay = std::chrono::milliseconds(1);
  if (options_.initial < options_.min_delay) options_.initial = options_.min_delay;
  if (options_.cap < options_.initial) options_.cap = options_.initial;
}

std::chrono::milliseconds Backoff::Ceiling(int attempt) const {
  return std::max(CappedExponential(options_.initial, 2.0, options_.cap, attempt), options_.min_delay);
}

std::chrono::milliseconds Backoff::Next() {
  const int attempt = attempt_;
  if (attempt_ < 1000) ++attempt_;  // no overflow; the ceiling is capped long before
  if (attempt == 0) return std::chrono::milliseconds(0);
  const int64_t low = options_.min_delay.count();
  const int64_t high = Ceiling(attempt).count();
  const uint64_t span = static_cast<uint64_t>(high - low) + 1;
  // Multiply-shift scales the whole 64-bit range onto [0, span): the largest random value gives
  // the ceiling and the smallest the floor (a modulo would fold the range and miss both ends).
  const auto scaled = static_cast<uint64_t>((static_cast<unsigned __int128>(random_()) * span) >> 64);
  return std::chrono::milliseconds(low + static_cast<int64_t>(scaled));
}

void Backoff::SessionEnded(std::chrono::milliseconds open_for) {
  if (open_for >= options_.stable_after) attempt_ = 0;
}

}  // namespace alipaymsg::client
