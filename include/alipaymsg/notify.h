// Verification of HTTP(S) notifications (NOTIFY.md). Pure: the HTTP endpoint lives in src/notify.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "alipaymsg/crypto.h"
#include "alipaymsg/params.h"
#include "alipaymsg/status.h"

namespace alipaymsg {

struct NotifyKeys {
  const PublicKey* alipay_public_key = nullptr;           // key mode (or the default cert's key)
  std::map<std::string, PublicKey> alipay_keys_by_cert_sn;  // cert mode: alipay_cert_sn -> key
};

struct VerifiedNotification {
  Params params;           // form-decoded once
  std::string notify_id;   // the idempotency key
  std::string app_id;
  std::string msg_method;  // empty for classic trade notifications
  std::string notify_type;
  std::string biz_content; // raw text (still encrypted when encrypt_type=AES)
  std::string sign_content;  // the content that verified (bytes as received, in `charset`)
};

// Decodes the form body once, then verifies: sign content with sign_type, then without; empty values
// skipped (Java), then kept (Node); RSA/RSA2 by sign_type (default RSA2); bytes in `charset`
// (UTF-8 default, GBK). In cert mode `alipay_cert_sn` picks the key; an unknown SN is an error
// naming it. Ok result only when a signature verified. `params` and the fields are returned as UTF-8
// (converted from GBK when `charset` says so). Repeated parameter names are refused: the signed and
// the used value could differ.
Result<VerifiedNotification> VerifyNotification(std::string_view form_body, const NotifyKeys& keys);

// Cert mode: every certificate in a PEM file (the Alipay public-key certificate, possibly with its
// successor during a rotation) by SN, with its public key; certificates whose key cannot verify
// (e.g. a CA with an unsupported key) are skipped. An error when none is usable.
Result<std::map<std::string, PublicKey>> LoadAlipayCertKeys(const std::string& pem_path);

}  // namespace alipaymsg
