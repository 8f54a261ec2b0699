// BuildRegisterParams / BuildConnectParams shapes and CheckRegisterResponse's diagnostics.
#include <gtest/gtest.h>

#include "protocol/register.h"
#include "protocol/test_keys.h"

namespace alipaymsg {
namespace {

constexpr char kNonce[] = "0123456789abcdef0123456789abcdef";

std::vector<std::string> Names(const Params& p) {
  std::vector<std::string> out;
  for (const auto& kv : p) out.push_back(kv.first);
  return out;
}

class RegisterCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_mode_ = testing::TranscriptCredentials(false);
    cert_mode_ = testing::TranscriptCredentials(true);
    alipay_private_ = testing::LoadPrivateKey("java-sdk/keys/alipay.private.pkcs8.b64");
    ASSERT_TRUE(key_mode_ && cert_mode_ && alipay_private_);
  }

  // A register.do body as Alipay would send it, signed with the Alipay private key.
  RegisterResponse Signed(const std::string& object, std::optional<std::string> sn,
                          SignType type = SignType::kRsa2) {
    auto sign = Sign(*alipay_private_, type, object);
    EXPECT_TRUE(sign.ok());
    auto r = ParseRegisterResponse(BuildRegisterResponseBody(object, *sign, sn));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *r;
  }

  std::optional<Credentials> key_mode_;
  std::optional<Credentials> cert_mode_;
  std::optional<PrivateKey> alipay_private_;
};

const char kOk[] = "{\"code\":\"10000\",\"msg\":\"Success\",\"link_token\":\"T\"}";

TEST_F(RegisterCheckTest, ParameterOrderAsObservedOnTheWire) {
  auto reg = BuildRegisterParams(*key_mode_, 1700000000000, kNonce);
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  EXPECT_EQ(Names(*reg), (std::vector<std::string>{"charset", "sdk_version", "sign", "sign_type", "app_id",
                                                   "nonce", "timestamp"}));
  auto reg_cert = BuildRegisterParams(*cert_mode_, 1700000000000, kNonce);
  ASSERT_TRUE(reg_cert.ok());
  EXPECT_EQ(Names(*reg_cert),
            (std::vector<std::string>{"app_cert_sn", "charset", "alipay_root_cert_sn", "sdk_version", "sign",
                                      "sign_type", "app_id", "nonce", "timestamp"}));
  EXPECT_EQ(*FindParam(*reg_cert, "app_cert_sn"), "d87e621c0e3ed7a9a5ff5f4ba027a3a7");
  EXPECT_EQ(*FindParam(*reg_cert, "alipay_root_cert_sn"), "68c421bb1f16ba923a290e15642d75bd");
  auto con = BuildConnectParams(*key_mode_, "tok", 1700000000001);
  ASSERT_TRUE(con.ok());
  EXPECT_EQ(Names(*con), (std::vector<std::string>{"charset", "link_token", "sdk_version", "sign", "app_id",
                                                   "sign_type", "timestamp"}));
  auto con_cert = BuildConnectParams(*cert_mode_, "tok", 1700000000001, "alipay-sdk-java-custom");
  ASSERT_TRUE(con_cert.ok());
  EXPECT_EQ(Names(*con_cert),
            (std::vector<std::string>{"app_cert_sn", "charset", "alipay_root_cert_sn", "link_token",
                                      "sdk_version", "sign", "app_id", "sign_type", "timestamp"}));
  EXPECT_EQ(*FindParam(*con_cert, "sdk_version"), "alipay-sdk-java-custom");
}

