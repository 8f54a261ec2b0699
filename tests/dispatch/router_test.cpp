#include "alipaymsg/router.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace alipaymsg {
namespace {

Handler Named(std::string name, std::string* called) {
  return [name, called](MessageView&) {
    *called = name;
    return HandlerOutcome::Done();
  };
}

TEST(RouterTest, MostSpecificPatternWins) {
  std::string called;
  Router router;
  ASSERT_TRUE(router.On("*", Named("default", &called)).ok());
  ASSERT_TRUE(router.On("alipay.open.*", Named("open", &called)).ok());
  ASSERT_TRUE(router.On("alipay.open.mini.*", Named("mini", &called)).ok());
  ASSERT_TRUE(router.On("alipay.open.mini.version.audit.passed", Named("exact", &called)).ok());

  struct Case {
    const char* msg_api;
    const char* handler;
    const char* pattern;
  } cases[] = {
      {"alipay.open.mini.version.audit.passed", "exact", "alipay.open.mini.version.audit.passed"},
      {"alipay.open.mini.version.audit.rejected", "mini", "alipay.open.mini.*"},
      {"alipay.open.mini.merchant.confirmed", "mini", "alipay.open.mini.*"},
      {"alipay.open.app.api.field.changed", "open", "alipay.open.*"},
      {"alipay.open.mini", "open", "alipay.open.*"},           // not under "alipay.open.mini."
      {"alipay.open.minix.thing", "open", "alipay.open.*"},    // prefixes end at a dot
      {"alipay.trade.refund.depositback.completed", "default", "*"},
      {"alipay.open", "default", "*"},
      {"", "default", "*"},
  };
  for (const Case& c : cases) {
    const Handler* handler = router.Find(c.msg_api);
    ASSERT_NE(handler, nullptr) << c.msg_api;
    StoredMessage stored;
    MessageView view(stored);
    (*handler)(view);
    EXPECT_EQ(called, c.handler) << c.msg_api;
    EXPECT_EQ(router.MatchingPattern(c.msg_api), std::optional<std::string>(c.pattern)) << c.msg_api;
  }
}

TEST(RouterTest, NoDefaultMeansNoHandler) {
  std::string called;
  Router router;
  EXPECT_TRUE(router.empty());
  ASSERT_TRUE(router.On("alipay.open.mini.*", Named("mini", &called)).ok());
  EXPECT_FALSE(router.empty());
  EXPECT_EQ(router.Find("alipay.trade.refund.depositback.completed"), nullptr);
  EXPECT_EQ(router.MatchingPattern("alipay.trade.refund.depositback.completed"), std::nullopt);
  EXPECT_NE(router.Find("alipay.open.mini.a"), nullptr);
}

TEST(RouterTest, RefusesMalformedAndDuplicatePatterns) {
  std::string called;
  Router router;
  for (const char* bad : {"", "alipay.open.mini*", "alipay.*.passed", "*.passed", ".*", "a.**"}) {
    Status s = router.On(bad, Named("x", &called));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    if (std::string(bad).find('*') != std::string::npos) {
      EXPECT_NE(s.message().find(bad), std::string::npos) << s.ToString();
    }
  }
  ASSERT_TRUE(router.On("alipay.open.mini.*", Named("x", &called)).ok());
  Status again = router.On("alipay.open.mini.*", Named("y", &called));
  EXPECT_EQ(again.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(again.message().find("already registered"), std::string::npos);
  ASSERT_TRUE(router.SetDefault(Named("d", &called)).ok());
  EXPECT_FALSE(router.On("*", Named("d2", &called)).ok());
  EXPECT_FALSE(router.On("alipay.x", Handler()).ok()) << "an empty handler is refused";
}

TEST(MessageViewTest, ExposesTheMessageAndParsesJsonOnDemand) {
  StoredMessage stored;
  stored.message.app_id = "2021000000000001";
  stored.message.msg_id = "m1";
  stored.message.msg_api = "alipay.open.mini.version.audit.passed";
  stored.message.biz_content = R"({"mini_app_id":"2021004100000000","version":"0.0.3"})";
  stored.message.channel = "websocket";
  stored.message.received_at_ms = 1700000000123;
  stored.delivery_count = 3;
  stored.attempts = 2;
  stored.last_error = "timeout";
  MessageView view(stored);
  EXPECT_EQ(view.app_id(), "2021000000000001");
  EXPECT_EQ(view.msg_id(), "m1");
  EXPECT_EQ(view.msg_api(), "alipay.open.mini.version.audit.passed");
  EXPECT_EQ(view.biz_content(), stored.message.biz_content);
  EXPECT_EQ(view.channel(), "websocket");
  EXPECT_EQ(view.received_at_ms(), 1700000000123);
  EXPECT_EQ(view.delivery_count(), 3);
  EXPECT_EQ(view.attempt(), 2);
  EXPECT_EQ(view.last_error(), "timeout");

  auto json = view.Json();
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ((*json)->at("version").as_string(), "0.0.3");
  auto again = view.Json();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *json) << "parsed once, then cached";

  EXPECT_EQ(view.effect_count(), 0u);
  view.InTransaction([](InboxTransaction&) { return Status::Ok(); });
  EXPECT_EQ(view.effect_count(), 1u);
}

TEST(MessageViewTest, BizContentThatIsNotJsonIsAParseErrorNamingTheMessage) {
  StoredMessage stored;
  stored.message.msg_id = "m-bad";
  stored.message.msg_api = "alipay.open.auth.appauth.cancelled";
  stored.message.biz_content = "{\"truncated\":";
  MessageView view(stored);
  auto json = view.Json();
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.status().code(), StatusCode::kParseError);
  EXPECT_NE(json.status().message().find("m-bad"), std::string::npos) << json.status().ToString();
}

}  // namespace
}  // namespace alipaymsg
