#include "protocol/frame.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "testing/test_paths.h"

namespace alipaymsg {
namespace {

using testing::ReadFileOrFail;
using testing::VectorPath;

boost::json::value LoadJson(const std::string& relative) {
  const std::string text = ReadFileOrFail(VectorPath(relative));
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) ADD_FAILURE() << relative << ": " << ec.message();
  return v;
}

std::string Str(const boost::json::value& v) { return std::string(v.as_string()); }

const char kConsume[] =
    "from-sys:openchannel\r\nfrom-sys-ip:10.0.0.1\r\nstream-id:s0000000000001\r\n\r\n"
    "{\"protocol\":{\"x-type\":\"message\",\"x-cmd\":\"CONSUME\",\"x-msgId\":\"mid1\","
    "\"x-timestamp\":\"1700000000000\",\"x-version\":\"1.0\",\"x-charset\":\"UTF-8\","
    "\"x-signType\":\"RSA2\",\"x-sign\":\"c2ln\"},\"data\":{\"header\":{\"appId\":\"2021\","
    "\"msgApi\":\"alipay.x.y\"},\"content\":{\"a\":\"}\\\"{\",\"b\":[1,{\"c\":2}]}}}";

// Wraps a protocol object text and an optional data text into a frame.
std::string MakeFrame(const std::string& protocol, const std::string& data = "") {
  std::string f = "stream-id:s1\r\n\r\n{\"protocol\":" + protocol;
  if (!data.empty()) f += ",\"data\":" + data;
  return f + "}";
}

const char kProto[] = "{\"x-type\":\"message\",\"x-cmd\":\"CONSUME\",\"x-msgId\":\"m\"}";

void ExpectError(std::string_view text, std::string_view needle) {
  auto r = ParseFrame(text);
  ASSERT_FALSE(r.ok()) << "parsed: " << text;
  EXPECT_EQ(r.status().code(), StatusCode::kParseError) << r.status().ToString();
  EXPECT_NE(r.status().message().find(needle), std::string::npos)
      << "message \"" << r.status().message() << "\" lacks \"" << needle << "\"";
}

// ------------------------------------------------------------------------------------------------
// §9.2 extraction

TEST(ExtractSignContentTest, JavaSdkVectors) {
  const auto vectors = LoadJson("java-sdk/extract_sign_content_vectors.json");
  ASSERT_TRUE(vectors.is_array());
  ASSERT_EQ(vectors.as_array().size(), 11u);
  for (const auto& v : vectors.as_array()) {
    const auto& o = v.as_object();
    const std::string input = Str(o.at("input"));
    const auto begin = static_cast<std::size_t>(o.at("begin").to_number<int64_t>());
    EXPECT_EQ(ExtractSignContentAt(input, begin), Str(o.at("expected_sign_content")))
        << Str(o.at("name"));
  }
}

TEST(ExtractSignContentTest, EdgeCases) {
  EXPECT_EQ(ExtractSignContentAt("abc", 10), "");
  EXPECT_EQ(ExtractSignContentAt("abc", 0), "");
  EXPECT_EQ(ExtractSignContentAt("x{\"a\":{\"b\":1}", 0), "{\"a\":{\"b\":1}");  // unbalanced: rest
  EXPECT_EQ(ExtractSignContentAt("x\"abc", 0), "\"abc");
  EXPECT_EQ(ExtractSignContentAt("{\"a\":\"\\\\\"}tail", 0), "{\"a\":\"\\\\\"}");
}

TEST(ExtractSignedDataTest, RegexSemantics) {
  EXPECT_EQ(ExtractSignedData("{\"data\" \t\r\n:\x0B\f{\"a\":1}}"), "{\"a\":1}");
  EXPECT_EQ(ExtractSignedData("{\"data\":[{}]}"), std::nullopt);
  EXPECT_EQ(ExtractSignedData("{\"x\":\"data\",\"data\":{}}"), "{}");
  EXPECT_EQ(ExtractSignedData("{\"data\":{\"s\":\"}{\\\"\"}}"), "{\"s\":\"}{\\\"\"}");
  EXPECT_EQ(ExtractSignedData("{\"data\":{\"a\":{"), "{\"a\":{");  // unbalanced: the rest
  EXPECT_EQ(ExtractSignedData(""), std::nullopt);
  EXPECT_EQ(ExtractSignedData("\"data\""), std::nullopt);
  EXPECT_EQ(ExtractSignedData("\"data\":"), std::nullopt);
}

// ------------------------------------------------------------------------------------------------
// ParseFrame: well-formed input

TEST(ParseFrameTest, SdkComputedConsumeFrame) {
  const auto vectors = LoadJson("java-sdk/sdk_computed_vectors.json").as_object();
  ASSERT_TRUE(vectors.contains("consume_frame"));
  const std::string text = Str(vectors.at("consume_frame"));
  auto r = ParseFrame(text);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Frame& f = *r;
  EXPECT_EQ(f.header.from_sys, "openchannel");
  EXPECT_EQ(f.header.from_sys_ip, "10.0.0.1");
  EXPECT_EQ(f.header.stream_id, "s0000000000001");
  EXPECT_TRUE(f.has_stream_id);
  EXPECT_EQ(f.protocol.type, "message");
  EXPECT_EQ(f.protocol.cmd, kCmdConsume);
  EXPECT_EQ(f.protocol.msg_id, "mid00000001");
  EXPECT_EQ(f.protocol.timestamp, "1700000000000");
  EXPECT_EQ(f.protocol.version, "1.0");
  EXPECT_EQ(f.protocol.charset, "UTF-8");
  EXPECT_EQ(f.protocol.sign_type, "RSA2");
  EXPECT_EQ(f.protocol.sign, Str(vectors.at("consume_x_sign_RSA2")));
  EXPECT_TRUE(f.has_data);
  EXPECT_EQ(f.signed_data, Str(vectors.at("consume_extracted_sign_content")));
  EXPECT_EQ(f.signed_data, Str(vectors.at("consume_data_part")));
  EXPECT_EQ(f.app_id, "2021000000000001");
  EXPECT_EQ(f.msg_api, "alipay.merchant.order.sync");
  // Exactly the wire text of data.content: "12.50" stays, "/" stays unescaped.
  ASSERT_TRUE(f.content.has_value());
  EXPECT_EQ(*f.content,
            "{\"shop_id\":\"shop/1\",\"note\":\"中文 {brace} \\\"q\\\" \\\\\",\"amount\":12.50,\"n\":1}");
  EXPECT_FALSE(f.empty_document);
  // The data part the SDK built is reproduced by concatenation.
  EXPECT_EQ(BuildDataPart(f.app_id, f.msg_api, "", "", *f.content), Str(vectors.at("consume_data_part")));
}

TEST(ParseFrameTest, ContentIsTheRawSpan) {
  auto r = ParseFrame(kConsume);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->content, "{\"a\":\"}\\\"{\",\"b\":[1,{\"c\":2}]}");
  EXPECT_EQ(r->signed_data,
            "{\"header\":{\"appId\":\"2021\",\"msgApi\":\"alipay.x.y\"},\"content\":{\"a\":\"}\\\"{\","
            "\"b\":[1,{\"c\":2}]}}");
  EXPECT_EQ(r->protocol.sign, "c2ln");
}

