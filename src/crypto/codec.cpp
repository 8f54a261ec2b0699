// Base64, MD5, AES-CBC, PEM framing and file reading: the byte-level helpers of the crypto module.
#include <openssl/err.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "alipaymsg/crypto.h"
#include "crypto/internal.h"

namespace alipaymsg {
namespace crypto_internal {

std::string TakeOpenSslError() {
  std::string out;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    if (out.empty()) {
      char buf[256];
      ERR_error_string_n(code, buf, sizeof buf);
      const char* reason = ERR_reason_error_string(code);
      out = reason != nullptr ? reason : buf;
    }
  }
  return out;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    if (err == ENOENT) return NotFound(path + ": no such file");
    return IoError(path + ": cannot open: " + std::strerror(err));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return IoError(path + ": read failed");
  return ss.str();
}

bool LooksLikePem(std::string_view text) { return text.find("-----BEGIN ") != std::string_view::npos; }

namespace {

std::string_view TrimLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  return line;
}

// "-----BEGIN X-----" -> "X" (empty optional when the line is not such a marker).
bool ParseMarker(std::string_view line, std::string_view kind, std::string* label) {
  std::string prefix = "-----" + std::string(kind) + " ";
  if (line.substr(0, prefix.size()) != prefix) return false;
  if (line.size() < prefix.size() + 5 || line.substr(line.size() - 5) != "-----") return false;
  *label = std::string(line.substr(prefix.size(), line.size() - prefix.size() - 5));
  return true;
}

}  // namespace

Result<std::vector<PemBlock>> ReadPemBlocks(std::string_view text) {
  std::vector<PemBlock> blocks;
  bool in_block = false;
  PemBlock current;
  std::string body;
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = TrimLine(text.substr(pos, end - pos));
    ++line_no;
    pos = end + 1;
    std::string label;
    if (!in_block) {
      if (ParseMarker(line, "BEGIN", &label)) {
        in_block = true;
        current = PemBlock{label, "", line_no};
        body.clear();
      }
      continue;
    }
    if (ParseMarker(line, "END", &label)) {
      std::string where = "PEM block " + std::to_string(blocks.size() + 1) + " (\"" + current.label +
                          "\" at line " + std::to_string(current.line) + ")";
      if (label != current.label) {
        return ParseError(where + " ends with a mismatched END line \"" + label + "\"");
      }
      auto der = Base64Decode(body);
      if (!der.ok()) return ParseError(where + " is not valid base64: " + der.status().message());
      if (der->empty()) return ParseError(where + " is empty");
      current.der = std::move(*der);
      blocks.push_back(std::move(current));
      in_block = false;
      continue;
    }
    if (ParseMarker(line, "BEGIN", &label)) {
      return ParseError("PEM block " + std::to_string(blocks.size() + 1) + " (\"" + current.label +
                        "\" at line " + std::to_string(current.line) +
                        ") has no END line before the next BEGIN (truncated?)");
    }
    // RFC 1421 headers (Proc-Type, DEK-Info) only appear in encrypted legacy keys.
    if (line.find(':') != std::string_view::npos) {
      if (line.substr(0, 10) == "Proc-Type:") {
        return ParseError("PEM block \"" + current.label + "\" at line " + std::to_string(current.line) +
                          " is encrypted (Proc-Type header); decrypt it first");
      }
      continue;
    }
    body.append(line);
  }
  if (in_block) {
    return ParseError("PEM block " + std::to_string(blocks.size() + 1) + " (\"" + current.label +
                      "\" at line " + std::to_string(current.line) + ") has no END line (file truncated?)");
  }
  return blocks;
}

}  // namespace crypto_internal

