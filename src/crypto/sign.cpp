// Signing and verification (SHA1withRSA, SHA256withRSA, SM3withSM2) over text in a charset.
// Hot path: Verify runs for every message, so each key carries EVP_MD_CTX templates initialised once
// at load (digest fetched, key exported to the provider, SM2 user id set); a call only copies one.
#include <iconv.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "alipaymsg/crypto.h"
#include "crypto/internal.h"

namespace alipaymsg {
namespace crypto_internal {
namespace {

// GB/T 32918 default distinguishing identifier, as BouncyCastle's SM2Signer and Alipay use it.
constexpr char kSm2UserId[] = "1234567812345678";

struct Prepared {
  MdCtxPtr sha1;    // RSA keys
  MdCtxPtr sha256;  // RSA keys
  MdCtxPtr sm3;     // SM2 keys
};

Result<MdCtxPtr> InitTemplate(EVP_PKEY* key, const char* md_name, bool for_sign, bool sm2) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return Internal("out of memory");
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  int ok = for_sign ? EVP_DigestSignInit_ex(ctx.get(), &pctx, md_name, nullptr, nullptr, key, nullptr)
                    : EVP_DigestVerifyInit_ex(ctx.get(), &pctx, md_name, nullptr, nullptr, key, nullptr);
  if (ok != 1) {
    return CryptoError(std::string("cannot initialise ") + md_name + " " + (for_sign ? "signing" : "verification") +
                       " with this " + DescribeKey(key) + " key: " + TakeOpenSslError());
  }
  if (sm2 && EVP_PKEY_CTX_set1_id(pctx, kSm2UserId, sizeof kSm2UserId - 1) != 1) {
    return CryptoError("cannot set the SM2 user id: " + TakeOpenSslError());
  }
  // The working copies are finalised once and thrown away: let Final skip its internal dup.
  EVP_MD_CTX_set_flags(ctx.get(), EVP_MD_CTX_FLAG_FINALISE);
  return ctx;
}

const Prepared& PreparedOf(const void* p) { return *static_cast<const Prepared*>(p); }

const EVP_MD_CTX* TemplateFor(const Prepared& prepared, SignType type) {
  switch (type) {
    case SignType::kRsa: return prepared.sha1.get();
    case SignType::kRsa2: return prepared.sha256.get();
    case SignType::kSm2: return prepared.sm3.get();
  }
  return nullptr;
}

// A per-thread working context, reset after every use so it keeps no key alive.
class WorkCtx {
 public:
  WorkCtx() : ctx_(Get()) {}
  ~WorkCtx() { EVP_MD_CTX_reset(ctx_); }
  EVP_MD_CTX* get() const { return ctx_; }

