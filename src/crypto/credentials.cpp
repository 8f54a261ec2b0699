// Loading an app's keys and certificates once at start-up, catching every mix-up we can name.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "alipaymsg/cert.h"
#include "alipaymsg/credentials.h"
#include "crypto/internal.h"

namespace alipaymsg {
namespace {

using crypto_internal::DescribeKey;

const EVP_PKEY* Pkey(const PrivateKey& k) { return static_cast<const EVP_PKEY*>(k.native()); }
const EVP_PKEY* Pkey(const PublicKey& k) { return static_cast<const EVP_PKEY*>(k.native()); }

// True when the public key is the public half of the private key.
bool SameKey(const PrivateKey& priv, const PublicKey& pub) {
  bool eq = EVP_PKEY_eq(Pkey(priv), Pkey(pub)) == 1;
  crypto_internal::TakeOpenSslError();
  return eq;
}

std::string Origin(const char* role, const std::string& path) { return std::string(role) + " " + path; }

Result<std::string> ReadConfigured(const char* role, const char* setting, const std::string& path) {
  if (path.empty()) return InvalidArgument(std::string(setting) + " is not set (" + role + ")");
  auto text = crypto_internal::ReadWholeFile(path);
  if (!text.ok()) return text.status().WithContext(role);
  return text;
}

Status CheckTypeFits(SignType type, bool sm2_key, const std::string& what, const std::string& key_desc) {
  bool want_sm2 = type == SignType::kSm2;
  if (want_sm2 == sm2_key) return Status::Ok();
  return InvalidArgument("sign type " + std::string(ToString(type)) + " needs " + (want_sm2 ? "an SM2" : "an RSA") +
                         " key, but " + what + " is " + key_desc);
}

bool SelfSigned(const Certificate& cert) {
  const X509* x = static_cast<const X509*>(cert.native());
  return X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(x)) == 0;
}

}  // namespace

