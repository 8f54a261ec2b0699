// An app's identity on the open channel: app id, sign type, keys, and in certificate mode the SNs.
// Loaded once at start-up; every mistake a user can make with keys and certs is reported here,
// before anything connects.
#pragma once

#include <optional>
#include <string>

#include "alipaymsg/crypto.h"
#include "alipaymsg/status.h"

namespace alipaymsg {

// Where the keys are. Key mode: app private key + Alipay public key. Certificate mode: app private
// key + app cert + Alipay cert + root cert bundle (the Alipay public key comes from the Alipay cert).
struct CredentialsConfig {
  std::string app_id;
  std::string sign_type = "RSA2";
  std::string charset = "UTF-8";
  std::string app_private_key_path;
  std::string alipay_public_key_path;  // key mode
  std::string app_cert_path;           // cert mode
  std::string alipay_cert_path;        // cert mode
  std::string root_cert_path;          // cert mode
};

class Credentials {
 public:
  // Loads and checks everything: key formats, that the app private key matches the app cert (cert
  // mode), that nothing is swapped (e.g. the app public key where the Alipay public key belongs).
  static Result<Credentials> Load(const CredentialsConfig& config);
  // Built from already-loaded keys (tests, simulator).
  static Credentials FromKeys(std::string app_id, SignType type, PrivateKey app_private_key,
                              PublicKey alipay_public_key, std::string charset = "UTF-8");

  const std::string& app_id() const { return app_id_; }
  SignType sign_type() const { return sign_type_; }
  const std::string& charset() const { return charset_; }
  const PrivateKey& app_private_key() const { return *app_private_key_; }
  const PublicKey& alipay_public_key() const { return *alipay_public_key_; }

  bool cert_mode() const { return alipay_cert_sn_.has_value(); }
  // Cert mode only (empty otherwise).
  const std::string& app_cert_sn() const { return app_cert_sn_; }
  const std::optional<std::string>& alipay_cert_sn() const { return alipay_cert_sn_; }
  const std::optional<std::string>& alipay_root_cert_sn() const { return alipay_root_cert_sn_; }

  // Signs with the app private key, the configured sign type and charset.
  Result<std::string> SignAsApp(std::string_view content) const;
  // Verifies a signature made by Alipay (type and charset given per message).
  Status VerifyFromAlipay(std::string_view content, std::string_view signature_base64,
                          SignType type, std::string_view charset) const;

 private:
  Credentials() = default;
  std::string app_id_;
  SignType sign_type_ = SignType::kRsa2;
  std::string charset_ = "UTF-8";
  std::optional<PrivateKey> app_private_key_;
  std::optional<PublicKey> alipay_public_key_;
  std::string app_cert_sn_;
  std::optional<std::string> alipay_cert_sn_;
  std::optional<std::string> alipay_root_cert_sn_;
};

}  // namespace alipaymsg
