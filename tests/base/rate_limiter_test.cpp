#include "base/rate_limiter.h"

#include <gtest/gtest.h>

namespace alipaymsg {
namespace {

TEST(RateLimiterTest, BurstThenRateAndCountsWhatItHeldBack) {
  ManualClock clock(1000);
  RateLimiter limiter(/*per_second=*/2, /*burst=*/3, &clock);
  int64_t suppressed = -1;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Admit(&suppressed)) << i;
    EXPECT_EQ(suppressed, 0);
  }
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(limiter.Admit(&suppressed));
  EXPECT_EQ(limiter.suppressed(), 100);
  clock.Advance(499);  // not quite one token at 2 per second
  EXPECT_FALSE(limiter.Admit());
  clock.Advance(1);
  EXPECT_TRUE(limiter.Admit(&suppressed));
  EXPECT_EQ(suppressed, 101);  // reported once, with the next line let through
  EXPECT_EQ(limiter.suppressed(), 0);
  EXPECT_FALSE(limiter.Admit(&suppressed));
  // A long pause refills only up to the burst.
  clock.Advance(60000);
  int admitted = 0;
  while (limiter.Admit()) ++admitted;
  EXPECT_EQ(admitted, 3);
}

TEST(RateLimiterTest, ClockGoingBackMintsNothingAndRefillingGoesOnFromThere) {
  ManualClock clock(3'600'000);
  RateLimiter limiter(1, 1, &clock);
  EXPECT_TRUE(limiter.Admit());
  clock.Set(0);  // stepped back an hour
  EXPECT_FALSE(limiter.Admit()) << "a step back mints no token";
  clock.Set(999);
  EXPECT_FALSE(limiter.Admit());
  clock.Set(1000);  // one second after the step, not an hour
  EXPECT_TRUE(limiter.Admit());
  EXPECT_FALSE(limiter.Admit());
}

}  // namespace
}  // namespace alipaymsg
