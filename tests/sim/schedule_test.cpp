#include "sim/schedule.h"

#include <gtest/gtest.h>

namespace alipaymsg::sim {
namespace {

TEST(RedeliverySchedule, DefaultIsAlipays) {
  RedeliverySchedule s;
  EXPECT_EQ(s.max_deliveries(), 8);
  EXPECT_EQ(s.delays_ms(), (std::vector<int64_t>{0, 120000, 600000, 600000, 3600000, 7200000, 21600000, 54000000}));
  EXPECT_EQ(s.WaitAfterDelivery(1), 120000);
  EXPECT_EQ(s.WaitAfterDelivery(7), 54000000);
  EXPECT_EQ(s.WaitAfterDelivery(8), 54000000);  // after the last: wait the last delay, then give up
}

TEST(RedeliverySchedule, ParsesUnitsAndScales) {
  auto s = RedeliverySchedule::Parse("0, 2m,10s,1h,250ms,5");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->delays_ms(), (std::vector<int64_t>{0, 120000, 10000, 3600000, 250, 5}));
  RedeliverySchedule scaled = RedeliverySchedule().Scaled(0.001);
  EXPECT_EQ(scaled.delays_ms(), (std::vector<int64_t>{0, 120, 600, 600, 3600, 7200, 21600, 54000}));
}

TEST(RedeliverySchedule, RejectsBadText) {
  EXPECT_FALSE(RedeliverySchedule::Parse("").ok());
  EXPECT_FALSE(RedeliverySchedule::Parse("1,,2").ok());
  EXPECT_FALSE(RedeliverySchedule::Parse("2d").ok());
  EXPECT_FALSE(RedeliverySchedule::Parse("-1").ok());
  auto bad = RedeliverySchedule::Parse("0,2x");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("2x"), std::string::npos);
}

}  // namespace
}  // namespace alipaymsg::sim