TEST(ParseFrameTest, WhitespaceInsideDataIsKeptAndEscapesDecodedInFields) {
  const std::string text =
      "\r\n\r\n { \"protocol\" : { \"x-type\" : \"mess\\u0061ge\", \"x-msgId\":\"a\\/b\\u4e2d\","
      " \"x-unknown\": [1, {\"x\": null}], \"x-code\": null } ,\n \"data\" : { \"content\" : "
      "{ \"k\" : \"v\" } , \"header\" : { \"appId\" : \"A\", \"other\": 5 } , \"extra\": true } } \n";
  auto r = ParseFrame(text);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->protocol.type, "message");
  EXPECT_EQ(r->protocol.msg_id, "a/b中");  // \u escapes decoded correctly (unlike the SDK)
  EXPECT_EQ(r->protocol.code, "");          // null = absent
  EXPECT_FALSE(r->has_stream_id);
  EXPECT_EQ(*r->content, "{ \"k\" : \"v\" }");
  EXPECT_EQ(r->signed_data,
            "{ \"content\" : { \"k\" : \"v\" } , \"header\" : { \"appId\" : \"A\", \"other\": 5 } , "
            "\"extra\": true }");
  EXPECT_EQ(r->app_id, "A");
}

TEST(ParseFrameTest, NoDataAndNoContent) {
  auto r = ParseFrame(MakeFrame(kProto));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_data);
  EXPECT_TRUE(r->signed_data.empty());
  EXPECT_FALSE(r->content.has_value());

  r = ParseFrame(MakeFrame(kProto, "{\"header\":{\"appId\":\"x\"}}"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->has_data);
  EXPECT_FALSE(r->content.has_value());
  EXPECT_EQ(r->signed_data, "{\"header\":{\"appId\":\"x\"}}");
}