namespace {

bool IsBase64Char(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}
bool IsSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

const EVP_MD* Md5() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "MD5", nullptr);
  return md;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  size_t pads = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (IsSpace(c)) continue;
    if (c == '=') {
      ++pads;
      clean.push_back('=');
      continue;
    }
    if (!IsBase64Char(c)) {
      std::string shown = (c >= 0x21 && c < 0x7f) ? std::string("'") + static_cast<char>(c) + "'"
                                                  : "byte 0x" + std::string(1, "0123456789abcdef"[c >> 4]) +
                                                        std::string(1, "0123456789abcdef"[c & 15]);
      return ParseError("not base64: " + shown + " at offset " + std::to_string(i));
    }
    if (pads != 0) return ParseError("not base64: data after '=' padding");
    clean.push_back(static_cast<char>(c));
  }
  if (pads > 2) return ParseError("not base64: more than two '=' padding characters");
  size_t data_chars = clean.size() - pads;
  if (data_chars % 4 == 1) return ParseError("not base64: length " + std::to_string(data_chars) + " is impossible");
  if (pads != 0 && clean.size() % 4 != 0) return ParseError("not base64: wrong amount of '=' padding");
  if (pads == 0 && data_chars % 4 != 0) {
    pads = 4 - data_chars % 4;
    clean.append(pads, '=');
  }
  if (clean.empty()) return std::string();
  std::string out(clean.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
  if (n < 0 || static_cast<size_t>(n) < pads) return ParseError("not base64");
  out.resize(static_cast<size_t>(n) - pads);
  return out;
}

std::string Md5Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, Md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

namespace {

Result<std::string> AesKey(std::string_view key_base64) {
  auto key = Base64Decode(key_base64);
  if (!key.ok()) return InvalidArgument("AES key: " + key.status().message());
  if (key->size() != 16 && key->size() != 24 && key->size() != 32) {
    return InvalidArgument("AES key is " + std::to_string(key->size()) +
                           " bytes; expected the base64 of 16, 24 or 32 bytes");
  }
  return key;
}

const EVP_CIPHER* AesCbc(size_t key_len) {
  static EVP_CIPHER* c128 = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
  static EVP_CIPHER* c192 = EVP_CIPHER_fetch(nullptr, "AES-192-CBC", nullptr);
  static EVP_CIPHER* c256 = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  return key_len == 16 ? c128 : key_len == 24 ? c192 : c256;
}

struct CipherCtxFree { void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); } };

Result<std::string> AesCbc(const std::string& key, std::string_view input, bool encrypt) {
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  const unsigned char iv[16] = {0};
  if (!ctx || EVP_CipherInit_ex2(ctx.get(), AesCbc(key.size()), reinterpret_cast<const unsigned char*>(key.data()),
                                 iv, encrypt ? 1 : 0, nullptr) != 1) {
    return CryptoError("AES init failed: " + crypto_internal::TakeOpenSslError());
  }
  std::string out(input.size() + 32, '\0');
  int n1 = 0, n2 = 0;
  if (EVP_CipherUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n1,
                       reinterpret_cast<const unsigned char*>(input.data()), static_cast<int>(input.size())) != 1) {
    return CryptoError("AES failed: " + crypto_internal::TakeOpenSslError());
  }
  if (EVP_CipherFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + n1, &n2) != 1) {
    crypto_internal::TakeOpenSslError();
    return CryptoError("AES decryption failed: bad padding (wrong AES key or corrupted ciphertext)");
  }
  out.resize(static_cast<size_t>(n1 + n2));
  return out;
}

}  // namespace

Result<std::string> AesEncrypt(std::string_view key_base64, std::string_view plaintext) {
  auto key = AesKey(key_base64);
  if (!key.ok()) return key.status();
  auto out = AesCbc(*key, plaintext, true);
  if (!out.ok()) return out.status();
  return Base64Encode(*out);
}

Result<std::string> AesDecrypt(std::string_view key_base64, std::string_view ciphertext_base64) {
  auto key = AesKey(key_base64);
  if (!key.ok()) return key.status();
  auto cipher = Base64Decode(ciphertext_base64);
  if (!cipher.ok()) return ParseError("AES ciphertext: " + cipher.status().message());
  if (cipher->empty() || cipher->size() % 16 != 0) {
    return ParseError("AES ciphertext is " + std::to_string(cipher->size()) +
                      " bytes; AES-CBC output is a non-zero multiple of 16");
  }
  return AesCbc(*key, *cipher, false);
}

}  // namespace alipaymsg
