// Certificates and their SNs exactly as Alipay's Java SDK computes them (PROTOCOL.md §2.3).
//
// The SN hashes Java's X500Principal.getName() of the issuer, so this file re-creates the JDK's
// RFC 2253 writer (sun.security.x509.AVA.toRFC2253String, X500Name.generateRFC2253DN) from the DER
// entries. OpenSSL's own RFC 2253 printer differs (names emailAddress, escapes '#' only when
// leading, orders multi-valued RDNs differently, \XX-escapes UTF-8), so it is not used for SNs.
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <algorithm>
#include <ctime>

#include "alipaymsg/cert.h"
#include "crypto/internal.h"

namespace alipaymsg {
namespace {

using crypto_internal::X509Ptr;

const X509* AsX509(const std::shared_ptr<void>& p) { return static_cast<const X509*>(p.get()); }

std::string Hex(const unsigned char* data, size_t len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (size_t i = 0; i < len; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 15]);
  }
  return out;
}

std::string ObjectToDotted(const ASN1_OBJECT* obj) {
  char buf[256];
  int n = OBJ_obj2txt(buf, sizeof buf, obj, /*no_name=*/1);
  if (n <= 0) return "";
  if (static_cast<size_t>(n) < sizeof buf) return std::string(buf, static_cast<size_t>(n));
  std::string big(static_cast<size_t>(n) + 1, '\0');
  OBJ_obj2txt(big.data(), static_cast<int>(big.size()), obj, 1);
  big.resize(static_cast<size_t>(n));
  return big;
}

// The JDK's RFC 2253 keywords (AVAKeyword entries marked RFC 2253 compliant); others print as OIDs.
const char* Rfc2253Keyword(int nid) {
  switch (nid) {
    case NID_commonName: return "CN";
    case NID_countryName: return "C";
    case NID_localityName: return "L";
    case NID_stateOrProvinceName: return "ST";
    case NID_organizationName: return "O";
    case NID_organizationalUnitName: return "OU";
    case NID_streetAddress: return "STREET";
    case NID_domainComponent: return "DC";
    case NID_userId: return "UID";
    default: return nullptr;
  }
}

// AVA.isDerString(value, canonical=false): the value types the JDK prints as text.
bool IsJavaDerString(int type) {
  switch (type) {
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_T61STRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_GENERALSTRING:
    case V_ASN1_UTF8STRING:
    case V_ASN1_BMPSTRING:
      return true;
    default:
      return false;
  }
}

bool IsCont(unsigned char b) { return (b & 0xC0) == 0x80; }

// The JDK decodes every printable value's content bytes as UTF-8 (new String(bytes, UTF_8)), even
// for BMPString/T61String, replacing malformed input with U+FFFD; the SDK then re-encodes the name
// to UTF-8. This yields the same bytes: valid UTF-8 copied, each maximal malformed subpart replaced
// by EF BF BD (the JDK's granularity), except that an encoded surrogate (ED A0..BF xx) is one U+FFFD.
std::string JavaUtf8RoundTrip(const unsigned char* s, size_t n) {
  static constexpr char kRepl[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(n);
  size_t i = 0;
  auto in_range = [&](size_t k, unsigned char lo, unsigned char hi) { return k < n && s[k] >= lo && s[k] <= hi; };
  while (i < n) {
    unsigned char b = s[i];
    if (b < 0x80) {
      out.push_back(static_cast<char>(b));
      ++i;
    } else if (b >= 0xC2 && b <= 0xDF) {
      if (i + 1 < n && IsCont(s[i + 1])) {
        out.append(reinterpret_cast<const char*>(s + i), 2);
        i += 2;
      } else {
        out += kRepl;
        i += 1;
      }
    } else if (b >= 0xE0 && b <= 0xEF) {
      unsigned char lo = b == 0xE0 ? 0xA0 : 0x80;
      if (!in_range(i + 1, lo, 0xBF)) {
        out += kRepl;
        i += 1;
      } else if (!(i + 2 < n && IsCont(s[i + 2]))) {
        out += kRepl;
        i += 2;
      } else {
        if (b == 0xED && s[i + 1] >= 0xA0) {
          out += kRepl;  // a surrogate code unit: malformed as a whole
        } else {
          out.append(reinterpret_cast<const char*>(s + i), 3);
        }
        i += 3;
      }
    } else if (b >= 0xF0 && b <= 0xF4) {
      unsigned char lo = b == 0xF0 ? 0x90 : 0x80;
      unsigned char hi = b == 0xF4 ? 0x8F : 0xBF;
      if (!in_range(i + 1, lo, hi)) {
        out += kRepl;
        i += 1;
      } else if (!(i + 2 < n && IsCont(s[i + 2]))) {
        out += kRepl;
        i += 2;
      } else if (!(i + 3 < n && IsCont(s[i + 3]))) {
        out += kRepl;
        i += 3;
      } else {
        out.append(reinterpret_cast<const char*>(s + i), 4);
        i += 4;
      }
    } else {
      out += kRepl;
      i += 1;
    }
  }
  return out;
}

// AVA.toRFC2253String's escaping: a backslash before , = + < > # ; " \ anywhere, and before every
// leading or trailing ' ' or '\r'; NUL becomes \00 (RFC 4514, current JDKs). Non-ASCII characters
// are written as they are.
std::string JavaEscapeValue(const std::string& value) {
  static constexpr std::string_view kEscapees = ",=+<>#;\"\\";
  std::string escaped;
  escaped.reserve(value.size() + 8);
  for (char c : value) {
    if (c == '\0') {
      escaped += "\\00";
      continue;
    }
    if (kEscapees.find(c) != std::string_view::npos) escaped.push_back('\\');
    escaped.push_back(c);
  }
  auto is_ws = [](char c) { return c == ' ' || c == '\r'; };
  size_t lead = 0;
  while (lead < escaped.size() && is_ws(escaped[lead])) ++lead;
  long trail = static_cast<long>(escaped.size()) - 1;
  while (trail >= 0 && is_ws(escaped[static_cast<size_t>(trail)])) --trail;
  std::string out;
  out.reserve(escaped.size() + 4);
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (i < lead || static_cast<long>(i) > trail) out.push_back('\\');
    out.push_back(escaped[i]);
  }
  return out;
}