TEST(ParseFrameTest, EmptyDocumentIsNotAnError) {
  for (const char* text : {"stream-id:s1\r\n\r\n", "\r\n\r\n", "\r\n\r\n \r\n\t"}) {
    auto r = ParseFrame(text);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->empty_document);
  }
}

TEST(ParseFrameTest, HeaderLinesLikeTheSdk) {
  const std::string text =
      "junk line\r\n x-other : 1\r\nstream-id : s9 \r\nfrom-sys-ip:fe80::1\r\nfrom-sys:\tsys\t\r\n"
      "from-sys:second\r\n\r\n" + std::string("{\"protocol\":") + kProto + "}";
  auto r = ParseFrame(text);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->header.stream_id, "s9");
  EXPECT_EQ(r->header.from_sys_ip, "fe80");  // truncated at the second ':' like the SDK
  EXPECT_EQ(r->header.from_sys, "second");    // last line wins
  // Header lines are written back in the fixed order, trimmed.
  EXPECT_EQ(BuildConsumeAck(*r, true),
            "from-sys:second\r\nfrom-sys-ip:fe80\r\nstream-id:s9\r\n\r\n"
            "{\"protocol\":{\"x-type\":\"message\",\"x-cmd\":\"CONSUME_ACK\",\"x-msgId\":\"m\","
            "\"x-version\":\"1.0\",\"x-status\":\"SUCCESS\"}}");
}

TEST(ParseFrameTest, BlankStreamIdLineIsKeptBlank) {
  auto r = ParseFrame("stream-id: \r\n\r\n{\"protocol\":" + std::string(kProto) + "}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->has_stream_id);
  EXPECT_EQ(r->header.stream_id, "");
  // The SDK echoes the blank id, i.e. writes no header line at all.
  EXPECT_EQ(BuildConsumeAck(*r, false, "cFALLBACK"),
            "\r\n\r\n{\"protocol\":{\"x-type\":\"message\",\"x-cmd\":\"CONSUME_ACK\",\"x-msgId\":\"m\","
            "\"x-version\":\"1.0\",\"x-status\":\"FAIL\"}}");
}

TEST(ParseFrameTest, MissingStreamIdUsesFallbackInAck) {
  auto r = ParseFrame("\r\n\r\n{\"protocol\":{\"x-type\":\"message\",\"x-cmd\":\"CONSUME\"}}");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_stream_id);
  EXPECT_EQ(BuildConsumeAck(*r, true, "c0VcDeymiJH006"),
            "stream-id:c0VcDeymiJH006\r\n\r\n{\"protocol\":{\"x-type\":\"message\",\"x-cmd\":"
            "\"CONSUME_ACK\",\"x-version\":\"1.0\",\"x-status\":\"SUCCESS\"}}");
}

