// Key loading diagnostics, base64, MD5, AES edge cases, and signature-checking failure modes.
#include <gtest/gtest.h>

#include <fstream>

#include "alipaymsg/crypto.h"
#include "crypto/vectors.h"

namespace alipaymsg {
namespace {

using testing::ReadFileOrFail;
using testing::VectorPath;

std::string Input(const std::string& name) { return ReadFileOrFail(VectorPath("node-sdk/inputs/" + name)); }

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Base64, EncodeAndStrictDecode) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode(std::string("\xff\xfe\x00", 3)), "//4A");
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, s);
  }
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  EXPECT_EQ(*Base64Decode(Base64Encode(binary)), binary);

  EXPECT_EQ(*Base64Decode("Zg"), "f");  // padding optional
  EXPECT_EQ(*Base64Decode("Zm8"), "fo");
  EXPECT_EQ(*Base64Decode(" Zm9v\r\nYmFy \n"), "foobar");  // whitespace tolerated
  EXPECT_EQ(*Base64Decode("Zm9v\nYg==\n"), "foob");
  EXPECT_EQ(*Base64Decode("AAAA"), std::string(3, '\0'));  // zero bytes are data, not an end marker

  for (const char* bad : {"Zm9v!", "Zm9-", "Zm9_", "Z", "Zm9vY", "Zg=", "Zg===", "Z===", "Zg==Zg==", "=Zg",
                          "Zm9v\x80", "Zg=\n=x"}) {
    auto d = Base64Decode(bad);
    EXPECT_FALSE(d.ok()) << "accepted: " << bad;
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), StatusCode::kParseError);
    }
  }
}

