#include "base/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>

namespace alipaymsg {
namespace {

TEST(RateLimiterTest, BurstThenRateAndCountsWhatItHeldBack) {
  std::atomic<int64_t> now{1000};
  RateLimiter limiter(/*per_second=*/2, /*burst=*/3, [&] { return now.load(); });
  int64_t suppressed = -1;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Admit(&suppressed)) << i;
    EXPECT_EQ(suppressed, 0);
  }
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(limiter.Admit(&suppressed));
  EXPECT_EQ(limiter.suppressed(), 100);
  now += 499;  // not quite one token at 2 per second
  EXPECT_FALSE(limiter.Admit());
  now += 1;
  EXPECT_TRUE(limiter.Admit(&suppressed));
  EXPECT_EQ(suppressed, 101);  // reported once, with the next line let through
  EXPECT_EQ(limiter.suppressed(), 0);
  EXPECT_FALSE(limiter.Admit(&suppressed));
  // A long pause refills only up to the burst.
  now += 60000;
  int admitted = 0;
  while (limiter.Admit()) ++admitted;
  EXPECT_EQ(admitted, 3);
}

TEST(RateLimiterTest, ClockGoingBackDoesNotMintTokens) {
  std::atomic<int64_t> now{5000};
  RateLimiter limiter(1, 1, [&] { return now.load(); });
  EXPECT_TRUE(limiter.Admit());
  now = 0;
  EXPECT_FALSE(limiter.Admit());
  now = 5999;
  EXPECT_FALSE(limiter.Admit());
  now = 7000;
  EXPECT_TRUE(limiter.Admit());
}

}  // namespace
}  // namespace alipaymsg
