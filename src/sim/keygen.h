// Throwaway credentials so the simulator, the demo and cert mode can be tried without an Alipay
// account: `alipay-msg-sim keygen DIR` and `alipay-msg-sim tls-keygen DIR`.
#pragma once

#include <string>
#include <vector>

#include "alipaymsg/status.h"

namespace alipaymsg::sim {

struct KeygenOptions {
  std::string app_id = "2021000000000001";
  int rsa_bits = 2048;
};

// Writes into `dir` (created if needed):
//   app_private_key.pem / .txt (PKCS#8 PEM, and the bare base64 Alipay's key tool writes),
//   app_public_key.pem / .txt, alipay_private_key.pem, alipay_public_key.pem / .txt,
//   alipayRootCert.crt (a bundle shaped like Alipay's: an ECDSA root that RSA clients skip, an RSA
//   sha256 root and an RSA sha1 root), appCertPublicKey_<APP_ID>.crt (issued by an intermediate
//   under the sha256 root), alipayCertPublicKey_RSA2.crt (Alipay leaf + intermediate), README.txt.
// Returns the files written.
Result<std::vector<std::string>> GenerateKeys(const std::string& dir, const KeygenOptions& options = {});

// A throwaway CA and a server certificate for `names` (an OpenSSL subjectAltName value; by default
// 127.0.0.1 / localhost / ::1): ca.crt, server.crt, server.key.
inline constexpr const char* kDefaultTlsNames = "DNS:localhost,IP:127.0.0.1,IP:::1";
Result<std::vector<std::string>> GenerateTlsKeys(const std::string& dir, const std::string& names = kDefaultTlsNames);

}  // namespace alipaymsg::sim
