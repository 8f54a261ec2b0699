// When a message that was not acked SUCCESS is delivered again (PROTOCOL.md has no word on this;
// Alipay documents it for its message service, NOTIFY.md §A): immediately, then after 2m, 10m, 10m,
// 1h, 2h, 6h, 15h; 8 deliveries in all, then give up.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "alipaymsg/status.h"

namespace alipaymsg::sim {

class RedeliverySchedule {
 public:
  // Alipay's schedule.
  RedeliverySchedule();
  // delays_ms[0] is the delay before the first delivery (normally 0); one entry per delivery.
  explicit RedeliverySchedule(std::vector<int64_t> delays_ms);

  // "0,2m,10m,10m,1h,2h,6h,15h": numbers with an optional unit ms (default), s, m, h.
  static Result<RedeliverySchedule> Parse(std::string_view text);
  // Every delay multiplied by `factor` (e.g. 0.001 turns 2m into 120 ms), rounded, at least 0.
  RedeliverySchedule Scaled(double factor) const;

  // Deliveries before giving up.
  int max_deliveries() const { return static_cast<int>(delays_ms_.size()); }
  // How long after delivery number `delivered` (1-based) the server waits for SUCCESS before
  // delivering again; after the last delivery, how long before giving up (the last delay again).
  int64_t WaitAfterDelivery(int delivered) const;
  const std::vector<int64_t>& delays_ms() const { return delays_ms_; }
  std::string ToString() const;

 private:
  std::vector<int64_t> delays_ms_;
};

}  // namespace alipaymsg::sim
