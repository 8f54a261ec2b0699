#include "alipaymsg/params.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "testing/test_paths.h"

namespace alipaymsg {
namespace {

using testing::ReadFileOrFail;
using testing::VectorPath;

boost::json::object LoadObject(const std::string& relative) {
  const std::string text = ReadFileOrFail(VectorPath(relative));
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << relative << " is not a JSON object";
    return {};
  }
  return std::move(v.as_object());
}

std::string Str(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return boost::json::serialize(v);
}

TEST(SignContentTest, JavaSdkRegisterVectorSkipsSignAndEmptyValues) {
  const auto vectors = LoadObject("java-sdk/sdk_computed_vectors.json");
  ASSERT_TRUE(vectors.contains("register_params_input"));
  Params params;
  for (const auto& [k, v] : vectors.at("register_params_input").as_object()) {
    params.emplace_back(std::string(k), Str(v));
  }
  EXPECT_EQ(SignContentV2(params), Str(vectors.at("register_sign_content")));
  // Order of the input map does not matter.
  Params reversed(params.rbegin(), params.rend());
  EXPECT_EQ(SignContentV2(reversed), Str(vectors.at("register_sign_content")));
}

TEST(SignContentTest, V1DropsSignTypeToo) {
  const Params p = {{"b", "2"}, {"sign_type", "RSA2"}, {"a", "1"}, {"sign", "xx"}};
  EXPECT_EQ(SignContentV2(p), "a=1&b=2&sign_type=RSA2");
  EXPECT_EQ(SignContentV1(p), "a=1&b=2");
}

TEST(SignContentTest, BothEmptyValueConventions) {
  const Params p = {{"z", ""}, {"a", "1"}, {"m", "  "}, {"", "orphan"}, {"ideo", "\xE3\x80\x80"}};
  // Java: whitespace-only values (including U+3000) count as empty and are skipped.
  EXPECT_EQ(SignContentV2(p, EmptyValues::kSkip), "a=1");
  // Node: empty values kept as "key=", empty keys dropped.
  EXPECT_EQ(SignContentV2(p, EmptyValues::kKeep), "a=1&ideo=\xE3\x80\x80&m=  &z=");
}

TEST(SignContentTest, RawValuesNotEncodedAndJavaStringOrder) {
  const Params p = {{"b", "x=1&y=2 中"}, {"B", "upper"}, {"a_b", "1"}, {"a", "0"}};
  // Java String order: uppercase before lowercase, "a" before "a_b".
  EXPECT_EQ(SignContentV2(p), "B=upper&a=0&a_b=1&b=x=1&y=2 中");
}

TEST(SignContentTest, SupplementaryCharactersSortAsUtf16) {
  // U+1F600 (surrogates D83D..) sorts before U+FF01 in UTF-16 order, after it in byte order.
  const Params p = {{"k\xEF\xBC\x81", "fullwidth"}, {"k\xF0\x9F\x98\x80", "emoji"}};
  EXPECT_EQ(SignContentV2(p), "k\xF0\x9F\x98\x80=emoji&k\xEF\xBC\x81=fullwidth");
}

TEST(UrlEncodeJavaTest, SdkSample) {
  const auto vectors = LoadObject("java-sdk/sdk_computed_vectors.json");
  ASSERT_TRUE(vectors.contains("urlencode_sample_input"));
  const std::string expected = Str(vectors.at("urlencode_sample_output"));
  EXPECT_EQ("v=" + UrlEncodeJava(Str(vectors.at("urlencode_sample_input"))), expected);
  EXPECT_EQ(BuildQuery({{"v", Str(vectors.at("urlencode_sample_input"))}}), expected);
}

TEST(UrlEncodeJavaTest, EveryByte) {
  EXPECT_EQ(UrlEncodeJava("AZaz09.-*_"), "AZaz09.-*_");
  EXPECT_EQ(UrlEncodeJava(" "), "+");
  EXPECT_EQ(UrlEncodeJava("+/=~"), "%2B%2F%3D%7E");
  EXPECT_EQ(UrlEncodeJava(std::string("\0\x7f\xff", 3)), "%00%7F%FF");
}

TEST(BuildQueryTest, KeepsOrderAndOmitsBlankNamesAndValues) {
  const Params p = {{"sign", "a+b/c=="}, {"empty", ""}, {"blank", " "}, {" ", "x"}, {"app_id", "1"}};
  EXPECT_EQ(BuildQuery(p), "sign=a%2Bb%2Fc%3D%3D&app_id=1");
  EXPECT_EQ(BuildQuery({}), "");
}

TEST(FormDecodeTest, DecodesOnceWithPlusAsSpace) {
  auto r = FormDecode("a=1+2&b=%2B%25%32%30&c=&d&e=x%3Dy%26z&=v&&");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Params expected = {{"a", "1 2"}, {"b", "+%20"}, {"c", ""}, {"d", ""},
                           {"e", "x=y&z"}, {"", "v"}};
  EXPECT_EQ(*r, expected);
  EXPECT_EQ(*FindParam(*r, "b"), "+%20");  // %2520-like text is not decoded a second time
  EXPECT_EQ(FindParam(*r, "missing"), nullptr);
}

TEST(FormDecodeTest, Utf8AndRawBytes) {
  auto r = FormDecode("subject=%E6%B5%8B%E8%AF%95&raw=中");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*FindParam(*r, "subject"), "测试");
  EXPECT_EQ(*FindParam(*r, "raw"), "中");
}

TEST(FormDecodeTest, BadEscapesAreParseErrors) {
  for (const char* body : {"a=%", "a=%4", "a=%zz", "a=50%+off", "%G1=x", "a=1&b=%4g"}) {
    auto r = FormDecode(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), StatusCode::kParseError) << body;
    EXPECT_NE(r.status().message().find("percent"), std::string::npos) << r.status().message();
  }
  auto named = FormDecode("ok=1&passback_params=50%");
  ASSERT_FALSE(named.ok());
  EXPECT_NE(named.status().message().find("passback_params"), std::string::npos)
      << named.status().message();
}

TEST(FormEncodeTest, EncodesEveryPairAndRoundTripsThroughFormDecode) {
  const Params p = {{"sign", "a+b/c=="}, {"empty", ""}, {"名 字", "值&=%"}, {"", "v"}};
  const std::string form = FormEncode(p);
  EXPECT_EQ(form, "sign=a%2Bb%2Fc%3D%3D&empty=&%E5%90%8D+%E5%AD%97=%E5%80%BC%26%3D%25&=v");
  auto decoded = FormDecode(form);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, p);
  EXPECT_EQ(FormEncode({}), "");
}

TEST(FormDecodeTest, EmptyBody) {
  auto r = FormDecode("");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

}  // namespace
}  // namespace alipaymsg
