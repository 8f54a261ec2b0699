// Ack latency as the simulator sees it (CONSUME queued for sending → its CONSUME_ACK read), in
// microseconds: a log-linear histogram (64 sub-buckets per power of two, so every percentile is
// within 1.6 % of the true value) with constant memory and O(1) recording.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace alipaymsg::sim {

class LatencyHistogram {
 public:
  void Record(int64_t micros) {
    const uint64_t v = micros < 0 ? 0 : static_cast<uint64_t>(micros);
    ++counts_[Bucket(v)];
    ++count_;
    sum_ += v;
    max_ = std::max(max_, v);
  }
  void Reset() { *this = LatencyHistogram(); }

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_); }
  // The smallest recorded-bucket upper bound at or below which a fraction `q` of the samples lie
  // (0 when empty; never above max()).
  uint64_t Percentile(double q) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(std::max<double>(1.0, q * static_cast<double>(count_) + 0.5));
    uint64_t seen = 0;
    for (size_t b = 0; b < counts_.size(); ++b) {
      seen += counts_[b];
      if (seen >= rank) return std::min(UpperBound(b), max_);
    }
    return max_;
  }

 private:
  static constexpr int kSubBits = 6;  // 64 sub-buckets
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  static constexpr size_t kBuckets = (64 - kSubBits + 1) * kSub;

  static size_t Bucket(uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    const int shift = std::bit_width(v) - 1 - kSubBits;  // >= 0
    return static_cast<size_t>((shift + 1) * kSub + ((v >> shift) - kSub));
  }
  static uint64_t UpperBound(size_t b) {
    if (b < kSub) return b;
    const int shift = static_cast<int>(b / kSub) - 1;
    const uint64_t mantissa = kSub + b % kSub;
    return ((mantissa + 1) << shift) - 1;
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

}  // namespace alipaymsg::sim