 private:
  static EVP_MD_CTX* Get() {
    thread_local MdCtxPtr ctx(EVP_MD_CTX_new());
    return ctx.get();
  }
  EVP_MD_CTX* ctx_;
};

bool IsUtf8Charset(std::string_view cs) {
  if (cs.empty()) return true;
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  std::string l;
  for (char c : cs) l.push_back(lower(c));
  return l == "utf-8" || l == "utf8";
}

// Length of the UTF-8 sequence starting with `lead` (1 for an invalid lead byte).
size_t Utf8SeqLen(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

// Cached iconv descriptors per thread (iconv_t is not thread-safe; opening one loads gconv modules).
iconv_t IconvFor(const std::string& charset) {
  struct Entry {
    std::string name;
    iconv_t cd;
  };
  struct Cache {
    std::vector<Entry> entries;
    ~Cache() {
      for (auto& e : entries) iconv_close(e.cd);
    }
  };
  thread_local Cache cache;
  for (auto& e : cache.entries) {
    if (e.name == charset) return e.cd;
  }
  iconv_t cd = iconv_open(charset.c_str(), "UTF-8");
  if (cd == reinterpret_cast<iconv_t>(-1)) return cd;
  if (cache.entries.size() >= 8) {
    iconv_close(cache.entries.front().cd);
    cache.entries.erase(cache.entries.begin());
  }
  cache.entries.push_back({charset, cd});
  return cd;
}

Status CheckKeyFitsType(const EVP_PKEY* key, SignType type, std::string_view what) {
  bool sm2_key = EVP_PKEY_is_a(key, "SM2") == 1;
  bool want_sm2 = type == SignType::kSm2;
  if (sm2_key != want_sm2) {
    return InvalidArgument("sign type " + std::string(ToString(type)) + " needs " + (want_sm2 ? "an SM2" : "an RSA") +
                           " key, but the " + std::string(what) + " is " + DescribeKey(key));
  }
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<const void>> PrepareContexts(EVP_PKEY* key, bool for_sign) {
  auto prepared = std::make_shared<Prepared>();
  if (EVP_PKEY_is_a(key, "SM2")) {
    auto sm3 = InitTemplate(key, "SM3", for_sign, true);
    if (!sm3.ok()) return sm3.status();
    prepared->sm3 = std::move(*sm3);
  } else {
    auto sha1 = InitTemplate(key, "SHA1", for_sign, false);
    if (!sha1.ok()) return sha1.status();
    auto sha256 = InitTemplate(key, "SHA256", for_sign, false);
    if (!sha256.ok()) return sha256.status();
    prepared->sha1 = std::move(*sha1);
    prepared->sha256 = std::move(*sha256);
  }
  return std::shared_ptr<const void>(std::move(prepared));
}

}  // namespace crypto_internal

using namespace crypto_internal;

Result<SignType> ParseSignType(std::string_view name) {
  if (name == "RSA") return SignType::kRsa;
  if (name == "RSA2") return SignType::kRsa2;
  if (name == "SM2") return SignType::kSm2;
  return InvalidArgument("invalid sign type \"" + std::string(name) + "\" (expected RSA, RSA2 or SM2)");
}

std::string_view ToString(SignType type) {
  switch (type) {
    case SignType::kRsa: return "RSA";
    case SignType::kRsa2: return "RSA2";
    case SignType::kSm2: return "SM2";
  }
  return "?";
}

Result<std::string> EncodeCharset(std::string_view utf8_text, std::string_view charset) {
  if (IsUtf8Charset(charset)) return std::string(utf8_text);
  std::string name(charset);
  iconv_t cd = IconvFor(name);
  if (cd == reinterpret_cast<iconv_t>(-1)) return InvalidArgument("unknown charset \"" + name + "\"");
  iconv(cd, nullptr, nullptr, nullptr, nullptr);  // reset shift state
  std::string out(utf8_text.size() * 2 + 16, '\0');
  char* in_ptr = const_cast<char*>(utf8_text.data());
  size_t in_left = utf8_text.size();
  size_t out_pos = 0;
  auto grow = [&] { out.resize(out.size() * 2); };
  while (true) {
    char* out_ptr = out.data() + out_pos;
    size_t out_left = out.size() - out_pos;
    size_t r = in_left == 0 ? iconv(cd, nullptr, nullptr, &out_ptr, &out_left)  // flush
                            : iconv(cd, &in_ptr, &in_left, &out_ptr, &out_left);
    int err = errno;
    out_pos = static_cast<size_t>(out_ptr - out.data());
    if (r != static_cast<size_t>(-1)) {
      if (in_left == 0) {
        // Converted everything; one more call flushes a stateful encoding's shift sequence.
        out_ptr = out.data() + out_pos;
        out_left = out.size() - out_pos;
        if (iconv(cd, nullptr, nullptr, &out_ptr, &out_left) == static_cast<size_t>(-1) && errno == E2BIG) {
          grow();
          continue;
        }
        out_pos = static_cast<size_t>(out_ptr - out.data());
        break;
      }
      continue;
    }
    if (err == E2BIG) {
      grow();
      continue;
    }
    if (err == EILSEQ || err == EINVAL) {
      // Java's String.getBytes(charset) replaces what the charset cannot encode with '?'.
      size_t skip = std::min(Utf8SeqLen(static_cast<unsigned char>(*in_ptr)), in_left);
      in_ptr += skip;
      in_left -= skip;
      if (out_pos + 1 > out.size()) grow();
      out[out_pos++] = '?';
      continue;
    }
    return Internal("iconv to " + name + " failed: " + std::strerror(err));
  }
  out.resize(out_pos);
  return out;
}

Result<std::string> Sign(const PrivateKey& key, SignType type, std::string_view content, std::string_view charset) {
  const EVP_PKEY* pkey = static_cast<const EVP_PKEY*>(key.native());
  if (pkey == nullptr || KeyAccess::Prepared(key) == nullptr) return InvalidArgument("no private key");
  ALIPAYMSG_RETURN_IF_ERROR(CheckKeyFitsType(pkey, type, "app private key"));
  if (content.empty()) return InvalidArgument("refusing to sign empty content");
  auto bytes = EncodeCharset(content, charset);
  if (!bytes.ok()) return bytes.status();

  WorkCtx work;
  if (EVP_MD_CTX_copy_ex(work.get(), TemplateFor(PreparedOf(KeyAccess::Prepared(key)), type)) != 1) {
    return CryptoError("signing setup failed: " + TakeOpenSslError());
  }
  EVP_MD_CTX_set_flags(work.get(), EVP_MD_CTX_FLAG_FINALISE);
  std::string sig(static_cast<size_t>(EVP_PKEY_get_size(pkey)), '\0');
  size_t sig_len = sig.size();
  if (EVP_DigestSignUpdate(work.get(), bytes->data(), bytes->size()) != 1 ||
      EVP_DigestSignFinal(work.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len) != 1) {
    return CryptoError("signing failed: " + TakeOpenSslError());
  }
  sig.resize(sig_len);
  return Base64Encode(sig);
}

Status Verify(const PublicKey& key, SignType type, std::string_view content, std::string_view signature_base64,
              std::string_view charset) {
  const EVP_PKEY* pkey = static_cast<const EVP_PKEY*>(key.native());
  if (pkey == nullptr || KeyAccess::Prepared(key) == nullptr) return InvalidArgument("no public key");
  ALIPAYMSG_RETURN_IF_ERROR(CheckKeyFitsType(pkey, type, "public key"));
  if (signature_base64.empty()) return ParseError("the signature is empty");
  auto sig = Base64Decode(signature_base64);
  if (!sig.ok()) return ParseError("the signature is " + sig.status().message());
  if (sig->empty()) return ParseError("the signature is empty");

  std::string converted;
  std::string_view bytes = content;
  if (!IsUtf8Charset(charset)) {
    auto enc = EncodeCharset(content, charset);
    if (!enc.ok()) return enc.status();
    converted = std::move(*enc);
    bytes = converted;
  }

  WorkCtx work;
  if (EVP_MD_CTX_copy_ex(work.get(), TemplateFor(PreparedOf(KeyAccess::Prepared(key)), type)) != 1) {
    return CryptoError("verification setup failed: " + TakeOpenSslError());
  }
  EVP_MD_CTX_set_flags(work.get(), EVP_MD_CTX_FLAG_FINALISE);
  int r = EVP_DigestVerifyUpdate(work.get(), bytes.data(), bytes.size());
  if (r == 1) {
    r = EVP_DigestVerifyFinal(work.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size());
  }
  if (r == 1) return Status::Ok();
  // The key fits the type and the bytes were hashed: any failure now (wrong value, wrong length,
  // a malformed DER SM2 signature) means the signature does not match.
  ERR_clear_error();
  return SignatureMismatch(std::string(ToString(type)) + " signature does not verify");
}

Status CheckKeyPair(const PrivateKey& private_key, const PublicKey& public_key) {
  const EVP_PKEY* priv = static_cast<const EVP_PKEY*>(private_key.native());
  const EVP_PKEY* pub = static_cast<const EVP_PKEY*>(public_key.native());
  if (priv == nullptr || pub == nullptr) return InvalidArgument("missing key");
  int eq = EVP_PKEY_eq(priv, pub);
  ERR_clear_error();
  if (eq == -1) {
    return InvalidArgument("the private key is " + DescribeKey(priv) + " but the public key is " + DescribeKey(pub));
  }
  if (eq != 1) {
    return InvalidArgument("the private key (" + DescribeKey(priv) + ") and the public key (" + DescribeKey(pub) +
                           ") do not form a pair");
  }
  // Public parts agree; a sign/verify round trip also proves the private half is usable.
  SignType type = private_key.is_sm2() ? SignType::kSm2 : SignType::kRsa2;
  static constexpr std::string_view kProbe = "alipay-msg key pair self-test";
  auto sig = Sign(private_key, type, kProbe);
  if (!sig.ok()) return sig.status().WithContext("key pair self-test");
  Status st = Verify(public_key, type, kProbe, *sig);
  if (!st.ok()) return InvalidArgument("the private key does not produce signatures the public key accepts (" +
                                       st.message() + ")");
  return Status::Ok();
}

}  // namespace alipaymsg
