// Credentials::Load in key mode and certificate mode, and every mix-up it must name.
#include <gtest/gtest.h>

#include "alipaymsg/cert.h"
#include "alipaymsg/credentials.h"
#include "crypto/vectors.h"

namespace alipaymsg {
namespace {

using testing::NodeVectorsOfKind;
using testing::ReadFileOrFail;
using testing::Str;
using testing::VectorPath;

std::string Node(const std::string& name) { return VectorPath("node-sdk/inputs/" + name); }
std::string Java(const std::string& name) { return VectorPath("java-sdk/keys/" + name); }

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

CredentialsConfig NodeKeyMode() {
  CredentialsConfig c;
  c.app_id = "2021000000000000";
  c.app_private_key_path = Node("app_private_pkcs1.pem");
  c.alipay_public_key_path = Node("alipay_public.pem");
  return c;
}

CredentialsConfig NodeCertMode() {
  CredentialsConfig c;
  c.app_id = "2021000000000000";
  c.app_private_key_path = Node("app_private_pkcs8_bare.txt");
  c.app_cert_path = Node("appCertPublicKey_2021000000000000.crt");
  c.alipay_cert_path = Node("alipayCertPublicKey_RSA2_test.crt");
  c.root_cert_path = Node("alipayRootCert_test.crt");
  return c;
}

// The content and Alipay's RSA2 signature of the rsa_check vector.
void RsaCheckVector(std::string* content, std::string* sig) {
  auto v = NodeVectorsOfKind("rsa_check");
  ASSERT_FALSE(v.empty());
  *content = ReadFileOrFail(testing::NodeInput(v[0].at("inputs").at("stringFile")));
  *sig = ReadFileOrFail(testing::NodeInput(v[0].at("inputs").at("signatureFile")));
}

void ExpectError(const CredentialsConfig& config, StatusCode code, const std::string& says) {
  auto c = Credentials::Load(config);
  ASSERT_FALSE(c.ok()) << "loaded, but expected: " << says;
  EXPECT_EQ(c.status().code(), code) << c.status().ToString();
  EXPECT_TRUE(Contains(c.status().message(), says)) << c.status().message();
}

TEST(Credentials, KeyMode) {
  auto c = Credentials::Load(NodeKeyMode());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->app_id(), "2021000000000000");
  EXPECT_EQ(c->sign_type(), SignType::kRsa2);
  EXPECT_EQ(c->charset(), "UTF-8");
  EXPECT_FALSE(c->cert_mode());
  EXPECT_TRUE(c->app_cert_sn().empty());
  EXPECT_FALSE(c->alipay_cert_sn().has_value());
  EXPECT_FALSE(c->alipay_root_cert_sn().has_value());

  // Signs like the Node SDK vector.
  for (const auto& v : NodeVectorsOfKind("sign")) {
    if (Str(v.at("signType")) != "RSA2") continue;
    std::string content = ReadFileOrFail(testing::NodeInput(v.at("inputs").at("stringFile")));
    auto sig = c->SignAsApp(content);
    ASSERT_TRUE(sig.ok());
    EXPECT_EQ(*sig, Str(v.at("expected").at("signature")));
  }
  std::string content, sig;
  RsaCheckVector(&content, &sig);
  EXPECT_TRUE(c->VerifyFromAlipay(content, sig, SignType::kRsa2, "UTF-8").ok());
  EXPECT_EQ(c->VerifyFromAlipay(content, sig, SignType::kRsa, "UTF-8").code(), StatusCode::kSignatureMismatch);
  EXPECT_EQ(c->VerifyFromAlipay(content + "x", sig, SignType::kRsa2, "UTF-8").code(), StatusCode::kSignatureMismatch);
}

TEST(Credentials, CertModeNodeVectors) {
  auto c = Credentials::Load(NodeCertMode());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->cert_mode());
  EXPECT_EQ(c->app_cert_sn(), "df4b403eb43e4fbdaf0ac9be57b056b1");
  EXPECT_EQ(c->alipay_cert_sn(), "0722e35fe7183f32b4f100ef8645fd16");
  EXPECT_EQ(c->alipay_root_cert_sn(), "8346f55511064746fbd9d3e87386d779_9acbc1bb300fc9b039c0ffc33afcf860");
  // The Alipay public key is the first certificate's key.
  auto v = NodeVectorsOfKind("cert_pubkey");
  for (const auto& vec : v) {
    if (Str(vec.at("id")) == "cert_pubkey_alipayCertPublicKey_RSA2_test") {
      EXPECT_EQ(c->alipay_public_key().ToBase64Spki(), Str(vec.at("expected").at("publicKeyBase64")));
    }
  }
  std::string content, sig;
  RsaCheckVector(&content, &sig);
  EXPECT_TRUE(c->VerifyFromAlipay(content, sig, SignType::kRsa2, "UTF-8").ok());
}

TEST(Credentials, CertModeJavaSdkKeys) {
  CredentialsConfig config;
  config.app_id = "2021000000000001";
  config.app_private_key_path = Java("app.private.pkcs8.b64");
  config.app_cert_path = Java("app.crt");
  config.alipay_cert_path = Java("alipay.crt");
  config.root_cert_path = Java("root.crt");
  auto c = Credentials::Load(config);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->app_cert_sn(), "d87e621c0e3ed7a9a5ff5f4ba027a3a7");
  EXPECT_EQ(c->alipay_cert_sn(), "8bebf7fbd7acd128d485952d3ecb123a");
  EXPECT_EQ(c->alipay_root_cert_sn(), "68c421bb1f16ba923a290e15642d75bd");
  std::string spki = ReadFileOrFail(Java("alipay.public.spki.b64"));
  while (!spki.empty() && (spki.back() == '\n' || spki.back() == '\r')) spki.pop_back();
  EXPECT_EQ(c->alipay_public_key().ToBase64Spki(), spki);
  // Sign with Alipay's key (a test key pair), verify through the credentials.
  auto alipay_priv = PrivateKey::FromFile(Java("alipay.private.pkcs8.b64"));
  ASSERT_TRUE(alipay_priv.ok());
  auto sig = Sign(*alipay_priv, SignType::kRsa2, "msg");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(c->VerifyFromAlipay("msg", *sig, SignType::kRsa2, "UTF-8").ok());
}

