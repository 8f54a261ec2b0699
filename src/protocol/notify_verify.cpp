// HTTP notification verification (NOTIFY.md): decode once, then try the sign-content variants
// Alipay uses (with/without sign_type, empty values skipped/kept) over the bytes as received.
#include <iconv.h>

#include <cerrno>
#include <set>

#include "alipaymsg/notify.h"

#include "alipaymsg/cert.h"
#include "protocol/text_util.h"

namespace alipaymsg {
namespace {

using protocol_internal::IsBlank;
using protocol_internal::Snippet;

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool IsUtf8(std::string_view charset) {
  const std::string u = Upper(charset);
  return u.empty() || u == "UTF-8" || u == "UTF8";
}

// Text in `charset` to UTF-8 (glibc iconv); invalid input is an error, never silently replaced.
Result<std::string> ToUtf8(std::string_view text, const std::string& charset) {
  iconv_t cd = iconv_open("UTF-8", charset.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    return InvalidArgument("unsupported notification charset \"" + Snippet(charset) + "\"");
  }
  std::string out(text.size() * 2 + 16, '\0');
  char* in = const_cast<char*>(text.data());
  std::size_t in_left = text.size();
  std::size_t out_pos = 0;
  Status failure;
  while (in_left > 0) {
    char* out_ptr = out.data() + out_pos;
    std::size_t out_left = out.size() - out_pos;
    const std::size_t r = iconv(cd, &in, &in_left, &out_ptr, &out_left);
    out_pos = static_cast<std::size_t>(out_ptr - out.data());
    if (r != static_cast<std::size_t>(-1)) continue;
    if (errno == E2BIG) {
      out.resize(out.size() * 2);
      continue;
    }
    failure = ParseError("a notification value is not valid " + charset + " text");
    break;
  }
  iconv_close(cd);
  if (!failure.ok()) return failure;
  out.resize(out_pos);
  return out;
}

Result<const PublicKey*> PickKey(const Params& params, const NotifyKeys& keys) {
  const std::string* sn = FindParam(params, "alipay_cert_sn");
  if (sn != nullptr && !IsBlank(*sn) && !keys.alipay_keys_by_cert_sn.empty()) {
    auto it = keys.alipay_keys_by_cert_sn.find(*sn);
    if (it == keys.alipay_keys_by_cert_sn.end()) {
      std::string known;
      for (const auto& [k, v] : keys.alipay_keys_by_cert_sn) known += (known.empty() ? "" : ", ") + k;
      return NotFound("notification is signed with the Alipay certificate SN " + Snippet(*sn) +
                      ", which matches no configured Alipay certificate (configured: " + known +
                      "); download the current Alipay public certificate");
    }
    return &it->second;
  }
  if (keys.alipay_public_key != nullptr) return keys.alipay_public_key;
  if (keys.alipay_keys_by_cert_sn.size() == 1) return &keys.alipay_keys_by_cert_sn.begin()->second;
  return InvalidArgument("no Alipay public key configured to verify notifications");
}

}  // namespace

Result<VerifiedNotification> VerifyNotification(std::string_view form_body, const NotifyKeys& keys) {
  auto decoded = FormDecode(form_body);
  if (!decoded.ok()) return decoded.status().WithContext("notification body");
  Params params = std::move(decoded).value();

  // A repeated name would let the signed value and the value the application reads differ.
  std::set<std::string_view> names;
  for (const auto& p : params) {
    if (!names.insert(p.first).second) {
      return ParseError("notification parameter \"" + Snippet(p.first) + "\" appears more than once");
    }
  }

  const std::string* sign = FindParam(params, "sign");
  if (sign == nullptr || IsBlank(*sign)) return ParseError("notification has no sign parameter");
  const std::string* sign_type_param = FindParam(params, "sign_type");
  const std::string sign_type_name =
      (sign_type_param == nullptr || IsBlank(*sign_type_param)) ? "RSA2" : *sign_type_param;
  auto type = ParseSignType(sign_type_name);
  if (!type.ok()) return type.status().WithContext("notification sign_type");
  const std::string* charset_param = FindParam(params, "charset");
  const std::string charset = charset_param == nullptr ? "" : Upper(*charset_param);

  auto key = PickKey(params, keys);
  if (!key.ok()) return key.status();

  // The form bytes are already in the notification's charset: verify them as they are ("UTF-8"
  // means "no re-encoding" to Verify), whatever that charset is.
  const std::string variants[] = {
      SignContentV2(params, EmptyValues::kSkip),
      SignContentV1(params, EmptyValues::kSkip),
      SignContentV2(params, EmptyValues::kKeep),
      SignContentV1(params, EmptyValues::kKeep),
  };
  const std::string* verified = nullptr;
  for (std::size_t i = 0; i < std::size(variants) && verified == nullptr; ++i) {
    bool tried = false;
    for (std::size_t j = 0; j < i; ++j) tried = tried || variants[j] == variants[i];
    if (tried || variants[i].empty()) continue;
    Status st = Verify(**key, *type, variants[i], *sign, "UTF-8");
    if (st.ok()) {
      verified = &variants[i];
    } else if (st.code() != StatusCode::kSignatureMismatch) {
      return Status(st.code(), "cannot check the notification signature: " + st.message());
    }
  }
  if (verified == nullptr) {
    return SignatureMismatch("notification signature (" + sign_type_name +
                             ") does not verify with the Alipay public key, with or without sign_type, "
                             "skipping or keeping empty values: the notification was altered or the "
                             "Alipay public key is wrong");
  }

  VerifiedNotification out;
  out.sign_content = *verified;
  if (!IsUtf8(charset)) {
    for (auto& [name, value] : params) {
      auto v = ToUtf8(value, charset);
      if (!v.ok()) return v.status().WithContext("parameter \"" + Snippet(name) + "\"");
      value = std::move(v).value();
    }
  }
  auto get = [&params](std::string_view name) {
    const std::string* v = FindParam(params, name);
    return v == nullptr ? std::string() : *v;
  };
  out.notify_id = get("notify_id");
  out.app_id = get("app_id");
  out.msg_method = get("msg_method");
  out.notify_type = get("notify_type");
  out.biz_content = get("biz_content");
  out.params = std::move(params);
  return out;
}

Result<std::map<std::string, PublicKey>> LoadAlipayCertKeys(const std::string& pem_path) {
  auto certs = Certificate::LoadPemFile(pem_path);
  if (!certs.ok()) return certs.status();
  std::map<std::string, PublicKey> keys;
  for (const auto& cert : *certs) {
    auto key = cert.GetPublicKey();
    if (key.ok()) keys.emplace(cert.Sn(), std::move(*key));
  }
  if (keys.empty()) return InvalidArgument(pem_path + ": no certificate with a usable public key");
  return keys;
}

}  // namespace alipaymsg
