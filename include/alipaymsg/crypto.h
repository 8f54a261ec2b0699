// Keys, signatures, base64, charsets and AES, as Alipay's SDKs use them (PROTOCOL.md §3, NOTIFY.md).
// Everything goes through OpenSSL 3 EVP; nothing here does I/O except the *File loaders.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "alipaymsg/status.h"

namespace alipaymsg {

// "RSA" = SHA1withRSA, "RSA2" = SHA256withRSA, "SM2" = SM3withSM2 (user id 1234567812345678, DER).
enum class SignType { kRsa, kRsa2, kSm2 };

// Exact, case-sensitive names as on the wire: "RSA", "RSA2", "SM2".
Result<SignType> ParseSignType(std::string_view name);
std::string_view ToString(SignType type);

// An app private key. Accepts PEM (PKCS#1 "RSA PRIVATE KEY", PKCS#8 "PRIVATE KEY", SM2 "EC PRIVATE KEY"
// or "SM2 PRIVATE KEY" as OpenSSL 3 labels it)
// or the bare base64 of PKCS#8 / PKCS#1 DER that Alipay's key tool writes (whitespace and line breaks
// tolerated). A certificate, a public key or garbage gives an error that says which it is.
class PrivateKey {
 public:
  // `origin` names where the text came from (a path, "config key app-private-key") for error messages.
  static Result<PrivateKey> FromText(std::string_view text, std::string_view origin = "private key");
  static Result<PrivateKey> FromFile(const std::string& path);

  bool is_sm2() const;
  int bits() const;
  // Opaque handle (EVP_PKEY*) for the crypto module's own use.
  void* native() const { return key_.get(); }

 private:
  explicit PrivateKey(std::shared_ptr<void> key) : key_(std::move(key)) {}
  PrivateKey(std::shared_ptr<void> key, std::shared_ptr<const void> prepared)
      : key_(std::move(key)), prepared_(std::move(prepared)) {}
  friend struct KeyAccess;
  std::shared_ptr<void> key_;  // EVP_PKEY, freed with EVP_PKEY_free
  // Signing contexts initialised once at load and copied per call (crypto-internal).
  std::shared_ptr<const void> prepared_;
};

// A public key: SubjectPublicKeyInfo or PKCS#1 RSAPublicKey, PEM or bare base64. FromText also
// accepts a PEM certificate when `allow_certificate` is true (the key of its first certificate).
class PublicKey {
 public:
  static Result<PublicKey> FromText(std::string_view text, std::string_view origin = "public key",
                                    bool allow_certificate = false);
  static Result<PublicKey> FromFile(const std::string& path, bool allow_certificate = false);

  // Standard base64 (with padding, no line breaks) of the DER SubjectPublicKeyInfo.
  std::string ToBase64Spki() const;
  bool is_sm2() const;
  void* native() const { return key_.get(); }

 private:
  explicit PublicKey(std::shared_ptr<void> key) : key_(std::move(key)) {}
  PublicKey(std::shared_ptr<void> key, std::shared_ptr<const void> prepared)
      : key_(std::move(key)), prepared_(std::move(prepared)) {}
  friend struct KeyAccess;
  std::shared_ptr<void> key_;  // EVP_PKEY
  // Verification contexts initialised once at load and copied per call (crypto-internal).
  std::shared_ptr<const void> prepared_;
};

// Signs the bytes of `content` (UTF-8 text) re-encoded in `charset` ("UTF-8", "GBK", ...;
// case-insensitive; empty = UTF-8). Returns standard base64.
Result<std::string> Sign(const PrivateKey& key, SignType type, std::string_view content,
                         std::string_view charset = "UTF-8");

// Ok when the signature verifies; kSignatureMismatch when it does not; another code when it could
// not be checked (bad base64, key of the wrong kind for `type`, unknown charset).
Status Verify(const PublicKey& key, SignType type, std::string_view content,
              std::string_view signature_base64, std::string_view charset = "UTF-8");

// Ok when the private key and the public key form a pair (sign-and-verify self-test); otherwise an
// error that says they do not match.
Status CheckKeyPair(const PrivateKey& private_key, const PublicKey& public_key);

// UTF-8 text to bytes in `charset` (through iconv); UTF-8 and empty charset return the input.
Result<std::string> EncodeCharset(std::string_view utf8_text, std::string_view charset);

std::string Base64Encode(std::string_view bytes);
// Strict standard base64 (padding optional, whitespace tolerated); anything else is kParseError.
Result<std::string> Base64Decode(std::string_view text);

// Lowercase hex MD5 of the bytes, 32 characters.
std::string Md5Hex(std::string_view bytes);

// AES-CBC, zero IV, PKCS#7, key = base64 of 16, 24 or 32 bytes (AES-128/192/256); ciphertext in base64.
Result<std::string> AesEncrypt(std::string_view key_base64, std::string_view plaintext);
Result<std::string> AesDecrypt(std::string_view key_base64, std::string_view ciphertext_base64);

}  // namespace alipaymsg
