// libFuzzer: certificate bundles (PEM, or one DER certificate), the Java-compatible issuer DN and
// serial behind cert SNs, root cert SNs, and the private/public key readers, on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "alipaymsg/cert.h"
#include "fuzz_common.h"

namespace alipaymsg {
namespace {

using fuzz::Check;

bool IsDecimal(const std::string& s) {
  const size_t start = !s.empty() && s[0] == '-' ? 1 : 0;
  if (s.size() <= start) return false;
  for (size_t i = start; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

bool IsLowerHex(const std::string& s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Every SN of the bundle, as RootCertSn would join them for `type`.
std::string ExpectedRootSn(const std::vector<Certificate>& certs, std::string_view prefix) {
  std::string joined;
  for (const auto& cert : certs) {
    if (cert.SignatureAlgorithmOid().rfind(prefix, 0) != 0) continue;
    if (!joined.empty()) joined += '_';
    joined += cert.Sn();
  }
  return joined;
}

void Certificates(std::string_view text) {
  auto certs = Certificate::ParsePemBundle(text, "fuzz input");
  auto root = RootCertSn(text, SignType::kRsa2);
  if (!certs.ok()) {
    Check(!certs.status().message().empty());
    Check(!root.ok());
    return;
  }
  Check(!certs->empty());
  for (const Certificate& cert : *certs) {
    const std::string issuer = cert.JavaIssuerName();
    const std::string serial = cert.DecimalSerial();
    Check(IsDecimal(serial));
    const std::string sn = cert.Sn();
    Check(sn.size() == 32 && IsLowerHex(sn) && sn == Md5Hex(issuer + serial));
    (void)cert.SignatureAlgorithmOid();
    (void)cert.SubjectText();
    (void)cert.not_before();
    (void)cert.not_after();
    auto key = cert.GetPublicKey();
    if (key.ok()) {
      // The key we hand out reads back from its own SPKI.
      auto again = PublicKey::FromText(key->ToBase64Spki());
      Check(again.ok() && again->ToBase64Spki() == key->ToBase64Spki());
    } else {
      Check(!key.status().message().empty());
    }
  }
  Check(root.ok());
  const std::string rsa = ExpectedRootSn(*certs, "1.2.840.113549.1.1");
  Check(rsa.empty() ? !root->has_value() : (root->has_value() && **root == rsa));
  auto sm2 = RootCertSn(text, SignType::kSm2);
  Check(sm2.ok());

  // One binary certificate: the same certificate in PEM armour has the same SN.
  if (text.find("-----BEGIN") == std::string_view::npos && certs->size() == 1) {
    std::string pem = "-----BEGIN CERTIFICATE-----\n";
    const std::string b64 = Base64Encode(text);
    for (size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
    pem += "-----END CERTIFICATE-----\n";
    auto armoured = Certificate::ParsePemBundle(pem);
    Check(armoured.ok() && armoured->size() == 1 && armoured->front().Sn() == certs->front().Sn());
  }
}

void Keys(std::string_view text) {
  auto priv = PrivateKey::FromText(text, "fuzz input");
  if (!priv.ok()) Check(!priv.status().message().empty());
  auto pub = PublicKey::FromText(text, "fuzz input", /*allow_certificate=*/true);
  if (pub.ok()) {
    auto again = PublicKey::FromText(pub->ToBase64Spki());
    Check(again.ok() && again->ToBase64Spki() == pub->ToBase64Spki());
  } else {
    Check(!pub.status().message().empty());
  }
  auto bytes = Base64Decode(text);
  if (bytes.ok()) {
    auto round = Base64Decode(Base64Encode(*bytes));
    Check(round.ok() && *round == *bytes);
  }
}

}  // namespace
}  // namespace alipaymsg

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  alipaymsg::Certificates(text);
  alipaymsg::Keys(text);
  return 0;
}