TEST(Md5, KnownDigests) {
  EXPECT_EQ(Md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Md5Hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  // PROTOCOL.md §2.3 worked example (also checked there with md5sum).
  EXPECT_EQ(Md5Hex("CN=Ant Financial Certification Authority Class 2 R1,OU=Certification Authority,"
                   "O=Ant Financial,C=CN42665287695059973067612265679949416627"),
            "11b1abe5035f1498e334be6fc2d4943a");
  // A digest with leading zero nibbles keeps its 32 characters.
  EXPECT_EQ(Md5Hex("363").size(), 32u);
}

TEST(Aes, BadKeysAndCiphertexts) {
  const std::string key = "aYA0GP8JEW+D7/UFaskCWA==";
  EXPECT_EQ(AesEncrypt("short", "x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AesEncrypt(Base64Encode(std::string(15, 'k')), "x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AesEncrypt("not base64!", "x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(AesEncrypt(Base64Encode(std::string(24, 'k')), "x").ok());  // AES-192 also works
  // Empty plaintext still yields one padding block.
  auto empty = AesEncrypt(key, "");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(Base64Decode(*empty)->size(), 16u);
  EXPECT_EQ(*AesDecrypt(key, *empty), "");
  EXPECT_EQ(AesDecrypt(key, "%%%").status().code(), StatusCode::kParseError);
  EXPECT_EQ(AesDecrypt(key, Base64Encode("0123456789")).status().code(), StatusCode::kParseError);
  EXPECT_EQ(AesDecrypt(key, "").status().code(), StatusCode::kParseError);
  // The right length under the wrong key: bad padding (overwhelmingly likely), reported as such.
  auto wrong = AesDecrypt(Base64Encode(std::string(16, 'w')), "HJjZXDcVHUcOrByocVgEmqiBf6+WKSVheVcLQ90+bPStkT75P6M/uq/HuT1GY2HM30Lb3Brg8L6AjVTsdHDoNg==");
  ASSERT_FALSE(wrong.ok());
  EXPECT_TRUE(Contains(wrong.status().message(), "padding")) << wrong.status().message();
}

TEST(PrivateKeyLoading, DiagnosesWrongKinds) {
  struct Case { std::string text; std::string origin; StatusCode code; std::string says; };
  const Case cases[] = {
      {Input("app_public.pem"), "app_public.pem", StatusCode::kInvalidArgument, "this is a public key, expected a private key"},
      {Input("alipay_public_bare.txt"), "alipay_public_bare.txt", StatusCode::kInvalidArgument, "this is a public key, expected a private key"},
      {Input("appCertPublicKey_2021000000000000.crt"), "app.crt", StatusCode::kInvalidArgument, "this is a certificate, not a key"},
      {Input("alipayRootCert_test.crt"), "root.crt", StatusCode::kInvalidArgument, "this is a certificate, not a key"},
      {"hello, world: this is not a key!", "garbage.txt", StatusCode::kParseError, "not PEM and not base64"},
      {"SGVsbG8gd29ybGQ=", "hello.b64", StatusCode::kParseError, "not a PKCS#8 or PKCS#1 key"},
      {"", "empty.pem", StatusCode::kInvalidArgument, "is empty"},
      {" \n\r\n", "blank.pem", StatusCode::kInvalidArgument, "is empty"},
      {"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n", "truncated.pem", StatusCode::kParseError, "no END line"},
      {"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n", "short.pem", StatusCode::kParseError, "does not hold a valid key"},
      {"-----BEGIN PRIVATE KEY-----\nMIIE*vQIB\n-----END PRIVATE KEY-----\n", "bad64.pem", StatusCode::kParseError, "not valid base64"},
      {"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n", "enc.pem", StatusCode::kParseError, "encrypted"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.origin);
    auto key = PrivateKey::FromText(c.text, c.origin);
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.status().code(), c.code) << key.status().ToString();
    EXPECT_TRUE(Contains(key.status().message(), c.says)) << key.status().message();
    EXPECT_EQ(key.status().message().rfind(c.origin + ": ", 0), 0u) << key.status().message();
  }
}

TEST(PrivateKeyLoading, TruncatedBareKeyIsNotAKey) {
  std::string bare = Input("app_private_pkcs8_bare.txt");
  ASSERT_GT(bare.size(), 200u);
  std::string cut = bare.substr(0, bare.size() / 2);
  cut.resize(cut.size() / 4 * 4);
  auto key = PrivateKey::FromText(cut, "cut");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kParseError);
}

// One DER SEQUENCE and nothing after it: a key with bytes appended is refused (keys.cpp checks the
// outer length before it asks OpenSSL's decoders), for private and public keys alike.
TEST(PrivateKeyLoading, KeyWithTrailingBytesIsNotAKey) {
  for (const char* file : {"app_private_pkcs8_bare.txt", "alipay_public_bare.txt"}) {
    SCOPED_TRACE(file);
    auto der = Base64Decode(Input(file));
    ASSERT_TRUE(der.ok());
    ASSERT_TRUE(PrivateKey::FromText(Input(file), file).ok() || PublicKey::FromText(Input(file), file).ok());
    const std::string longer = Base64Encode(*der + std::string("\0\0", 2));
    EXPECT_EQ(PrivateKey::FromText(longer, file).status().code(), StatusCode::kParseError);
    EXPECT_EQ(PublicKey::FromText(longer, file).status().code(), StatusCode::kParseError);
    const std::string not_a_sequence = Base64Encode("\x04\x02" + std::string("ab"));
    EXPECT_EQ(PublicKey::FromText(not_a_sequence, file).status().code(), StatusCode::kParseError);
  }
}

TEST(PrivateKeyLoading, ToleratesLayoutVariants) {
  std::string bare = Input("app_private_pkcs8_bare.txt");
  std::string wrapped;
  for (size_t i = 0; i < bare.size(); i += 64) wrapped += bare.substr(i, 64) + "\r\n";
  std::string pem = Input("app_private_pkcs1.pem");
  std::string crlf_pem;
  for (char c : pem) {
    if (c == '\n') crlf_pem += '\r';
    crlf_pem += c;
  }
  for (const std::string& text : {wrapped, "  " + bare + "  \n", crlf_pem, "\xEF\xBB\xBF" + pem,
                                  "some comment before the armour\n" + pem}) {
    auto key = PrivateKey::FromText(text, "variant");
    EXPECT_TRUE(key.ok()) << key.status().ToString();
  }
  // An encrypted PKCS#8 gets its own message.
  std::string enc_pem = testing::CryptoFixture("encrypted_pkcs8.pem");
  auto enc = PrivateKey::FromText(enc_pem, "enc8.pem");
  ASSERT_FALSE(enc.ok());
  EXPECT_TRUE(Contains(enc.status().message(), "password-encrypted")) << enc.status().message();
  // An EC key on a curve Alipay does not use is refused by name.
  auto p256 = PrivateKey::FromText(testing::CryptoFixture("p256_private.pem"), "p256.pem");
  ASSERT_FALSE(p256.ok());
  EXPECT_TRUE(Contains(p256.status().message(), "prime256v1")) << p256.status().message();
}

TEST(PrivateKeyLoading, FromFileNamesThePath) {
  auto missing = PrivateKey::FromFile("/nonexistent/dir/app.key");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(missing.status().message(), "/nonexistent/dir/app.key"));

  std::string path = testing::MakeTempDir("crypto-keys") + "/wrong.pem";
  std::ofstream(path) << Input("app_public.pem");
  auto wrong = PrivateKey::FromFile(path);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(), path + ": this is a public key, expected a private key");
}

