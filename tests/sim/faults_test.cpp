#include "sim/faults.h"

#include <gtest/gtest.h>

#include <limits>

namespace alipaymsg::sim {
namespace {

TEST(Faults, ParsesEveryKind) {
  for (const char* kind : {"drop_connections", "stop_pong", "resume_pong", "malformed_frame", "bad_signature", "duplicate",
                           "register_error", "clear"}) {
    auto r = ParseFaultRequest(std::string("{\"kind\":\"") + kind + "\"}");
    ASSERT_TRUE(r.ok()) << kind << ": " << r.status().ToString();
    EXPECT_EQ(ToString(r->kind), kind);
  }
  auto slow = ParseFaultRequest(R"({"kind":"slow_ack_window","ms":500})");
  ASSERT_TRUE(slow.ok());
  EXPECT_EQ(slow->ms, 500);
}

TEST(Faults, ErrorsNameTheProblem) {
  auto unknown = ParseFaultRequest(R"({"kind":"explode"})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("explode"), std::string::npos);
  EXPECT_FALSE(ParseFaultRequest("not json").ok());
  EXPECT_FALSE(ParseFaultRequest(R"({"kind":"slow_ack_window"})").ok());  // needs ms
  EXPECT_FALSE(ParseFaultRequest(R"({"kind":"duplicate","count":"2"})").ok());
  EXPECT_FALSE(ParseFaultRequest(R"({"kind":"duplicate","count":0})").ok());
  EXPECT_FALSE(ParseFaultRequest(R"({"kind":"register_error","code":"10000"})").ok());
  EXPECT_FALSE(ParseFaultRequest(R"({"kind":"malformed_frame","variant":"nope"})").ok());
}

// Found by fuzz_sim_admin: "ms" near INT64_MAX overflowed now + ms (UBSan), and a count above
// INT_MAX was truncated to an int (2^32 became 0) or overflowed when counts added up.
TEST(Faults, CountAndMsAreBounded) {
  auto huge_ms = ParseFaultRequest(R"({"kind":"slow_ack_window","ms":9223372036854775807})");
  ASSERT_FALSE(huge_ms.ok());
  EXPECT_NE(huge_ms.status().message().find("'ms' must be at most"), std::string::npos) << huge_ms.status().ToString();
  EXPECT_FALSE(ParseFaultRequest(R"({"kind":"slow_ack_window","ms":18446744073709551615})").ok());
  EXPECT_TRUE(ParseFaultRequest(R"({"kind":"slow_ack_window","ms":31536000000})").ok());  // a year
  auto wrapped = ParseFaultRequest(R"({"kind":"duplicate","count":4294967296})");
  ASSERT_FALSE(wrapped.ok());
  EXPECT_NE(wrapped.status().message().find("'count' must be at most"), std::string::npos);

  FaultState f;
  for (int i = 0; i < 3; ++i) f.Apply(*ParseFaultRequest(R"({"kind":"bad_signature","count":1000000000})"), 0);
  f.Apply(*ParseFaultRequest(R"({"kind":"slow_ack_window","ms":31536000000})"),
          std::numeric_limits<int64_t>::max() - 31536000000);
  EXPECT_NE(f.ToJson().find("\"bad_signature_remaining\":2147483647"), std::string::npos) << f.ToJson();
}

TEST(Faults, CountedFaultsAreConsumed) {
  FaultState f;
  f.Apply(*ParseFaultRequest(R"({"kind":"bad_signature","count":2,"app_id":"A"})"), 0);
  EXPECT_FALSE(f.TakeBadSignature("B"));
  EXPECT_TRUE(f.TakeBadSignature("A"));
  EXPECT_TRUE(f.TakeBadSignature("A"));
  EXPECT_FALSE(f.TakeBadSignature("A"));
  f.Apply(*ParseFaultRequest(R"({"kind":"duplicate"})"), 0);
  EXPECT_TRUE(f.TakeDuplicate("any"));
  EXPECT_FALSE(f.TakeDuplicate("any"));
  f.Apply(*ParseFaultRequest(R"({"kind":"register_error","count":2,"code":"40004","sub_code":"isv.x","sub_msg":"m"})"), 0);
  FaultRequest out;
  EXPECT_TRUE(f.TakeRegisterError(&out));
  EXPECT_EQ(out.code, "40004");
  EXPECT_EQ(out.sub_code, "isv.x");
  EXPECT_TRUE(f.TakeRegisterError(&out));
  EXPECT_FALSE(f.TakeRegisterError(&out));
}

TEST(Faults, PongAndAckWindowAndClear) {
  FaultState f;
  f.Apply(*ParseFaultRequest(R"({"kind":"stop_pong"})"), 0);
  EXPECT_TRUE(f.pong_stopped());
  f.Apply(*ParseFaultRequest(R"({"kind":"resume_pong"})"), 0);
  EXPECT_FALSE(f.pong_stopped());
  f.Apply(*ParseFaultRequest(R"({"kind":"slow_ack_window","ms":100})"), 1000);
  EXPECT_TRUE(f.AckWindowSlow(1099));
  EXPECT_FALSE(f.AckWindowSlow(1100));
  f.Apply(*ParseFaultRequest(R"({"kind":"stop_pong"})"), 0);
  f.Apply(*ParseFaultRequest(R"({"kind":"clear"})"), 0);
  EXPECT_FALSE(f.pong_stopped());
  EXPECT_FALSE(f.AckWindowSlow(1000));
}

TEST(Faults, MalformedFramesBreakTheProtocol) {
  EXPECT_EQ(MalformedFrameText("no_separator")->find("\r\n\r\n"), std::string::npos);
  EXPECT_NE(MalformedFrameText("numeric_timestamp")->find("\"x-timestamp\":1"), std::string::npos);
  EXPECT_NE(MalformedFrameText("")->find("\r\n\r\n"), std::string::npos);
}

}  // namespace
}  // namespace alipaymsg::sim