// DER of the attribute value: tag, length and content.
std::string ValueDer(const ASN1_STRING* value) {
  ASN1_TYPE* t = ASN1_TYPE_new();
  std::string out;
  if (t != nullptr && ASN1_TYPE_set1(t, ASN1_STRING_type(value), value) == 1) {
    unsigned char* der = nullptr;
    int len = i2d_ASN1_TYPE(t, &der);
    if (len > 0) out.assign(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  ASN1_TYPE_free(t);
  ERR_clear_error();
  return out;
}

std::string JavaAva(const X509_NAME_ENTRY* entry) {
  const ASN1_OBJECT* obj = X509_NAME_ENTRY_get_object(entry);
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(entry);
  const char* keyword = Rfc2253Keyword(OBJ_obj2nid(obj));
  std::string out = keyword != nullptr ? std::string(keyword) : ObjectToDotted(obj);
  out.push_back('=');
  if (keyword == nullptr || !IsJavaDerString(ASN1_STRING_type(value))) {
    std::string der = ValueDer(value);
    out.push_back('#');
    out += Hex(reinterpret_cast<const unsigned char*>(der.data()), der.size());
    return out;
  }
  out += JavaEscapeValue(JavaUtf8RoundTrip(ASN1_STRING_get0_data(value), static_cast<size_t>(ASN1_STRING_length(value))));
  return out;
}

std::string EntryDer(const X509_NAME_ENTRY* entry) {
  unsigned char* der = nullptr;
  int len = i2d_X509_NAME_ENTRY(entry, &der);
  std::string out;
  if (len > 0) out.assign(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

// BouncyCastle re-encodes the issuer as DER before handing it to the JDK, which sorts the members
// of a multi-valued RDN by their encodings (ASN1Set.sort: unsigned lexicographic).
bool DerLess(const std::string& a, const std::string& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return static_cast<unsigned char>(x) < static_cast<unsigned char>(y);
  });
}

std::string JavaRfc2253Name(const X509_NAME* name) {
  struct Ava {
    std::string der;
    std::string text;
  };
  std::vector<std::vector<Ava>> rdns;
  int last_set = -1;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    int set = X509_NAME_ENTRY_set(entry);
    if (rdns.empty() || set != last_set) rdns.emplace_back();
    last_set = set;
    rdns.back().push_back({EntryDer(entry), JavaAva(entry)});
  }
  std::string out;
  for (auto rdn = rdns.rbegin(); rdn != rdns.rend(); ++rdn) {  // most specific RDN first
    std::stable_sort(rdn->begin(), rdn->end(), [](const Ava& a, const Ava& b) { return DerLess(a.der, b.der); });
    if (!out.empty()) out.push_back(',');
    for (size_t k = 0; k < rdn->size(); ++k) {
      if (k != 0) out.push_back('+');
      out += (*rdn)[k].text;
    }
  }
  return out;
}

long long AsnTimeToUnix(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<long long>(timegm(&tm));
}

bool IsCertificateLabel(const std::string& label) {
  return label == "CERTIFICATE" || label == "X509 CERTIFICATE" || label == "TRUSTED CERTIFICATE";
}

}  // namespace