Result<Credentials> Credentials::Load(const CredentialsConfig& config) {
  Credentials c;
  if (config.app_id.empty()) return InvalidArgument("app-id is not set");
  c.app_id_ = config.app_id;
  auto type = ParseSignType(config.sign_type);
  if (!type.ok()) return type.status().WithContext("sign-type");
  c.sign_type_ = *type;
  c.charset_ = config.charset.empty() ? "UTF-8" : config.charset;
  if (auto probe = EncodeCharset("a", c.charset_); !probe.ok()) return probe.status().WithContext("charset");

  auto key_text = ReadConfigured("app private key", "app-private-key", config.app_private_key_path);
  if (!key_text.ok()) return key_text.status();
  auto app_key = PrivateKey::FromText(*key_text, Origin("app private key", config.app_private_key_path));
  if (!app_key.ok()) return app_key.status();
  ALIPAYMSG_RETURN_IF_ERROR(CheckTypeFits(c.sign_type_, app_key->is_sm2(),
                                          Origin("app private key", config.app_private_key_path),
                                          DescribeKey(Pkey(*app_key))));
  c.app_private_key_ = std::move(*app_key);

  bool any_cert = !config.app_cert_path.empty() || !config.alipay_cert_path.empty() || !config.root_cert_path.empty();
  if (!any_cert) {
    // Key mode.
    auto pub_text = ReadConfigured("Alipay public key", "alipay-public-key", config.alipay_public_key_path);
    if (!pub_text.ok()) return pub_text.status();
    std::string origin = Origin("alipay-public-key", config.alipay_public_key_path);
    auto pub = PublicKey::FromText(*pub_text, origin);
    if (!pub.ok()) return pub.status();
    if (SameKey(*c.app_private_key_, *pub)) {
      return InvalidArgument(origin + ": alipay-public-key is the app's own public key (the one uploaded to "
                                      "Alipay); use the \"Alipay public key\" shown in the open platform console");
    }
    ALIPAYMSG_RETURN_IF_ERROR(CheckTypeFits(c.sign_type_, pub->is_sm2(), origin, DescribeKey(Pkey(*pub))));
    c.alipay_public_key_ = std::move(*pub);
    return c;
  }

  // Certificate mode: all three certificates, and no separate Alipay public key.
  std::string missing;
  if (config.app_cert_path.empty()) missing += " app-cert-path";
  if (config.alipay_cert_path.empty()) missing += " alipay-cert-path";
  if (config.root_cert_path.empty()) missing += " root-cert-path";
  if (!missing.empty()) return InvalidArgument("certificate mode needs all three certificates; not set:" + missing);
  if (!config.alipay_public_key_path.empty()) {
    return InvalidArgument("set either alipay-public-key (key mode) or the certificates (certificate mode), not both");
  }

  auto app_text = ReadConfigured("app certificate", "app-cert-path", config.app_cert_path);
  if (!app_text.ok()) return app_text.status();
  auto app_certs = Certificate::ParsePemBundle(*app_text, Origin("app certificate", config.app_cert_path));
  if (!app_certs.ok()) return app_certs.status();
  auto alipay_text = ReadConfigured("Alipay certificate", "alipay-cert-path", config.alipay_cert_path);
  if (!alipay_text.ok()) return alipay_text.status();
  auto alipay_certs = Certificate::ParsePemBundle(*alipay_text, Origin("Alipay certificate", config.alipay_cert_path));
  if (!alipay_certs.ok()) return alipay_certs.status();
  auto root_text = ReadConfigured("Alipay root certificate", "root-cert-path", config.root_cert_path);
  if (!root_text.ok()) return root_text.status();

  const Certificate& app_cert = app_certs->front();
  const Certificate& alipay_cert = alipay_certs->front();
  std::string app_origin = Origin("app certificate", config.app_cert_path);
  std::string alipay_origin = Origin("Alipay certificate", config.alipay_cert_path);

  auto alipay_key = alipay_cert.GetPublicKey();
  if (!alipay_key.ok()) return alipay_key.status().WithContext(alipay_origin);
  if (SameKey(*c.app_private_key_, *alipay_key)) {
    return InvalidArgument(alipay_origin + ": alipay-cert-path holds the app's own certificate "
                                           "(appCertPublicKey_*.crt); it must be Alipay's certificate (alipayCertPublicKey_*.crt)");
  }

  auto app_cert_key = app_cert.GetPublicKey();
  if (!app_cert_key.ok()) return app_cert_key.status().WithContext(app_origin);
  if (!SameKey(*c.app_private_key_, *app_cert_key)) {
    std::string hint;
    if (SelfSigned(app_cert)) hint = "; it is self-signed — is it the root certificate?";
    if (auto roots = Certificate::ParsePemBundle(*root_text); roots.ok()) {
      for (const auto& root : *roots) {
        if (root.Sn() == app_cert.Sn()) hint = "; it is one of the root certificates (root-cert-path)";
      }
    }
    return InvalidArgument("app private key " + config.app_private_key_path + " does not match " + app_origin +
                           " (certificate \"" + app_cert.SubjectText() + "\", " + DescribeKey(Pkey(*app_cert_key)) +
                           ")" + hint);
  }
  // Same public half; a sign/verify round trip proves the private half too.
  ALIPAYMSG_RETURN_IF_ERROR(CheckKeyPair(*c.app_private_key_, *app_cert_key).WithContext(app_origin));

  ALIPAYMSG_RETURN_IF_ERROR(CheckTypeFits(c.sign_type_, alipay_key->is_sm2(), alipay_origin + " (its public key)",
                                          DescribeKey(Pkey(*alipay_key))));
  auto root_sn = RootCertSn(*root_text, c.sign_type_);
  if (!root_sn.ok()) {
    return root_sn.status().WithContext(Origin("Alipay root certificate", config.root_cert_path));
  }

  c.alipay_public_key_ = std::move(*alipay_key);
  c.app_cert_sn_ = app_cert.Sn();
  c.alipay_cert_sn_ = alipay_cert.Sn();
  c.alipay_root_cert_sn_ = std::move(*root_sn);
  return c;
}

Credentials Credentials::FromKeys(std::string app_id, SignType type, PrivateKey app_private_key,
                                  PublicKey alipay_public_key, std::string charset) {
  Credentials c;
  c.app_id_ = std::move(app_id);
  c.sign_type_ = type;
  c.charset_ = charset.empty() ? "UTF-8" : std::move(charset);
  c.app_private_key_ = std::move(app_private_key);
  c.alipay_public_key_ = std::move(alipay_public_key);
  return c;
}

Result<std::string> Credentials::SignAsApp(std::string_view content) const {
  return Sign(*app_private_key_, sign_type_, content, charset_);
}

Status Credentials::VerifyFromAlipay(std::string_view content, std::string_view signature_base64, SignType type,
                                     std::string_view charset) const {
  return Verify(*alipay_public_key_, type, content, signature_base64, charset);
}

}  // namespace alipaymsg
