// Public-key certificate mode: certificate SNs exactly as the Java SDK computes them (PROTOCOL.md §2.3).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alipaymsg/crypto.h"
#include "alipaymsg/status.h"

namespace alipaymsg {

class Certificate {
 public:
  // Every PEM certificate of a bundle, in file order (LF or CRLF line endings). At least one is
  // required; a PEM block that does not parse (or is not a CERTIFICATE) is an error naming its
  // position. Text without PEM armour is also tried as one binary DER certificate (.cer).
  static Result<std::vector<Certificate>> ParsePemBundle(std::string_view pem,
                                                         std::string_view origin = "certificate");
  static Result<std::vector<Certificate>> LoadPemFile(const std::string& path);

  // Java X500Principal.getName() (RFC 2253) of the issuer: most specific RDN first, '+' inside
  // multi-valued RDNs, backslash escapes, OID=#hex for attributes other than CN C L ST O OU STREET DC UID.
  std::string JavaIssuerName() const;
  // Serial number as a signed base-10 integer.
  std::string DecimalSerial() const;
  // Dotted OID of the signature algorithm, e.g. "1.2.840.113549.1.1.11".
  std::string SignatureAlgorithmOid() const;
  // md5_hex(JavaIssuerName() + DecimalSerial()).
  std::string Sn() const;
  Result<PublicKey> GetPublicKey() const;
  // Validity as Unix seconds.
  long long not_before() const;
  long long not_after() const;
  std::string SubjectText() const;  // for messages only

  void* native() const { return cert_.get(); }  // X509*

 private:
  explicit Certificate(std::shared_ptr<void> cert) : cert_(std::move(cert)) {}
  std::shared_ptr<void> cert_;
};

// SN of the first certificate of the file (app cert, Alipay cert).
Result<std::string> CertSnOfFile(const std::string& path);

// Root cert SN of a bundle: SNs of the certificates whose signature OID starts with
// "1.2.840.113549.1.1" (or "1.2.156.10197.1.501" when `type` is SM2), in file order, joined by '_'.
// std::nullopt when no certificate qualifies (the Java SDK then omits alipay_root_cert_sn).
Result<std::optional<std::string>> RootCertSn(std::string_view bundle_pem, SignType type);

}  // namespace alipaymsg