TEST(Credentials, SwapsAndMismatchesAreNamed) {
  {
    auto c = NodeKeyMode();
    c.alipay_public_key_path = Node("app_public.pem");
    ExpectError(c, StatusCode::kInvalidArgument, "alipay-public-key is the app's own public key");
  }
  {
    auto c = NodeKeyMode();
    c.alipay_public_key_path = Node("alipay_private_pkcs1.pem");
    ExpectError(c, StatusCode::kInvalidArgument, "this is a private key, expected a public key");
  }
  {
    auto c = NodeKeyMode();
    c.alipay_public_key_path = Node("alipayCertPublicKey_RSA2_test.crt");
    ExpectError(c, StatusCode::kInvalidArgument, "this is a certificate, not a key");
  }
  {
    auto c = NodeKeyMode();
    c.app_private_key_path = Node("app_public.pem");
    ExpectError(c, StatusCode::kInvalidArgument, "app private key " + Node("app_public.pem") +
                                                     ": this is a public key, expected a private key");
  }
  {
    auto c = NodeKeyMode();
    c.app_private_key_path = Node("appCertPublicKey_2021000000000000.crt");
    ExpectError(c, StatusCode::kInvalidArgument, "this is a certificate, not a key");
  }
  {
    auto c = NodeKeyMode();
    c.app_private_key_path = "/nonexistent/app_private.pem";
    ExpectError(c, StatusCode::kNotFound, "/nonexistent/app_private.pem");
  }
  {
    auto c = NodeCertMode();
    c.app_private_key_path = Java("app.private.pkcs8.b64");  // another app's key
    ExpectError(c, StatusCode::kInvalidArgument, "does not match app certificate " + c.app_cert_path);
  }
  {
    auto c = NodeCertMode();
    c.alipay_cert_path = c.app_cert_path;
    ExpectError(c, StatusCode::kInvalidArgument, "alipay-cert-path holds the app's own certificate");
  }
  {
    auto c = NodeCertMode();
    std::swap(c.app_cert_path, c.alipay_cert_path);
    ExpectError(c, StatusCode::kInvalidArgument, "alipay-cert-path holds the app's own certificate");
  }
  {
    auto c = NodeCertMode();
    c.app_cert_path = c.root_cert_path;
    ExpectError(c, StatusCode::kInvalidArgument, "root certificate");
  }
  {
    auto c = NodeCertMode();
    c.root_cert_path = Node("app_private_pkcs8.pem");
    ExpectError(c, StatusCode::kInvalidArgument, "not a certificate");
  }
  {
    auto c = NodeCertMode();
    c.root_cert_path.clear();
    ExpectError(c, StatusCode::kInvalidArgument, "not set: root-cert-path");
  }
  {
    auto c = NodeCertMode();
    c.alipay_public_key_path = Node("alipay_public.pem");
    ExpectError(c, StatusCode::kInvalidArgument, "not both");
  }
  {
    auto c = NodeKeyMode();
    c.alipay_public_key_path.clear();
    ExpectError(c, StatusCode::kInvalidArgument, "alipay-public-key is not set");
  }
  {
    auto c = NodeKeyMode();
    c.sign_type = "rsa2";
    ExpectError(c, StatusCode::kInvalidArgument, "sign-type: invalid sign type \"rsa2\"");
  }
  {
    auto c = NodeKeyMode();
    c.sign_type = "SM2";
    ExpectError(c, StatusCode::kInvalidArgument, "needs an SM2 key");
  }
  {
    auto c = NodeKeyMode();
    c.charset = "NOPE-1";
    ExpectError(c, StatusCode::kInvalidArgument, "charset: unknown charset");
  }
  {
    auto c = NodeKeyMode();
    c.app_id.clear();
    ExpectError(c, StatusCode::kInvalidArgument, "app-id");
  }
}

TEST(Credentials, FromKeysAndCharset) {
  auto priv = PrivateKey::FromFile(Node("app_private_pkcs8.pem"));
  auto pub = PublicKey::FromFile(Node("app_public.pem"));
  ASSERT_TRUE(priv.ok() && pub.ok());
  Credentials c = Credentials::FromKeys("2021000000000000", SignType::kRsa2, *priv, *pub, "GBK");
  EXPECT_EQ(c.charset(), "GBK");
  EXPECT_FALSE(c.cert_mode());
  std::string content = testing::CryptoFixture("gbk_content.txt");
  auto sig = c.SignAsApp(content);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(*sig, testing::CryptoFixture("gbk_content.rsa2.sig"));
  EXPECT_TRUE(c.VerifyFromAlipay(content, *sig, SignType::kRsa2, "GBK").ok());
  EXPECT_EQ(c.VerifyFromAlipay(content, *sig, SignType::kRsa2, "UTF-8").code(), StatusCode::kSignatureMismatch);

  auto gbk_config = NodeKeyMode();
  gbk_config.charset = "GBK";
  auto loaded = Credentials::Load(gbk_config);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(*loaded->SignAsApp(content), *sig);
}

}  // namespace
}  // namespace alipaymsg