TEST_F(RegisterCheckTest, BadArguments) {
  EXPECT_EQ(BuildRegisterParams(*key_mode_, 1, "short").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BuildRegisterParams(*key_mode_, 1, "0123456789ABCDEF0123456789ABCDEF").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(BuildConnectParams(*key_mode_, " ", 1).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(RegisterCheckTest, ValidResponsesInBothModes) {
  EXPECT_TRUE(CheckRegisterResponse(Signed(kOk, std::nullopt), *key_mode_).ok());
  const Status cert = CheckRegisterResponse(Signed(kOk, "8bebf7fbd7acd128d485952d3ecb123a"), *cert_mode_);
  EXPECT_TRUE(cert.ok()) << cert.ToString();
}

TEST_F(RegisterCheckTest, WrongAlipayKeySaysWhichKeyIsProbablyWrong) {
  // The classic mistake: the app public key configured as the Alipay public key.
  CredentialsConfig c;
  c.app_id = "2021000000000001";
  c.app_private_key_path = testing::VectorPath("java-sdk/keys/app.private.pkcs8.b64");
  c.alipay_public_key_path = testing::VectorPath("java-sdk/keys/app.public.spki.b64");
  auto swapped = Credentials::Load(c);
  if (!swapped.ok()) {
    // Loading may already refuse a swapped key; then it must say so.
    EXPECT_NE(swapped.status().message().find("app"), std::string::npos) << swapped.status().ToString();
    auto alipay_pub = testing::LoadPublicKey("java-sdk/keys/app.public.spki.b64");
    auto app_priv = testing::LoadPrivateKey("java-sdk/keys/app.private.pkcs8.b64");
    ASSERT_TRUE(alipay_pub && app_priv);
    swapped = Credentials::FromKeys("2021000000000001", SignType::kRsa2, *app_priv, *alipay_pub);
  }
  const Status st = CheckRegisterResponse(Signed(kOk, std::nullopt), *swapped);
  EXPECT_EQ(st.code(), StatusCode::kSignatureMismatch);
  EXPECT_NE(st.message().find("Alipay public key is probably wrong"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("app public key"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("RSA vs RSA2"), std::string::npos) << st.message();
}

TEST_F(RegisterCheckTest, SignTypeMismatch) {
  auto rsa = testing::TranscriptCredentials(false, "RSA");
  ASSERT_TRUE(rsa.has_value());
  const Status st = CheckRegisterResponse(Signed(kOk, std::nullopt, SignType::kRsa2), *rsa);
  EXPECT_EQ(st.code(), StatusCode::kSignatureMismatch);
  EXPECT_NE(st.message().find("RSA vs RSA2"), std::string::npos) << st.message();
}

TEST_F(RegisterCheckTest, CertSnMismatchShowsBothSns) {
  const Status st = CheckRegisterResponse(Signed(kOk, "00000000000000000000000000000000"), *cert_mode_);
  EXPECT_EQ(st.code(), StatusCode::kProtocolError);
  EXPECT_NE(st.message().find("00000000000000000000000000000000"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("8bebf7fbd7acd128d485952d3ecb123a"), std::string::npos) << st.message();
  const Status missing = CheckRegisterResponse(Signed(kOk, std::nullopt), *cert_mode_);
  EXPECT_EQ(missing.code(), StatusCode::kProtocolError);
  EXPECT_NE(missing.message().find("no alipay_cert_sn"), std::string::npos) << missing.message();
  const Status key_mode = CheckRegisterResponse(Signed(kOk, "8bebf7fbd7acd128d485952d3ecb123a"), *key_mode_);
  EXPECT_EQ(key_mode.code(), StatusCode::kProtocolError);
  EXPECT_NE(key_mode.message().find("key mode"), std::string::npos) << key_mode.message();
}

TEST_F(RegisterCheckTest, FailureCodesShowCodeSubCodeAndSubMsg) {
  auto r = ParseRegisterResponse(
      "{\"response\":{\"code\":\"40002\",\"msg\":\"Invalid Arguments\",\"sub_code\":\"isv.invalid-signature\","
      "\"sub_msg\":\"验签出错，建议检查签名字符串\"}}");
  ASSERT_TRUE(r.ok());
  const Status st = CheckRegisterResponse(*r, *key_mode_);
  EXPECT_EQ(st.code(), StatusCode::kProtocolError);
  for (const char* part : {"40002", "Invalid Arguments", "isv.invalid-signature", "验签出错，建议检查签名字符串"}) {
    EXPECT_NE(st.message().find(part), std::string::npos) << st.message();
  }
}

TEST_F(RegisterCheckTest, UnsignedSuccessBadSignatureAndMissingToken) {
  auto unsigned_ok = ParseRegisterResponse("{\"response\":{\"code\":\"10000\",\"link_token\":\"T\"}}");
  ASSERT_TRUE(unsigned_ok.ok());
  EXPECT_NE(CheckRegisterResponse(*unsigned_ok, *key_mode_).message().find("not signed"), std::string::npos);

  RegisterResponse tampered = Signed(kOk, std::nullopt);
  tampered.signed_text[tampered.signed_text.size() - 3] = 'X';
  EXPECT_EQ(CheckRegisterResponse(tampered, *key_mode_).code(), StatusCode::kSignatureMismatch);

  RegisterResponse bad64 = Signed(kOk, std::nullopt);
  bad64.sign = "%%%";
  const Status b = CheckRegisterResponse(bad64, *key_mode_);
  EXPECT_FALSE(b.ok());
  EXPECT_NE(b.code(), StatusCode::kSignatureMismatch);

  const Status no_token = CheckRegisterResponse(Signed("{\"code\":\"10000\",\"msg\":\"Success\"}", std::nullopt),
                                                *key_mode_);
  EXPECT_EQ(no_token.code(), StatusCode::kProtocolError);
  EXPECT_NE(no_token.message().find("link_token"), std::string::npos);
}

}  // namespace
}  // namespace alipaymsg
