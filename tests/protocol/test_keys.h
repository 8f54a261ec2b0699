// Keys and credentials from the shared vectors, for the protocol tests that sign or verify.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "alipaymsg/credentials.h"
#include "alipaymsg/crypto.h"
#include "testing/test_paths.h"

namespace alipaymsg::testing {

inline std::optional<PrivateKey> LoadPrivateKey(const std::string& relative) {
  auto k = PrivateKey::FromFile(VectorPath(relative));
  if (!k.ok()) {
    ADD_FAILURE() << relative << ": " << k.status().ToString();
    return std::nullopt;
  }
  return *k;
}

inline std::optional<PublicKey> LoadPublicKey(const std::string& relative, bool allow_certificate = false) {
  auto k = PublicKey::FromFile(VectorPath(relative), allow_certificate);
  if (!k.ok()) {
    ADD_FAILURE() << relative << ": " << k.status().ToString();
    return std::nullopt;
  }
  return *k;
}

// The app of the wire transcripts (java-sdk/keys), in key mode or certificate mode.
inline std::optional<Credentials> TranscriptCredentials(bool cert_mode, std::string sign_type = "RSA2") {
  CredentialsConfig c;
  c.app_id = "2021000000000001";
  c.sign_type = std::move(sign_type);
  c.app_private_key_path = VectorPath("java-sdk/keys/app.private.pkcs8.b64");
  if (cert_mode) {
    c.app_cert_path = VectorPath("java-sdk/keys/app.crt");
    c.alipay_cert_path = VectorPath("java-sdk/keys/alipay.crt");
    c.root_cert_path = VectorPath("java-sdk/keys/root.crt");
  } else {
    c.alipay_public_key_path = VectorPath("java-sdk/keys/alipay.public.spki.b64");
  }
  auto creds = Credentials::Load(c);
  if (!creds.ok()) {
    ADD_FAILURE() << "credentials: " << creds.status().ToString();
    return std::nullopt;
  }
  return *creds;
}

}  // namespace alipaymsg::testing