TEST(ParseFrameTest, HugeHeaderLineAndDeepContent) {
  std::string big(1 << 20, 'x');
  std::string deep;
  for (int i = 0; i < 50; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 50; ++i) deep += "}";
  auto r = ParseFrame("x-big:" + big + "\r\nstream-id:" + big + "\r\n\r\n{\"protocol\":" +
                      kProto + ",\"data\":{\"content\":" + deep + "}}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->header.stream_id.size(), big.size());
  EXPECT_EQ(*r->content, deep);
}

// ------------------------------------------------------------------------------------------------
// ParseFrame: malformed input

TEST(ParseFrameErrorTest, FramingErrors) {
  ExpectError("", "empty frame");
  ExpectError(" \r\n ", "empty frame");
  ExpectError("stream-id:s1\r\n{\"protocol\":{}}", "no CRLF CRLF");
  ExpectError("stream-id:s1\n\n{\"protocol\":{\"x-type\":\"message\"}}", "LF-only");
  ExpectError("stream-id:s1\r\n\n{}", "no CRLF CRLF");
  ExpectError("stream-id:\r\n\r\n{}", "\"stream-id\" has no value");
  ExpectError("from-sys\r\n\r\n{}", "\"from-sys\" has no value");
  ExpectError("stream-id::\r\n\r\n{}", "has no value");
  ExpectError("a:b\r\n:\r\n\r\n{}", "only of ':'");
}

TEST(ParseFrameErrorTest, BadJson) {
  ExpectError("\r\n\r\n{", "invalid JSON");
  ExpectError("\r\n\r\n{\"protocol\":{\"x-type\":\"message\"},}", "invalid JSON");
  ExpectError("\r\n\r\n{'protocol':{}}", "invalid JSON");
  ExpectError("\r\n\r\n{\"protocol\":{\"x-type\":\"message\"}}}", "unexpected text after");
  ExpectError("\r\n\r\n{\"protocol\":{\"x-type\":\"message\"}} {}", "unexpected text after");
  ExpectError("\r\n\r\n{\"protocol\":{\"x-type\":\"message\"}}garbage", "unexpected text after");
  ExpectError("\r\n\r\n{\"protocol\":{\"x-type\":\"mess\xC3\"}}", "invalid JSON");  // bad UTF-8
  ExpectError("\r\n\r\n{\"protocol\":{\"x-type\":\"a\tb\"}}", "invalid JSON");      // raw control
  ExpectError("\r\n\r\n{\"protocol\":{\"x-type\":\"message\"}/*c*/}", "invalid JSON");
  ExpectError("\r\n\r\n[1]", "must be an object, got array");
  ExpectError("\r\n\r\n\"protocol\"", "must be an object, got string");
  ExpectError("\r\n\r\nnull", "must be an object, got null");
  std::string deep = "\r\n\r\n{\"protocol\":{\"x-type\":\"m\"},\"x\":";
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  ExpectError(deep + "}", "invalid JSON");
}

TEST(ParseFrameErrorTest, WrongTypes) {
  ExpectError(MakeFrame("\"message\""), "\"protocol\" must be a JSON object, got string");
  ExpectError("\r\n\r\n{\"data\":{}}", "missing \"protocol\"");
  ExpectError(MakeFrame("{}"), "missing x-type");
  ExpectError(MakeFrame("{\"x-type\":\" \"}"), "missing x-type");
  ExpectError(MakeFrame("{\"x-type\":null}"), "missing x-type");
  ExpectError(MakeFrame("{\"x-type\":1}"), "x-type must be a JSON string, got number");
  ExpectError(MakeFrame("{\"x-type\":\"message\",\"x-sign\":{}}"), "x-sign must be a JSON string, got object");
  ExpectError(MakeFrame("{\"x-type\":\"message\",\"x-msgId\":true}"), "x-msgId must be a JSON string, got boolean");
  ExpectError(MakeFrame(kProto, "[]"), "\"data\" must be a JSON object, got array");
  ExpectError(MakeFrame(kProto, "null"), "\"data\" must be a JSON object, got null");
  ExpectError(MakeFrame(kProto, "{\"header\":\"h\"}"), "data.header must be a JSON object, got string");
  ExpectError(MakeFrame(kProto, "{\"content\":[1]}"), "data.content must be a JSON object, got array");
  ExpectError(MakeFrame(kProto, "{\"content\":\"{}\"}"), "data.content must be a JSON object, got string");
  ExpectError(MakeFrame(kProto, "{\"content\":null}"), "data.content must be a JSON object, got null");
  ExpectError(MakeFrame(kProto, "{\"header\":{\"appId\":2021}}"), "data.header.appId must be a JSON string");
}

TEST(ParseFrameErrorTest, Timestamp) {
  ExpectError(MakeFrame("{\"x-type\":\"message\",\"x-timestamp\":1700000000000}"),
              "x-timestamp must be a JSON string, got number");
  for (const char* bad : {"\"\"", "\"-5\"", "\"+5\"", "\"17e3\"", "\"1 \"", "\"abc\"",
                          "\"99999999999999999999\"", "\"9223372036854775808\""}) {
    ExpectError(MakeFrame(std::string("{\"x-type\":\"message\",\"x-timestamp\":") + bad + "}"),
                "x-timestamp must be a string of decimal digits");
  }
  ExpectError(MakeFrame("{\"x-type\":\"message\",\"x-timestamp\":null}"), "x-timestamp must be a string of digits, got null");
  auto r = ParseFrame(MakeFrame("{\"x-type\":\"message\",\"x-timestamp\":\"9223372036854775807\"}"));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

TEST(ParseFrameErrorTest, SignedTextMustBeTheDataObject) {
  // A "data":{ text earlier than the real data member (here inside protocol) would make the
  // signature cover a different object than the one delivered.
  ExpectError(MakeFrame("{\"x-type\":\"message\",\"data\":{}}", "{\"content\":{}}"), "signed text");
  // Duplicate data members: the SDK keeps the last, the signature covers the first.
  ExpectError("\r\n\r\n{\"protocol\":" + std::string(kProto) +
                  ",\"data\":{\"content\":{\"a\":1}},\"data\":{\"content\":{\"a\":2}}}",
              "signed text");
  // An escaped key is "data" to a JSON reader but not to the SDK's regular expression.
  ExpectError("\r\n\r\n{\"protocol\":" + std::string(kProto) + ",\"d\\u0061ta\":{\"content\":{}}}",
              "signed text");
  // An escaped quote before data inside a key: the regex matches inside the key.
  ExpectError("\r\n\r\n{\"protocol\":" + std::string(kProto) +
                  ",\"x\\\"data\":{\"content\":{\"a\":1}},\"data\":{\"content\":{\"a\":2}}}",
              "signed text");
}

TEST(ParseFrameErrorTest, EveryTruncationFailsCleanly) {
  const std::string full = kConsume;
  const std::size_t json_start = full.find("\r\n\r\n") + 4;
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto r = ParseFrame(std::string_view(full).substr(0, n));
    if (n == json_start) {
      ASSERT_TRUE(r.ok());
      EXPECT_TRUE(r->empty_document);
    } else {
      EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes parsed";
    }
  }
  EXPECT_TRUE(ParseFrame(full).ok());
}

// ------------------------------------------------------------------------------------------------
// Writing

TEST(SerializeFrameTest, LayoutOrderAndEscaping) {
  ProtocolFields p;
  p.type = "message";
  p.sign = "sig";
  p.cmd = "PRODUCE";
  p.timestamp = "1";
  p.version = "1.0";
  p.charset = "UTF-8";
  p.sign_type = "RSA2";
  p.error = "bad \"quote\" \\ /\n\x01";
  p.code = " ";  // blank: not written
  EXPECT_EQ(SerializeFrame({}, p),
            "\r\n\r\n{\"protocol\":{\"x-type\":\"message\",\"x-cmd\":\"PRODUCE\",\"x-timestamp\":\"1\","
            "\"x-version\":\"1.0\",\"x-error\":\"bad \\\"quote\\\" \\\\ /\\n\\u0001\",\"x-charset\":"
            "\"UTF-8\",\"x-signType\":\"RSA2\",\"x-sign\":\"sig\"}}");
  FrameHeader h{"sys", "", "s1"};
  ProtocolFields minimal;
  minimal.type = "message";
  EXPECT_EQ(SerializeFrame(h, minimal, "{\"header\":{}}"),
            "from-sys:sys\r\nstream-id:s1\r\n\r\n{\"protocol\":{\"x-type\":\"message\"},\"data\":{\"header\":{}}}");
}

TEST(SerializeFrameTest, RoundTripThroughParse) {
  auto r = ParseFrame(kConsume);
  ASSERT_TRUE(r.ok());
  const std::string again = SerializeFrame(r->header, r->protocol, r->signed_data);
  EXPECT_EQ(again, kConsume);
}

TEST(BuildDataPartTest, MembersOnlyWhenNonBlank) {
  EXPECT_EQ(BuildDataPart("", "", "", "", ""), "");
  EXPECT_EQ(BuildDataPart("", "", "", "", " "), "");
  EXPECT_EQ(BuildDataPart("", "", "", "", "{}"), "{\"header\":{},\"content\":{}}");
  EXPECT_EQ(BuildDataPart("app", "api", "", "", ""), "{\"header\":{\"appId\":\"app\",\"msgApi\":\"api\"}}");
  EXPECT_EQ(BuildDataPart("app", "api", "sn1", "root", "{\"a\":1}"),
            "{\"header\":{\"appId\":\"app\",\"msgApi\":\"api\",\"app_cert_sn\":\"sn1\","
            "\"alipay_root_cert_sn\":\"root\"},\"content\":{\"a\":1}}");
  EXPECT_EQ(BuildDataPart("", "api", "sn1", "", "{}"),
            "{\"header\":{\"msgApi\":\"api\",\"app_cert_sn\":\"sn1\"},\"content\":{}}");
}

TEST(StreamIdTest, Radix62) {
  EXPECT_EQ(ToRadix62(0, 0), "0");
  EXPECT_EQ(ToRadix62(0, 3), "000");
  EXPECT_EQ(ToRadix62(61, 1), "z");
  EXPECT_EQ(ToRadix62(62, 1), "10");
  EXPECT_EQ(ToRadix62(3842, 2), "zy");
  EXPECT_EQ(ToRadix62(3843, 2), "zz");  // 3843 = "zz", the bound of the random part
  EXPECT_EQ(ToRadix62(238327, 3), "zzz");
  EXPECT_EQ(ToRadix62(1795822209826, 8), "0VcDeym2");
  EXPECT_EQ(ToRadix62(UINT64_MAX, 1), "LygHa16AHYF");
}

uint64_t FromRadix62(std::string_view s) {
  static constexpr std::string_view kDigits =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  uint64_t v = 0;
  for (char c : s) v = v * 62 + kDigits.find(c);
  return v;
}

TEST(StreamIdTest, ReproducesTheJavaClientsIds) {
  // From the key-mode transcript: the client's 7th ProtocolData (sequence 6) at that millisecond.
  const std::string seen = "c0VcDeymiJH006";
  const auto ms = static_cast<int64_t>(FromRadix62(seen.substr(1, 8)));
  const auto random = static_cast<uint32_t>(FromRadix62(seen.substr(9, 2)));
  EXPECT_NEAR(static_cast<double>(ms), 1795822209826.0, 1000.0);  // that PRODUCE's x-timestamp
  StreamIdGenerator gen(random);
  std::string id;
  for (int i = 0; i <= 6; ++i) id = gen.Next(ms);
  EXPECT_EQ(id, seen);
  EXPECT_EQ(id.size(), 14u);

  const auto vectors = LoadJson("java-sdk/sdk_computed_vectors.json").as_object();
  const std::string sample = Str(vectors.at("streamId_sample"));
  StreamIdGenerator gen2(static_cast<uint32_t>(FromRadix62(sample.substr(9, 2))));
  const auto ms2 = static_cast<int64_t>(FromRadix62(sample.substr(1, 8)));
  for (uint64_t i = 0; i < FromRadix62(sample.substr(11)); ++i) gen2.Next(ms2);
  EXPECT_EQ(gen2.Next(ms2), sample);
}

TEST(StreamIdTest, SequenceWrapsAfter200000) {
  StreamIdGenerator gen(5000);  // reduced modulo 3843
  std::string id;
  for (int i = 0; i <= 200000; ++i) id = gen.Next(0);
  EXPECT_EQ(id, "c00000000" + ToRadix62(5000 % 3843, 2) + ToRadix62(200000, 3));
  EXPECT_EQ(gen.Next(0).substr(11), "000");
  EXPECT_EQ(gen.Next(-5).substr(1, 8), "00000000");
}

}  // namespace
}  // namespace alipaymsg
