#include "client/backoff.h"

#include <gtest/gtest.h>

#include <random>

namespace alipaymsg::client {
namespace {

using std::chrono::milliseconds;

BackoffOptions Options() {
  BackoffOptions o;
  o.initial = milliseconds(1000);
  o.cap = milliseconds(30000);
  o.min_delay = milliseconds(200);
  o.stable_after = milliseconds(10000);
  return o;
}

TEST(BackoffTest, FirstRetryIsImmediateThenJitteredWithinGrowingCeilings) {
  std::mt19937_64 engine(7);
  Backoff backoff(Options(), [&] { return engine(); });
  EXPECT_EQ(backoff.Next(), milliseconds(0));
  const int64_t ceilings[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
  for (int64_t ceiling : ceilings) {
    const auto delay = backoff.Next();
    EXPECT_GE(delay, milliseconds(200));
    EXPECT_LE(delay, milliseconds(ceiling));
  }
}

TEST(BackoffTest, CeilingIsCappedAndNeverBelowMinimum) {
  Backoff backoff(Options(), [] { return uint64_t{0}; });
  EXPECT_EQ(backoff.Ceiling(1), milliseconds(1000));
  EXPECT_EQ(backoff.Ceiling(2), milliseconds(2000));
  EXPECT_EQ(backoff.Ceiling(6), milliseconds(30000));
  EXPECT_EQ(backoff.Ceiling(500), milliseconds(30000));
}

TEST(BackoffTest, NeverATightLoopEvenWithTheSmallestRandomValues) {
  Backoff backoff(Options(), [] { return uint64_t{0}; });
  EXPECT_EQ(backoff.Next(), milliseconds(0));
  for (int i = 0; i < 2000; ++i) EXPECT_GE(backoff.Next(), milliseconds(200));
}

TEST(BackoffTest, LargestRandomValuesReachTheCeiling) {
  Backoff backoff(Options(), [] { return ~uint64_t{0}; });
  backoff.Next();
  for (int attempt = 1; attempt <= 10; ++attempt) {
    EXPECT_EQ(backoff.Next(), backoff.Ceiling(attempt)) << "attempt " << attempt;
  }
  EXPECT_EQ(backoff.Ceiling(10), milliseconds(30000));
}

TEST(BackoffTest, SmallestRandomValuesGiveTheFloor) {
  Backoff backoff(Options(), [] { return uint64_t{0}; });
  backoff.Next();
  for (int attempt = 1; attempt <= 10; ++attempt) {
    EXPECT_EQ(backoff.Next(), Options().min_delay) << "attempt " << attempt;
  }
}

TEST(BackoffTest, JitterSpreadsDelays) {
  std::mt19937_64 engine(11);
  std::set<int64_t> seen;
  for (int run = 0; run < 50; ++run) {
    Backoff backoff(Options(), [&] { return engine(); });
    backoff.Next();
    backoff.Next();
    seen.insert(backoff.Next().count());  // attempt 2: uniform in [200, 2000]
  }
  EXPECT_GT(seen.size(), 40u);
}

TEST(BackoffTest, ResetsOnlyAfterAStableSession) {
  Backoff backoff(Options(), [] { return uint64_t{5}; });
  backoff.Next();
  backoff.Next();
  backoff.Next();
  EXPECT_EQ(backoff.attempt(), 3);
  backoff.SessionEnded(milliseconds(500));  // accepted then dropped at once: keep escalating
  EXPECT_EQ(backoff.attempt(), 3);
  EXPECT_GT(backoff.Next(), milliseconds(0));
  backoff.SessionEnded(milliseconds(10000));
  EXPECT_EQ(backoff.attempt(), 0);
  EXPECT_EQ(backoff.Next(), milliseconds(0));
}

TEST(BackoffTest, InconsistentOptionsAreRepaired) {
  BackoffOptions o;
  o.initial = milliseconds(0);
  o.cap = milliseconds(0);
  o.min_delay = milliseconds(0);
  Backoff backoff(o, [] { return uint64_t{0}; });
  backoff.Next();
  EXPECT_GE(backoff.Next(), milliseconds(1));
}

}  // namespace
}  // namespace alipaymsg::client
