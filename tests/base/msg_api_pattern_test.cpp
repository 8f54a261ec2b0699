#include "base/msg_api_pattern.h"

#include <gtest/gtest.h>

namespace alipaymsg {
namespace {

TEST(MsgApiPattern, Matches) {
  EXPECT_TRUE(MsgApiPatternMatches("*", "anything"));
  EXPECT_TRUE(MsgApiPatternMatches("alipay.open.mini.*", "alipay.open.mini.version.audit.passed"));
  EXPECT_FALSE(MsgApiPatternMatches("alipay.open.mini.*", "alipay.open.minix.a"));
  EXPECT_FALSE(MsgApiPatternMatches("alipay.open.mini.*", "alipay.open.mini"));
  EXPECT_FALSE(MsgApiPatternMatches("alipay.open.mini.*", "alipay.open.auth.appauth.cancelled"));
  EXPECT_TRUE(MsgApiPatternMatches("alipay.trade.refund.depositback.completed",
                                   "alipay.trade.refund.depositback.completed"));
  EXPECT_FALSE(MsgApiPatternMatches("alipay.trade.refund", "alipay.trade.refund.depositback.completed"));
}

TEST(MsgApiPattern, OnlyAloneOrAfterAFinalDot) {
  for (const char* ok : {"*", "alipay.*", "alipay.open.mini.*", "alipay.open.mini.version.audit.passed"}) {
    EXPECT_TRUE(CheckMsgApiPattern(ok).ok()) << ok;
  }
  EXPECT_EQ(CheckMsgApiPattern("").message(), "an empty pattern matches nothing (use \"*\" for every message)");
  for (const char* bad : {"alipay.*.passed", "alipay.open*", ".*", "**", "*.passed"}) {
    Status s = CheckMsgApiPattern(bad);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("a wildcard may only end the pattern, after a dot"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(std::string("\"") + bad + "\""), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace alipaymsg
