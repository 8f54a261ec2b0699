// libFuzzer: an HTTP notification body (FormDecode + VerifyNotification), with real Alipay keys in
// key mode and cert mode. Two ways in:
// - the bytes as received: never crashes, and an Ok answer means one of the four sign-content
//   variants of the decoded form verified;
// - input starting with '!': the rest is form-decoded, signed here with the Alipay test private key
//   (as Alipay would sign it) and re-encoded; that genuine notification must verify and come back
//   with the same parameters, whatever the names, values and charset. This is what drives the
//   fuzzer through the success path (charset conversion, field extraction).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

#include "alipaymsg/cert.h"
#include "alipaymsg/notify.h"
#include "fuzz_common.h"

namespace alipaymsg {
namespace {

using fuzz::Check;

struct Keys {
  PrivateKey alipay_private;
  PublicKey alipay_public;
  NotifyKeys notify;
};

const Keys& GetKeys() {
  static const Keys* keys = [] {
    auto priv = PrivateKey::FromText(fuzz::ReadInput("alipay_private_pkcs1.pem"));
    auto pub = PublicKey::FromText(fuzz::ReadInput("alipay_public.pem"));
    auto certs = Certificate::ParsePemBundle(fuzz::ReadInput("alipayCertPublicKey_RSA2_test.crt"));
    Check(priv.ok() && pub.ok() && certs.ok());
    auto cert_key = certs->front().GetPublicKey();
    Check(cert_key.ok());
    auto* k = new Keys{std::move(priv).value(), std::move(pub).value(), {}};
    k->notify.alipay_public_key = &k->alipay_public;
    k->notify.alipay_keys_by_cert_sn.emplace(certs->front().Sn(), std::move(cert_key).value());
    return k;
  }();
  return *keys;
}

bool HasRepeatedName(const Params& params) {
  std::set<std::string_view> names;
  for (const auto& p : params) {
    if (!names.insert(p.first).second) return true;
  }
  return false;
}

void AsReceived(std::string_view body, const Keys& keys) {
  auto decoded = FormDecode(body);
  auto r = VerifyNotification(body, keys.notify);
  if (!decoded.ok()) {
    Check(!r.ok() && r.status().code() == decoded.status().code());
    return;
  }
  if (!r.ok()) {
    Check(!r.status().message().empty());
    return;
  }
  Check(!HasRepeatedName(*decoded));
  Check(r->params.size() == decoded->size());
  bool is_variant = false;
  for (auto empties : {EmptyValues::kSkip, EmptyValues::kKeep}) {
    is_variant = is_variant || r->sign_content == SignContentV2(*decoded, empties) ||
                 r->sign_content == SignContentV1(*decoded, empties);
  }
  Check(is_variant && !r->sign_content.empty());
}

void SignedByAlipay(std::string_view body, const Keys& keys) {
  auto decoded = FormDecode(body);
  if (!decoded.ok()) return;
  // What Alipay would send: unique names, a sign_type it signs with, no SN of another certificate
  // (the SN of the configured one picks the cert-mode key).
  Params params;
  std::set<std::string> names;
  for (auto& [k, v] : *decoded) {
    if (k == "sign" || k == "sign_type" || !names.insert(k).second) continue;
    if (k == "alipay_cert_sn" && keys.notify.alipay_keys_by_cert_sn.count(v) == 0) continue;
    params.emplace_back(k, v);
  }
  params.emplace_back("sign_type", "RSA2");
  const std::string content = SignContentV2(params, EmptyValues::kSkip);
  auto sign = Sign(keys.alipay_private, SignType::kRsa2, content, "UTF-8");
  Check(sign.ok());
  params.emplace_back("sign", *sign);
  const std::string form = FormEncode(params);

  auto r = VerifyNotification(form, keys.notify);
  const std::string* charset = FindParam(params, "charset");
  std::string upper = charset == nullptr ? "" : *charset;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const bool utf8 = upper.empty() || upper == "UTF-8" || upper == "UTF8";
  if (!r.ok()) {
    // Only the charset conversion (after the signature verified) may refuse a genuine notification.
    Check(!utf8);
    Check(r.status().code() == StatusCode::kParseError || r.status().code() == StatusCode::kInvalidArgument);
    return;
  }
  Check(r->sign_content == content);
  Check(r->params.size() == params.size());
  if (utf8) {
    Check(r->params == params);
    const std::string* notify_id = FindParam(params, "notify_id");
    Check(r->notify_id == (notify_id == nullptr ? "" : *notify_id));
  }
}

}  // namespace
}  // namespace alipaymsg

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto& keys = alipaymsg::GetKeys();
  if (!text.empty() && text.front() == '!') {
    alipaymsg::SignedByAlipay(text.substr(1), keys);
  } else {
    alipaymsg::AsReceived(text, keys);
  }
  return 0;
}
