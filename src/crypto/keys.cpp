// Loading private and public keys from every text form users bring, with errors that say what the
// text actually is when it is not the expected kind of key.
#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "alipaymsg/crypto.h"
#include "crypto/internal.h"

namespace alipaymsg {
namespace crypto_internal {

std::string DescribeKey(const EVP_PKEY* key) {
  if (key == nullptr) return "no key";
  if (EVP_PKEY_is_a(key, "SM2")) return "SM2";
  if (EVP_PKEY_is_a(key, "RSA")) return "RSA-" + std::to_string(EVP_PKEY_get_bits(key));
  const char* name = EVP_PKEY_get0_type_name(key);
  std::string out = name != nullptr ? name : "unknown";
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[80] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1) out += " (curve " + std::string(group) + ")";
  }
  return out;
}

X509Ptr ParseCertificateDer(std::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert && p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) cert.reset();
  ERR_clear_error();
  return cert;
}

namespace {

// Decodes exactly `der` with one decoder structure; nullptr when it is not that structure.
PkeyPtr DecodeDer(std::string_view der, const char* structure, const char* keytype, int selection) {
  EVP_PKEY* pkey = nullptr;
  OSSL_DECODER_CTX* dctx =
      OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", structure, keytype, selection, nullptr, nullptr);
  if (dctx == nullptr) {
    ERR_clear_error();
    return nullptr;
  }
  const unsigned char* data = reinterpret_cast<const unsigned char*>(der.data());
  size_t len = der.size();
  int ok = OSSL_DECODER_from_data(dctx, &data, &len);
  OSSL_DECODER_CTX_free(dctx);
  ERR_clear_error();
  if (ok != 1 || len != 0 || pkey == nullptr) {
    EVP_PKEY_free(pkey);
    return nullptr;
  }
  return PkeyPtr(pkey);
}

enum class DerKind { kUnknown, kPrivateKey, kPublicKey, kCertificate, kEncryptedPrivateKey };

struct Classified {
  DerKind kind = DerKind::kUnknown;
  PkeyPtr key;  // private or public key (for a certificate: its public key)
  X509Ptr cert;
};

// Every key form below is one SEQUENCE covering all of `der` (DecodeDer insists on that too).
// Checking it first is cheap, while the six decoder contexts built for bytes that are no key cost
// about 60 % of the certificate fuzzer's time. Indefinite lengths are left to the decoders.
bool MayBeKeyDer(std::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  long length = 0;
  int tag = 0;
  int tag_class = 0;
  const int r = ASN1_get_object(&p, &length, &tag, &tag_class, static_cast<long>(der.size()));
  ERR_clear_error();
  if ((r & 0x80) != 0 || tag != V_ASN1_SEQUENCE || tag_class != V_ASN1_UNIVERSAL || (r & V_ASN1_CONSTRUCTED) == 0) {
    return false;
  }
  if ((r & 0x01) != 0) return true;
  return p + length == reinterpret_cast<const unsigned char*>(der.data()) + der.size();
}

Classified ClassifyDer(std::string_view der) {
  Classified c;
  if (MayBeKeyDer(der)) {
    // PKCS#8 PrivateKeyInfo first (what Alipay's key tool writes), then the traditional forms.
    struct Form { const char* structure; const char* keytype; };
    static constexpr Form kPrivateForms[] = {
        {"PrivateKeyInfo", nullptr}, {"type-specific", "RSA"}, {"type-specific", "SM2"}, {"type-specific", "EC"}};
    for (const Form& f : kPrivateForms) {
      if ((c.key = DecodeDer(der, f.structure, f.keytype, EVP_PKEY_KEYPAIR))) {
        c.kind = DerKind::kPrivateKey;
        return c;
      }
    }
    static constexpr Form kPublicForms[] = {{"SubjectPublicKeyInfo", nullptr}, {"type-specific", "RSA"}};
    for (const Form& f : kPublicForms) {
      if ((c.key = DecodeDer(der, f.structure, f.keytype, EVP_PKEY_PUBLIC_KEY))) {
        c.kind = DerKind::kPublicKey;
        return c;
      }
    }
  }
  if ((c.cert = ParseCertificateDer(der))) {
    c.kind = DerKind::kCertificate;
    c.key.reset(X509_get_pubkey(c.cert.get()));
    ERR_clear_error();
    return c;
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_SIG* sig = d2i_X509_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig != nullptr) {
    X509_SIG_free(sig);
    c.kind = DerKind::kEncryptedPrivateKey;
  }
  ERR_clear_error();
  return c;
}

std::string_view StripBom(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  return text;
}

bool IsBlank(std::string_view text) {
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

// The DER the text holds: the first PEM block (EC PARAMETERS blocks skipped) or the bare base64.
// `label` gets the PEM label ("" for bare base64).
Result<std::string> TextToDer(std::string_view text, std::string_view origin, std::string* label) {
  text = StripBom(text);
  if (IsBlank(text)) return InvalidArgument(std::string(origin) + ": is empty");
  if (LooksLikePem(text)) {
    auto blocks = ReadPemBlocks(text);
    if (!blocks.ok()) return blocks.status().WithContext(origin);
    for (auto& b : *blocks) {
      if (b.label == "EC PARAMETERS" || b.label == "SM2 PARAMETERS") continue;
      *label = b.label;
      return std::move(b.der);
    }
    return ParseError(std::string(origin) + ": the PEM text holds no key block");
  }
  label->clear();
  auto der = Base64Decode(text);
  if (!der.ok()) {
    return ParseError(std::string(origin) + ": not PEM and not base64 (" + der.status().message() + ")");
  }
  if (der->empty()) return InvalidArgument(std::string(origin) + ": is empty");
  return der;
}

std::string WhatItHolds(std::string_view label, size_t der_size) {
  if (label.empty()) {
    return "the base64 text decodes to " + std::to_string(der_size) +
           " bytes that are not a PKCS#8 or PKCS#1 key, a public key or a certificate";
  }
  return "the PEM block \"" + std::string(label) + "\" does not hold a valid key or certificate";
}

}  // namespace

namespace {

// What private and public keys share: only RSA and SM2 keys, with their OpenSSL contexts prepared
// once. `make` wraps the key and contexts in the right class.
template <typename Key, typename Make>
Result<Key> MakeKey(PkeyPtr key, std::string_view origin, bool for_sign, Make make) {
  if (!EVP_PKEY_is_a(key.get(), "RSA") && !EVP_PKEY_is_a(key.get(), "SM2")) {
    return InvalidArgument(std::string(origin) + ": this is an " + DescribeKey(key.get()) +
                           (for_sign ? " private" : " public") +
                           " key; Alipay signs with RSA (RSA/RSA2) or SM2 keys");
  }
  auto prepared = PrepareContexts(key.get(), for_sign);
  if (!prepared.ok()) return prepared.status().WithContext(origin);
  EVP_PKEY* raw = key.release();
  return make(std::shared_ptr<void>(raw, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); }),
              std::move(*prepared));
}

}  // namespace

