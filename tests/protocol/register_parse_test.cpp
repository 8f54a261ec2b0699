#include <gtest/gtest.h>

#include "protocol/register.h"

namespace alipaymsg {
namespace {

const char kKeyMode[] =
    "{\"response\":{\"code\":\"10000\",\"msg\":\"Success\",\"link_token\":\"tok1\"},\"sign\":\"c2ln\"}";

TEST(ParseRegisterResponseTest, CanonicalKeyMode) {
  auto r = ParseRegisterResponse(kKeyMode);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->code, "10000");
  EXPECT_EQ(r->msg, "Success");
  EXPECT_EQ(r->link_token, "tok1");
  EXPECT_EQ(r->sign, "c2ln");
  EXPECT_EQ(r->signed_text, "{\"code\":\"10000\",\"msg\":\"Success\",\"link_token\":\"tok1\"}");
  EXPECT_FALSE(r->alipay_cert_sn.has_value());
  EXPECT_TRUE(r->success());
}

TEST(ParseRegisterResponseTest, CertModeSnIsTheLastMember) {
  auto r = ParseRegisterResponse(
      "{\"response\":{\"code\":\"10000\",\"link_token\":\"t\"},\"sign\":\"s\",\"alipay_cert_sn\":\"abc123\"}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->alipay_cert_sn.has_value());
  EXPECT_EQ(*r->alipay_cert_sn, "abc123");
  EXPECT_EQ(r->signed_text, "{\"code\":\"10000\",\"link_token\":\"t\"}");
}

TEST(ParseRegisterResponseTest, WhitespaceIsSignedAsSentButIgnoredForCode) {
  auto r = ParseRegisterResponse(
      "  {\"response\" : { \"code\" : \"100000000\",\n\t\"link_token\" : \"t t\" } , \"sign\" : \"s\" }");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->signed_text, "{ \"code\" : \"100000000\",\n\t\"link_token\" : \"t t\" }");
  EXPECT_EQ(r->code, "100000000");
  EXPECT_TRUE(r->success());
  EXPECT_EQ(r->link_token, "tt");  // the SDK strips spaces before reading it
}

TEST(ParseRegisterResponseTest, FailureWithoutSignKeepsDiagnostics) {
  auto r = ParseRegisterResponse(
      "{\"response\":{\"code\":\"40004\",\"msg\":\"Business Failed\",\"sub_code\":\"isv.invalid-app-id\","
      "\"sub_msg\":\"invalid app id here\"}}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->code, "40004");
  EXPECT_EQ(r->sub_code, "isv.invalid-app-id");
  EXPECT_EQ(r->sub_msg, "invalid app id here");  // spaces kept
  EXPECT_EQ(r->sign, "");
  EXPECT_FALSE(r->success());
}

TEST(ParseRegisterResponseTest, MalformedBodiesAreErrorsNotGarbage) {
  const char* bad[] = {
      "",
      "<html>502</html>",
      "{}",
      "{\"response\"}",
      "{\"response\":}",
      "{\"response\":{\"code\":\"10000\"},\"sign\":",
      "{\"response\":{\"code\":\"10000\"},\"sign\":\"abc",
      "{\"response\":{\"code\":10000},\"sign\":\"s\"}",
      "{\"response\":{\"msg\":\"x\"},\"sign\":\"s\"}",
      "{\"response\":{\"code\":\"10000\"}",
      "{\"sign\":\"s\",\"response\":{\"code\":\"10000\"}}",
      "{\"response\":{\"code\":\"10000\"},\"sign\":\"s\",\"alipay_cert_sn\":\"x\" }",
      "{\"response\":{\"code\":\"10000\"},\"sign\":\"s\",\"alipay_cert_sn\": \"x\"}",
      "{\"response\":{\"code\":\"10000\"},\"sign\":\"s\",\"x\":\"alipay_cert_sn\"}",
      "{\"response\":{\"code\":\"10000\"},\"sign\":\"s\",alipay_cert_sn}",
      "{\"response\":{\"code\":\"10000\"},\"sign\":\"s\",\"alipay_cert_sn\":\"}",
  };
  for (const char* body : bad) {
    auto r = ParseRegisterResponse(body);
    EXPECT_FALSE(r.ok()) << body;
    if (!r.ok()) {
      EXPECT_TRUE(r.status().code() == StatusCode::kProtocolError ||
                  r.status().code() == StatusCode::kParseError)
          << r.status().ToString();
      EXPECT_FALSE(r.status().message().empty());
    }
  }
}

TEST(ParseRegisterResponseTest, EveryTruncationIsSafe) {
  const std::string full =
      "{\"response\":{\"code\":\"10000\",\"link_token\":\"t\"},\"sign\":\"s\",\"alipay_cert_sn\":\"abc\"}";
  for (std::size_t n = 0; n <= full.size(); ++n) {
    auto r = ParseRegisterResponse(std::string_view(full).substr(0, n));
    if (r.ok()) {
      EXPECT_LE(r->signed_text.size(), n);
      EXPECT_FALSE(r->code.empty());
    }
  }
}

TEST(ParseZoneCookieTest, LikeTheSdk) {
  auto z = ParseZoneCookie("zone=GZ00B; Path=/");
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->value_or("-"), "GZ00B");
  EXPECT_EQ(ParseZoneCookie("Path=/;  zone=RZ1 ;HttpOnly")->value_or("-"), "RZ1");
  EXPECT_FALSE(ParseZoneCookie("zone = RZ1")->has_value());  // no "zone=" text: the SDK skips it
  EXPECT_EQ(ParseZoneCookie("zone=A; zone=B")->value_or("-"), "B");  // last one wins
  EXPECT_EQ(ParseZoneCookie("zone=a=b")->value_or("-"), "a");
  EXPECT_FALSE(ParseZoneCookie("Path=/; HttpOnly")->has_value());
  EXPECT_FALSE(ParseZoneCookie("xzone=Q")->has_value());
  EXPECT_FALSE(ParseZoneCookie("")->has_value());
  EXPECT_FALSE(ParseZoneCookie("zone= ")->has_value());  // blank value: no cookie is sent
  for (const char* bad : {"zone=", "zone=; Path=/", "a=1; zone==", " zone="}) {
    auto r = ParseZoneCookie(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kProtocolError);
    EXPECT_NE(r.status().message().find("zone"), std::string::npos);
  }
}

TEST(BuildRegisterResponseBodyTest, LayoutTheSdkCanRead) {
  const std::string obj = "{\"code\":\"10000\",\"msg\":\"Success\",\"link_token\":\"tok1\"}";
  const std::string body = BuildRegisterResponseBody(obj, "c2ln", std::nullopt);
  EXPECT_EQ(body, kKeyMode);
  const std::string cert = BuildRegisterResponseBody(obj, "c2ln", "8bebf7fbd7acd128d485952d3ecb123a");
  EXPECT_EQ(cert, "{\"response\":" + obj +
                      ",\"sign\":\"c2ln\",\"alipay_cert_sn\":\"8bebf7fbd7acd128d485952d3ecb123a\"}");
  auto parsed = ParseRegisterResponse(cert);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->signed_text, obj);
  EXPECT_EQ(parsed->alipay_cert_sn.value_or(""), "8bebf7fbd7acd128d485952d3ecb123a");
}

}  // namespace
}  // namespace alipaymsg
