// Keys, signatures, charsets: every signing vector of the Node and Java SDKs, plus SM2 and GBK.
#include <gtest/gtest.h>

#include "alipaymsg/crypto.h"
#include "crypto/vectors.h"

namespace alipaymsg {
namespace {

using testing::JavaSdkComputed;
using testing::NodeInput;
using testing::NodeVectorsOfKind;
using testing::ReadFileOrFail;
using testing::Str;
using testing::VectorPath;

PrivateKey LoadPrivateOrDie(const std::string& path) {
  auto key = PrivateKey::FromFile(path);
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  if (!key.ok()) throw std::runtime_error("cannot load " + path);
  return *key;
}

PublicKey LoadPublicOrDie(const std::string& path, bool allow_cert = false) {
  auto key = PublicKey::FromFile(path, allow_cert);
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  if (!key.ok()) throw std::runtime_error("cannot load " + path);
  return *key;
}

TEST(NodeSdkVectors, SignWithEveryKeyForm) {
  auto vectors = NodeVectorsOfKind("sign");
  ASSERT_EQ(vectors.size(), 6u);
  PublicKey app_public = LoadPublicOrDie(VectorPath("node-sdk/inputs/app_public.pem"));
  for (const auto& v : vectors) {
    SCOPED_TRACE(Str(v.at("id")));
    auto type = ParseSignType(Str(v.at("signType")));
    ASSERT_TRUE(type.ok());
    std::string content = ReadFileOrFail(NodeInput(v.at("inputs").at("stringFile")));
    ASSERT_FALSE(content.empty());
    std::string expected = Str(v.at("expected").at("signature"));
    const auto& key_files = v.at("inputs").at("keyFiles").as_array();
    ASSERT_EQ(key_files.size(), 4u);
    for (const auto& kf : key_files) {
      std::string path = NodeInput(kf.at("file"));
      SCOPED_TRACE(path);
      PrivateKey key = LoadPrivateOrDie(path);
      EXPECT_FALSE(key.is_sm2());
      EXPECT_EQ(key.bits(), 2048);
      auto sig = Sign(key, *type, content);
      ASSERT_TRUE(sig.ok()) << sig.status().ToString();
      EXPECT_EQ(*sig, expected);
    }
    EXPECT_TRUE(Verify(app_public, *type, content, expected).ok());
  }
}

TEST(NodeSdkVectors, RsaCheck) {
  auto vectors = NodeVectorsOfKind("rsa_check");
  ASSERT_EQ(vectors.size(), 2u);
  for (const auto& v : vectors) {
    SCOPED_TRACE(Str(v.at("id")));
    const auto& in = v.at("inputs").as_object();
    std::string content = ReadFileOrFail(NodeInput(in.at("stringFile")));
    std::string sig = ReadFileOrFail(NodeInput(in.at("signatureFile")));
    ASSERT_FALSE(sig.empty());
    std::vector<std::string> key_files;
    if (in.contains("publicKeyFiles")) {
      for (const auto& f : in.at("publicKeyFiles").as_array()) key_files.push_back(NodeInput(f));
    } else {
      key_files.push_back(NodeInput(in.at("publicKeyFile")));
    }
    // The id names the sign type the oracle used (see "command").
    std::string command = Str(v.at("command"));
    SignType type = command.find(" RSA2 ") != std::string::npos ? SignType::kRsa2 : SignType::kRsa;
    bool expected = Str(v.at("expected").at("result")) == "true";
    for (const auto& path : key_files) {
      SCOPED_TRACE(path);
      bool is_cert = path.size() > 4 && path.substr(path.size() - 4) == ".crt";
      PublicKey key = LoadPublicOrDie(path, /*allow_cert=*/is_cert);
      Status st = Verify(key, type, content, sig);
      if (expected) {
        EXPECT_TRUE(st.ok()) << st.ToString();
      } else {
        EXPECT_EQ(st.code(), StatusCode::kSignatureMismatch) << st.ToString();
      }
    }
  }
}

TEST(NodeSdkVectors, Aes) {
  auto vectors = NodeVectorsOfKind("aes");
  ASSERT_EQ(vectors.size(), 2u);
  for (const auto& v : vectors) {
    SCOPED_TRACE(Str(v.at("id")));
    std::string key = Str(v.at("key"));
    std::string plain = ReadFileOrFail(NodeInput(v.at("inputs").at("plaintextFile")));
    ASSERT_FALSE(plain.empty());
    std::string expected = Str(v.at("expected").at("ciphertext"));
    auto enc = AesEncrypt(key, plain);
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    EXPECT_EQ(*enc, expected);
    auto dec = AesDecrypt(key, expected);
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_EQ(*dec, plain);
    if (v.at("expected").as_object().contains("decrypted")) {
      EXPECT_EQ(*dec, Str(v.at("expected").at("decrypted")));
    }
    if (v.at("inputs").as_object().contains("ciphertextFile")) {
      std::string file_cipher = ReadFileOrFail(NodeInput(v.at("inputs").at("ciphertextFile")));
      auto dec2 = AesDecrypt(key, file_cipher);  // trailing newline in the file is whitespace
      ASSERT_TRUE(dec2.ok()) << dec2.status().ToString();
      EXPECT_EQ(*dec2, plain);
    }
  }
}

TEST(JavaSdkVectors, RegisterSignatures) {
  auto j = JavaSdkComputed();
  ASSERT_FALSE(j.empty());
  std::string content = Str(j.at("register_sign_content"));
  PrivateKey rsa2 = LoadPrivateOrDie(VectorPath("java-sdk/keys/sdk_test_RSA2EncryptorTest.private.pkcs8.b64"));
  PublicKey rsa2_pub = LoadPublicOrDie(VectorPath("java-sdk/keys/sdk_test_RSA2EncryptorTest.public.spki.b64"));
  auto sig = Sign(rsa2, SignType::kRsa2, content);
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_EQ(*sig, Str(j.at("register_sign_RSA2")));
  EXPECT_TRUE(Verify(rsa2_pub, SignType::kRsa2, content, *sig).ok());

  PrivateKey rsa1024 = LoadPrivateOrDie(VectorPath("java-sdk/keys/sdk_test_RSAEncryptorTest_1024.private.pkcs8.b64"));
  EXPECT_EQ(rsa1024.bits(), 1024);
  auto sig1 = Sign(rsa1024, SignType::kRsa, content);
  ASSERT_TRUE(sig1.ok()) << sig1.status().ToString();
  EXPECT_EQ(*sig1, Str(j.at("register_sign_RSA_1024key")));
}

TEST(JavaSdkVectors, ConsumeSignature) {
  auto j = JavaSdkComputed();
  ASSERT_FALSE(j.empty());
  std::string content = Str(j.at("consume_extracted_sign_content"));
  EXPECT_EQ(content, Str(j.at("consume_data_part")));
  PrivateKey rsa2 = LoadPrivateOrDie(VectorPath("java-sdk/keys/sdk_test_RSA2EncryptorTest.private.pkcs8.b64"));
  PublicKey rsa2_pub = LoadPublicOrDie(VectorPath("java-sdk/keys/sdk_test_RSA2EncryptorTest.public.spki.b64"));
  std::string expected = Str(j.at("consume_x_sign_RSA2"));
  auto sig = Sign(rsa2, SignType::kRsa2, content, "UTF-8");
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_EQ(*sig, expected);
  EXPECT_EQ(Verify(rsa2_pub, SignType::kRsa2, content, expected, "UTF-8").ok(),
            j.at("consume_verify_with_rsa2_public").as_bool());
  // One changed byte of the content (the Chinese text) must not verify.
  std::string tampered = content;
  tampered.replace(tampered.find("\xE4\xB8\xAD"), 3, "\xE4\xB8\xAE");
  EXPECT_EQ(Verify(rsa2_pub, SignType::kRsa2, tampered, expected).code(), StatusCode::kSignatureMismatch);
}

TEST(JavaSdkVectors, KeyFilesFormPairs) {
  struct Pair { const char* priv; const char* pub; };
  const Pair pairs[] = {
      {"app.private.pkcs8.b64", "app.public.spki.b64"},
      {"alipay.private.pkcs8.b64", "alipay.public.spki.b64"},
      {"sdk_test_RSA2EncryptorTest.private.pkcs8.b64", "sdk_test_RSA2EncryptorTest.public.spki.b64"},
  };
  std::vector<PrivateKey> privs;
  std::vector<PublicKey> pubs;
  for (const auto& p : pairs) {
    privs.push_back(LoadPrivateOrDie(VectorPath(std::string("java-sdk/keys/") + p.priv)));
    pubs.push_back(LoadPublicOrDie(VectorPath(std::string("java-sdk/keys/") + p.pub)));
    // SPKI base64 round-trips byte for byte (the file is exactly what the SDK uses as a key string).
    std::string file = ReadFileOrFail(VectorPath(std::string("java-sdk/keys/") + p.pub));
    while (!file.empty() && (file.back() == '\n' || file.back() == '\r')) file.pop_back();
    EXPECT_EQ(pubs.back().ToBase64Spki(), file);
  }
  for (size_t i = 0; i < privs.size(); ++i) {
    for (size_t k = 0; k < pubs.size(); ++k) {
      Status st = CheckKeyPair(privs[i], pubs[k]);
      if (i == k) {
        EXPECT_TRUE(st.ok()) << st.ToString();
      } else {
        EXPECT_FALSE(st.ok());
        EXPECT_NE(st.message().find("do not form a pair"), std::string::npos) << st.message();
      }
    }
  }
}

}  // namespace
}  // namespace alipaymsg
