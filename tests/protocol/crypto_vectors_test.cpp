// Values computed by the official SDKs that involve signatures: the Java SDK's register signature
// and query string, the CONSUME x-sign; the Node SDK's request sign content and signatures.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "alipaymsg/params.h"
#include "protocol/frame.h"
#include "protocol/test_keys.h"

namespace alipaymsg {
namespace {

using testing::ReadFileOrFail;
using testing::VectorPath;

boost::json::value LoadJson(const std::string& relative) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(ReadFileOrFail(VectorPath(relative)), ec);
  if (ec) ADD_FAILURE() << relative << ": " << ec.message();
  return v;
}

std::string Str(const boost::json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : boost::json::serialize(v);
}

class JavaSdkVectors : public ::testing::Test {
 protected:
  void SetUp() override {
    auto v = LoadJson("java-sdk/sdk_computed_vectors.json");
    ASSERT_TRUE(v.is_object());
    vectors_ = v.as_object();
  }
  std::string Get(const char* name) {
    if (!vectors_.contains(name)) {
      ADD_FAILURE() << "vector " << name << " missing";
      return "";
    }
    return Str(vectors_.at(name));
  }
  Params RegisterInput() {
    Params p;
    for (const auto& [k, v] : vectors_.at("register_params_input").as_object()) {
      p.emplace_back(std::string(k), Str(v));
    }
    return p;
  }
  boost::json::object vectors_;
};

TEST_F(JavaSdkVectors, RegisterSignaturesRsa2AndRsa1024) {
  const std::string content = SignContentV2(RegisterInput());
  ASSERT_EQ(content, Get("register_sign_content"));
  auto rsa2 = testing::LoadPrivateKey("java-sdk/keys/sdk_test_RSA2EncryptorTest.private.pkcs8.b64");
  auto rsa1024 = testing::LoadPrivateKey("java-sdk/keys/sdk_test_RSAEncryptorTest_1024.private.pkcs8.b64");
  ASSERT_TRUE(rsa2 && rsa1024);
  auto s2 = Sign(*rsa2, SignType::kRsa2, content);
  ASSERT_TRUE(s2.ok()) << s2.status().ToString();
  EXPECT_EQ(*s2, Get("register_sign_RSA2"));
  auto s1 = Sign(*rsa1024, SignType::kRsa, content);
  ASSERT_TRUE(s1.ok()) << s1.status().ToString();
  EXPECT_EQ(*s1, Get("register_sign_RSA_1024key"));
}

TEST_F(JavaSdkVectors, RegisterQueryStringInHashMapOrder) {
  // The SDK's HashMap iteration order for these names (cert-mode register, §4.2); the empty
  // parameter is dropped by buildQuery.
  const char* order[] = {"app_cert_sn", "charset", "alipay_root_cert_sn", "empty_param", "sdk_version",
                         "sign", "sign_type", "app_id", "nonce", "timestamp"};
  const Params input = RegisterInput();
  Params ordered;
  for (const char* name : order) {
    const std::string* v = FindParam(input, name);
    ASSERT_NE(v, nullptr) << name;
    ordered.emplace_back(name, name == std::string("sign") ? Get("register_sign_RSA2") : *v);
  }
  EXPECT_EQ(BuildQuery(ordered), Get("register_query_string_java_hashmap_order"));
  // A server decodes it back to the same sign content.
  auto decoded = FormDecode(Get("register_query_string_java_hashmap_order"));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(SignContentV2(*decoded), Get("register_sign_content"));
}

TEST_F(JavaSdkVectors, ConsumeSignature) {
  auto priv = testing::LoadPrivateKey("java-sdk/keys/sdk_test_RSA2EncryptorTest.private.pkcs8.b64");
  auto pub = testing::LoadPublicKey("java-sdk/keys/sdk_test_RSA2EncryptorTest.public.spki.b64");
  ASSERT_TRUE(priv && pub);
  auto sign = Sign(*priv, SignType::kRsa2, Get("consume_data_part"));
  ASSERT_TRUE(sign.ok());
  EXPECT_EQ(*sign, Get("consume_x_sign_RSA2"));

  auto frame = ParseFrame(Get("consume_frame"));
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  ASSERT_TRUE(vectors_.at("consume_verify_with_rsa2_public").as_bool());
  EXPECT_TRUE(VerifyConsumeSignature(*frame, *pub).ok());

  // Missing or unusable signature members are errors naming the member.
  Frame f = *frame;
  f.protocol.sign.clear();
  EXPECT_NE(VerifyConsumeSignature(f, *pub).message().find("x-sign"), std::string::npos);
  f = *frame;
  f.protocol.sign_type = "MD5";
  EXPECT_NE(VerifyConsumeSignature(f, *pub).message().find("x-signType"), std::string::npos);
  f = *frame;
  f.protocol.charset = "";
  EXPECT_NE(VerifyConsumeSignature(f, *pub).message().find("x-charset"), std::string::npos);
  f = *frame;
  f.protocol.sign = "not*base64!";
  Status bad64 = VerifyConsumeSignature(f, *pub);
  EXPECT_EQ(bad64.code(), StatusCode::kParseError) << bad64.ToString();
  EXPECT_NE(bad64.message().find("x-sign"), std::string::npos);
  f = *frame;
  f.protocol.sign_type = "RSA";  // right key, wrong algorithm
  EXPECT_EQ(VerifyConsumeSignature(f, *pub).code(), StatusCode::kSignatureMismatch);
  f = *frame;
  f.has_data = false;
  f.signed_data.clear();
  EXPECT_NE(VerifyConsumeSignature(f, *pub).message().find("no data part"), std::string::npos);
}

TEST(NodeSdkVectors, SignRequestContentAndSignature) {
  const auto root = LoadJson("node-sdk/vectors.json");
  ASSERT_TRUE(root.is_object());
  int seen = 0;
  for (const auto& v : root.at("vectors").as_array()) {
    const auto& o = v.as_object();
    if (Str(o.at("kind")) != "sign_request") continue;
    ++seen;
    const std::string id = Str(o.at("id"));
    const auto& expected = o.at("expected").as_object();
    Params params;
    for (const auto& [k, val] : expected.at("signedParams").as_object()) {
      if (k == "sign") continue;
      params.emplace_back(std::string(k), Str(val));  // numbers as JSON.stringify writes them
    }
    // The Node SDK keeps empty values ("empty_value=").
    const std::string content = SignContentV2(params, EmptyValues::kKeep);
    EXPECT_EQ(content, Str(expected.at("signContent"))) << id;
    auto key = testing::LoadPrivateKey("node-sdk/" + Str(o.at("inputs").at("keyFile")));
    ASSERT_TRUE(key.has_value()) << id;
    auto type = ParseSignType(Str(o.at("signType")));
    ASSERT_TRUE(type.ok());
    auto sign = Sign(*key, *type, content);
    ASSERT_TRUE(sign.ok()) << id << ": " << sign.status().ToString();
    EXPECT_EQ(*sign, Str(expected.at("sign"))) << id;
  }
  EXPECT_EQ(seen, 7);
}

}  // namespace
}  // namespace alipaymsg