Result<PrivateKey> MakePrivateKey(PkeyPtr key, std::string_view origin) {
  return MakeKey<PrivateKey>(std::move(key), origin, /*for_sign=*/true, [](auto k, auto contexts) {
    return KeyAccess::NewPrivate(std::move(k), std::move(contexts));
  });
}

Result<PublicKey> MakePublicKey(PkeyPtr key, std::string_view origin) {
  return MakeKey<PublicKey>(std::move(key), origin, /*for_sign=*/false, [](auto k, auto contexts) {
    return KeyAccess::NewPublic(std::move(k), std::move(contexts));
  });
}

}  // namespace crypto_internal

using namespace crypto_internal;

Result<PrivateKey> PrivateKey::FromText(std::string_view text, std::string_view origin) {
  std::string label;
  auto der = TextToDer(text, origin, &label);
  if (!der.ok()) return der.status();
  Classified c = ClassifyDer(*der);
  std::string o(origin);
  switch (c.kind) {
    case DerKind::kPrivateKey:
      return MakePrivateKey(std::move(c.key), origin);
    case DerKind::kPublicKey:
      return InvalidArgument(o + ": this is a public key, expected a private key");
    case DerKind::kCertificate:
      return InvalidArgument(o + ": this is a certificate, not a key; expected a private key");
    case DerKind::kEncryptedPrivateKey:
      return InvalidArgument(o + ": this is a password-encrypted private key; export it unencrypted "
                                 "(openssl pkcs8 -topk8 -nocrypt)");
    case DerKind::kUnknown:
      break;
  }
  return ParseError(o + ": " + WhatItHolds(label, der->size()));
}

Result<PrivateKey> PrivateKey::FromFile(const std::string& path) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  return FromText(*text, path);
}

bool PrivateKey::is_sm2() const { return EVP_PKEY_is_a(static_cast<const EVP_PKEY*>(key_.get()), "SM2") == 1; }
int PrivateKey::bits() const { return EVP_PKEY_get_bits(static_cast<const EVP_PKEY*>(key_.get())); }

Result<PublicKey> PublicKey::FromText(std::string_view text, std::string_view origin, bool allow_certificate) {
  std::string label;
  auto der = TextToDer(text, origin, &label);
  if (!der.ok()) return der.status();
  Classified c = ClassifyDer(*der);
  std::string o(origin);
  switch (c.kind) {
    case DerKind::kPublicKey:
      return MakePublicKey(std::move(c.key), origin);
    case DerKind::kCertificate:
      if (!allow_certificate) {
        return InvalidArgument(o + ": this is a certificate, not a key; expected a public key "
                                   "(certificates belong in the certificate settings of cert mode)");
      }
      if (!c.key) return ParseError(o + ": the certificate's public key cannot be decoded");
      return MakePublicKey(std::move(c.key), origin);
    case DerKind::kPrivateKey:
      return InvalidArgument(o + ": this is a private key, expected a public key");
    case DerKind::kEncryptedPrivateKey:
      return InvalidArgument(o + ": this is a password-encrypted private key, expected a public key");
    case DerKind::kUnknown:
      break;
  }
  return ParseError(o + ": " + WhatItHolds(label, der->size()));
}

Result<PublicKey> PublicKey::FromFile(const std::string& path, bool allow_certificate) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  return FromText(*text, path, allow_certificate);
}

std::string PublicKey::ToBase64Spki() const {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(static_cast<EVP_PKEY*>(key_.get()), &der);
  if (len <= 0) {
    ERR_clear_error();
    return "";
  }
  std::string out = Base64Encode(std::string_view(reinterpret_cast<const char*>(der), static_cast<size_t>(len)));
  OPENSSL_free(der);
  return out;
}

bool PublicKey::is_sm2() const { return EVP_PKEY_is_a(static_cast<const EVP_PKEY*>(key_.get()), "SM2") == 1; }

}  // namespace alipaymsg