Result<std::vector<Certificate>> Certificate::ParsePemBundle(std::string_view pem, std::string_view origin) {
  const std::string o(origin);
  std::vector<Certificate> certs;
  auto own = [](X509Ptr x) {
    return std::shared_ptr<void>(x.release(), [](void* p) { X509_free(static_cast<X509*>(p)); });
  };
  if (!crypto_internal::LooksLikePem(pem)) {
    // A binary DER certificate (.cer) is accepted as well, as Java's CertificateFactory does.
    if (X509Ptr x = crypto_internal::ParseCertificateDer(pem)) {
      certs.push_back(Certificate(own(std::move(x))));
      return certs;
    }
    return ParseError(o + ": no PEM certificate found (no \"-----BEGIN CERTIFICATE-----\" line)");
  }
  auto blocks = crypto_internal::ReadPemBlocks(pem);
  if (!blocks.ok()) return blocks.status().WithContext(origin);
  for (size_t i = 0; i < blocks->size(); ++i) {
    const auto& b = (*blocks)[i];
    std::string where = "PEM block " + std::to_string(i + 1) + " (line " + std::to_string(b.line) + ")";
    if (!IsCertificateLabel(b.label)) {
      if (b.label.find("KEY") != std::string::npos) {
        return InvalidArgument(o + ": " + where + " is a \"" + b.label + "\", not a certificate");
      }
      return InvalidArgument(o + ": " + where + " is \"" + b.label + "\", expected a CERTIFICATE");
    }
    X509Ptr x = crypto_internal::ParseCertificateDer(b.der);
    if (!x) {
      return ParseError(o + ": " + where + " is not a valid X.509 certificate (corrupted or truncated)");
    }
    certs.push_back(Certificate(own(std::move(x))));
  }
  if (certs.empty()) return ParseError(o + ": no PEM certificate found");
  return certs;
}

Result<std::vector<Certificate>> Certificate::LoadPemFile(const std::string& path) {
  auto text = crypto_internal::ReadWholeFile(path);
  if (!text.ok()) return text.status();
  return ParsePemBundle(*text, path);
}

std::string Certificate::JavaIssuerName() const {
  return JavaRfc2253Name(X509_get_issuer_name(AsX509(cert_)));
}

std::string Certificate::DecimalSerial() const {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(AsX509(cert_));
  BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
  if (bn == nullptr) {
    ERR_clear_error();
    return "";
  }
  char* dec = BN_bn2dec(bn);
  std::string out = dec != nullptr ? dec : "";
  OPENSSL_free(dec);
  BN_free(bn);
  return out;
}

std::string Certificate::SignatureAlgorithmOid() const {
  const X509_ALGOR* alg = nullptr;
  X509_get0_signature(nullptr, &alg, AsX509(cert_));
  if (alg == nullptr) return "";
  const ASN1_OBJECT* obj = nullptr;
  X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
  return obj != nullptr ? ObjectToDotted(obj) : "";
}

std::string Certificate::Sn() const { return Md5Hex(JavaIssuerName() + DecimalSerial()); }

Result<PublicKey> Certificate::GetPublicKey() const {
  EVP_PKEY* key = X509_get_pubkey(const_cast<X509*>(AsX509(cert_)));
  if (key == nullptr) {
    return ParseError("certificate \"" + SubjectText() + "\": its public key cannot be decoded: " +
                      crypto_internal::TakeOpenSslError());
  }
  return crypto_internal::MakePublicKey(crypto_internal::PkeyPtr(key), "certificate \"" + SubjectText() + "\"");
}

long long Certificate::not_before() const { return AsnTimeToUnix(X509_get0_notBefore(AsX509(cert_))); }
long long Certificate::not_after() const { return AsnTimeToUnix(X509_get0_notAfter(AsX509(cert_))); }

std::string Certificate::SubjectText() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "";
  X509_NAME_print_ex(bio, X509_get_subject_name(AsX509(cert_)), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len > 0 ? len : 0));
  BIO_free(bio);
  return out;
}

Result<std::string> CertSnOfFile(const std::string& path) {
  auto certs = Certificate::LoadPemFile(path);
  if (!certs.ok()) return certs.status();
  return certs->front().Sn();
}

Result<std::optional<std::string>> RootCertSn(std::string_view bundle_pem, SignType type) {
  auto certs = Certificate::ParsePemBundle(bundle_pem, "root certificate bundle");
  if (!certs.ok()) return certs.status();
  // A textual prefix test, as the SDK does (String.startsWith on the OID).
  const std::string prefix = type == SignType::kSm2 ? "1.2.156.10197.1.501" : "1.2.840.113549.1.1";
  std::string joined;
  for (const auto& cert : *certs) {
    if (cert.SignatureAlgorithmOid().rfind(prefix, 0) != 0) continue;
    if (!joined.empty()) joined.push_back('_');
    joined += cert.Sn();
  }
  if (joined.empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(joined));
}

}  // namespace alipaymsg
