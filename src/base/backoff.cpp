#include "base/backoff.h"

#include <algorithm>
#include <cmath>

namespace alipaymsg {

std::chrono::milliseconds CappedExponential(std::chrono::milliseconds initial, double multiplier,
                                            std::chrono::milliseconds cap, int attempt) {
  const double grown = static_cast<double>(initial.count()) * std::pow(multiplier, std::max(0, attempt - 1));
  const double cap_ms = static_cast<double>(cap.count());
  // pow overflows to infinity (or NaN for odd inputs) long before int64 would: both mean "the cap".
  if (!std::isfinite(grown) || grown >= cap_ms) return cap;
  return std::chrono::milliseconds(static_cast<int64_t>(grown));
}

}  // namespace alipaymsg