TEST(PublicKeyLoading, FormsAndDiagnostics) {
  auto pem = PublicKey::FromText(Input("alipay_public.pem"), "pem");
  auto bare = PublicKey::FromText(Input("alipay_public_bare.txt"), "bare");
  ASSERT_TRUE(pem.ok() && bare.ok());
  EXPECT_EQ(pem->ToBase64Spki(), bare->ToBase64Spki());
  EXPECT_FALSE(pem->is_sm2());

  // PKCS#1 RSAPublicKey PEM ("RSA PUBLIC KEY") loads to the same key.
  auto pkcs1 = PublicKey::FromText(testing::CryptoFixture("alipay_public_pkcs1.pem"), "pkcs1");
  ASSERT_TRUE(pkcs1.ok()) << pkcs1.status().ToString();
  EXPECT_EQ(pkcs1->ToBase64Spki(), pem->ToBase64Spki());

  // A certificate only where allowed.
  std::string cert = Input("alipayCertPublicKey_RSA2_test.crt");
  auto refused = PublicKey::FromText(cert, "alipay.crt");
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(Contains(refused.status().message(), "this is a certificate, not a key")) << refused.status().message();
  auto from_cert = PublicKey::FromText(cert, "alipay.crt", /*allow_certificate=*/true);
  ASSERT_TRUE(from_cert.ok()) << from_cert.status().ToString();
  EXPECT_EQ(from_cert->ToBase64Spki(), pem->ToBase64Spki());

  auto priv = PublicKey::FromText(Input("app_private_pkcs8_bare.txt"), "priv.txt");
  ASSERT_FALSE(priv.ok());
  EXPECT_EQ(priv.status().message(), "priv.txt: this is a private key, expected a public key");
  auto priv_pem = PublicKey::FromText(Input("app_private_pkcs1.pem"), "priv.pem");
  ASSERT_FALSE(priv_pem.ok());
  EXPECT_TRUE(Contains(priv_pem.status().message(), "this is a private key"));
  auto garbage = PublicKey::FromText("MIIB#garbage", "g");
  ASSERT_FALSE(garbage.ok());
  EXPECT_TRUE(Contains(garbage.status().message(), "not PEM and not base64"));
}

TEST(Verify, CouldNotCheckIsNotMismatch) {
  auto key = PrivateKey::FromText(Input("app_private_pkcs1.pem"));
  auto pub = PublicKey::FromText(Input("app_public.pem"));
  auto other_pub = PublicKey::FromText(Input("alipay_public.pem"));
  ASSERT_TRUE(key.ok() && pub.ok() && other_pub.ok());
  const std::string content = "a=1&b=2";
  auto sig = Sign(*key, SignType::kRsa2, content);
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(Verify(*pub, SignType::kRsa2, content, *sig).ok());
  // Signature whitespace (line-wrapped base64) is tolerated.
  std::string wrapped = sig->substr(0, 76) + "\n" + sig->substr(76);
  EXPECT_TRUE(Verify(*pub, SignType::kRsa2, content, wrapped).ok());

  EXPECT_EQ(Verify(*pub, SignType::kRsa, content, *sig).code(), StatusCode::kSignatureMismatch);
  EXPECT_EQ(Verify(*other_pub, SignType::kRsa2, content, *sig).code(), StatusCode::kSignatureMismatch);
  EXPECT_EQ(Verify(*pub, SignType::kRsa2, content + "&c=3", *sig).code(), StatusCode::kSignatureMismatch);
  std::string flipped = *sig;
  flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Verify(*pub, SignType::kRsa2, content, flipped).code(), StatusCode::kSignatureMismatch);
  // Wrong length but valid base64: checked, does not verify.
  EXPECT_EQ(Verify(*pub, SignType::kRsa2, content, Base64Encode("short")).code(), StatusCode::kSignatureMismatch);

  Status bad64 = Verify(*pub, SignType::kRsa2, content, "not*base64");
  EXPECT_EQ(bad64.code(), StatusCode::kParseError) << bad64.ToString();
  EXPECT_EQ(Verify(*pub, SignType::kRsa2, content, "").code(), StatusCode::kParseError);
  EXPECT_EQ(Sign(*key, SignType::kRsa2, "").status().code(), StatusCode::kInvalidArgument);
}

TEST(SignType, Names) {
  EXPECT_EQ(*ParseSignType("RSA"), SignType::kRsa);
  EXPECT_EQ(*ParseSignType("RSA2"), SignType::kRsa2);
  EXPECT_EQ(*ParseSignType("SM2"), SignType::kSm2);
  for (const char* bad : {"rsa2", "RSA256", "", "SM3", " RSA2"}) {
    auto t = ParseSignType(bad);
    EXPECT_FALSE(t.ok()) << bad;
  }
  EXPECT_EQ(ToString(SignType::kRsa), "RSA");
  EXPECT_EQ(ToString(SignType::kRsa2), "RSA2");
  EXPECT_EQ(ToString(SignType::kSm2), "SM2");
}

}  // namespace
}  // namespace alipaymsg
