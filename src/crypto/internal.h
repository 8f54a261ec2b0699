// Shared between the crypto module's translation units only (not installed, not public).
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "alipaymsg/crypto.h"
#include "alipaymsg/status.h"

namespace alipaymsg {

namespace crypto_internal {

struct EvpPkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct EvpMdCtxFree { void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } };
struct EvpPkeyCtxFree { void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
using PkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

// The last OpenSSL error as text ("" when the queue is empty); clears the queue.
std::string TakeOpenSslError();

// One PEM block: its label ("CERTIFICATE", "PRIVATE KEY", ...), decoded body, 1-based line of BEGIN.
struct PemBlock {
  std::string label;
  std::string der;
  int line = 0;
};
// Whether `text` contains a PEM armour line at all.
bool LooksLikePem(std::string_view text);
// Every PEM block, in order. LF or CRLF. A block without END, or whose body is not base64, is an
// error naming the block's position.
Result<std::vector<PemBlock>> ReadPemBlocks(std::string_view text);

// Reads a whole file; NotFound / IoError naming the path.
Result<std::string> ReadWholeFile(const std::string& path);

// Wraps an EVP_PKEY (ownership taken) into the public types, building their cached contexts.
Result<PrivateKey> MakePrivateKey(PkeyPtr key, std::string_view origin);
Result<PublicKey> MakePublicKey(PkeyPtr key, std::string_view origin);

// Parses DER as a certificate (the whole input must be consumed). nullptr when it is not one.
X509Ptr ParseCertificateDer(std::string_view der);

// Per-key EVP_MD_CTX templates, initialised once (digest and, for SM2, the user id set) and copied
// per call. `for_sign` selects DigestSign vs DigestVerify. Keys must be RSA or SM2.
Result<std::shared_ptr<const void>> PrepareContexts(EVP_PKEY* key, bool for_sign);

// "RSA-2048", "SM2", "EC (prime256v1)"... for messages.
std::string DescribeKey(const EVP_PKEY* key);

}  // namespace crypto_internal

// Befriended by PrivateKey / PublicKey: the crypto module's way to build them.
struct KeyAccess {
  static PrivateKey NewPrivate(std::shared_ptr<void> key, std::shared_ptr<const void> prepared) {
    return PrivateKey(std::move(key), std::move(prepared));
  }
  static PublicKey NewPublic(std::shared_ptr<void> key, std::shared_ptr<const void> prepared) {
    return PublicKey(std::move(key), std::move(prepared));
  }
  static const void* Prepared(const PrivateKey& k) { return k.prepared_.get(); }
  static const void* Prepared(const PublicKey& k) { return k.prepared_.get(); }
};

}  // namespace alipaymsg
