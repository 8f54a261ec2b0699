#include "base/backoff.h"

#include <gtest/gtest.h>

#include <limits>

namespace alipaymsg {
namespace {

using std::chrono::milliseconds;

TEST(CappedExponentialTest, GrowsByTheMultiplierUpToTheCap) {
  EXPECT_EQ(CappedExponential(milliseconds(100), 2.0, milliseconds(5000), 0), milliseconds(100));
  EXPECT_EQ(CappedExponential(milliseconds(100), 2.0, milliseconds(5000), 1), milliseconds(100));
  EXPECT_EQ(CappedExponential(milliseconds(100), 2.0, milliseconds(5000), 2), milliseconds(200));
  EXPECT_EQ(CappedExponential(milliseconds(100), 2.0, milliseconds(5000), 6), milliseconds(3200));
  EXPECT_EQ(CappedExponential(milliseconds(100), 2.0, milliseconds(5000), 7), milliseconds(5000));
  EXPECT_EQ(CappedExponential(milliseconds(50), 1.5, milliseconds(2000), 3), milliseconds(112));
}

TEST(CappedExponentialTest, HugeAttemptsAndOddInputsGiveTheCap) {
  EXPECT_EQ(CappedExponential(milliseconds(1000), 2.0, milliseconds(30000), std::numeric_limits<int>::max()),
            milliseconds(30000));
  EXPECT_EQ(CappedExponential(milliseconds(1000), std::numeric_limits<double>::infinity(), milliseconds(30000), 3),
            milliseconds(30000));
  EXPECT_EQ(CappedExponential(milliseconds(9000), 2.0, milliseconds(5000), 1), milliseconds(5000));
  EXPECT_EQ(CappedExponential(milliseconds(100), 1.0, milliseconds(5000), 1000), milliseconds(100));
}

}  // namespace
}  // namespace alipaymsg
