#include "sim/schedule.h"

#include <charconv>
#include <cmath>

namespace alipaymsg::sim {

namespace {
constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
}  // namespace

RedeliverySchedule::RedeliverySchedule()
    : delays_ms_{0, 2 * kMinute, 10 * kMinute, 10 * kMinute, kHour, 2 * kHour, 6 * kHour, 15 * kHour} {}

RedeliverySchedule::RedeliverySchedule(std::vector<int64_t> delays_ms) : delays_ms_(std::move(delays_ms)) {}

Result<RedeliverySchedule> RedeliverySchedule::Parse(std::string_view text) {
  std::vector<int64_t> delays;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) return InvalidArgument("redelivery schedule '" + std::string(text) + "': empty entry");
    double value = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (ec != std::errc() || value < 0) {
      return InvalidArgument("redelivery schedule: '" + std::string(item) + "' is not a non-negative duration");
    }
    std::string_view unit(end, item.data() + item.size() - end);
    double factor = 1;
    if (unit.empty() || unit == "ms") factor = 1;
    else if (unit == "s") factor = 1000;
    else if (unit == "m") factor = kMinute;
    else if (unit == "h") factor = kHour;
    else return InvalidArgument("redelivery schedule: unit '" + std::string(unit) + "' in '" + std::string(item) + "' (use ms, s, m or h)");
    delays.push_back(static_cast<int64_t>(std::llround(value * factor)));
    pos = comma + 1;
  }
  if (delays.empty()) return InvalidArgument("redelivery schedule is empty");
  return RedeliverySchedule(std::move(delays));
}

RedeliverySchedule RedeliverySchedule::Scaled(double factor) const {
  std::vector<int64_t> scaled;
  scaled.reserve(delays_ms_.size());
  for (int64_t d : delays_ms_) scaled.push_back(std::max<int64_t>(0, std::llround(static_cast<double>(d) * factor)));
  return RedeliverySchedule(std::move(scaled));
}

int64_t RedeliverySchedule::WaitAfterDelivery(int delivered) const {
  if (delays_ms_.empty()) return 0;
  if (delivered < 1) return delays_ms_.front();
  if (delivered < max_deliveries()) return delays_ms_[delivered];
  return delays_ms_.back();
}

std::string RedeliverySchedule::ToString() const {
  std::string out;
  for (int64_t d : delays_ms_) {
    if (!out.empty()) out += ',';
    out += std::to_string(d) + "ms";
  }
  return out;
}

}  // namespace alipaymsg::sim
