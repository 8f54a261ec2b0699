// register.do / WebSocket connect parameters (§5.1, §6) and the register response check (§5.3).
#include <algorithm>
#include <array>

#include "alipaymsg/crypto.h"
#include "protocol/register.h"
#include "protocol/text_util.h"

namespace alipaymsg {
namespace {

using protocol_internal::IsBlank;
using protocol_internal::Snippet;

// The iteration order of the Java client's HashMaps (16 buckets), observed on the wire (§4.2).
// sign_type and app_id share a bucket, so their order follows insertion order, which differs
// between register and connect. Keys absent from a request are skipped.
constexpr std::array<std::string_view, 9> kRegisterOrder = {
    "app_cert_sn", "charset", "alipay_root_cert_sn", "sdk_version", "sign",
    "sign_type",   "app_id",  "nonce",               "timestamp"};
constexpr std::array<std::string_view, 9> kConnectOrder = {
    "app_cert_sn", "charset", "alipay_root_cert_sn", "link_token", "sdk_version",
    "sign",        "app_id",  "sign_type",           "timestamp"};

template <std::size_t N>
Params InOrder(Params unordered, const std::array<std::string_view, N>& order) {
  Params out;
  out.reserve(unordered.size());
  for (std::string_view name : order) {
    for (auto& p : unordered) {
      if (p.first == name) out.push_back(std::move(p));
    }
  }
  return out;
}

Status CheckNonce(std::string_view nonce) {
  if (nonce.size() != 32 ||
      !std::all_of(nonce.begin(), nonce.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    return InvalidArgument("register nonce must be 32 lowercase hex characters");
  }
  return Status::Ok();
}

// Adds the cert-mode members, signs over SignContentV2 and appends `sign`.
Result<Params> SignParams(const Credentials& credentials, Params params) {
  if (credentials.alipay_cert_sn().has_value() && !credentials.alipay_cert_sn()->empty()) {
    params.emplace_back("app_cert_sn", credentials.app_cert_sn());
    // A bundle without qualifying roots gives no root SN: the SDK then drops the parameter.
    if (credentials.alipay_root_cert_sn().has_value()) {
      params.emplace_back("alipay_root_cert_sn", *credentials.alipay_root_cert_sn());
    }
  }
  auto sign = Sign(credentials.app_private_key(), credentials.sign_type(), SignContentV2(params),
                   credentials.charset());
  if (!sign.ok()) return sign.status();
  params.emplace_back("sign", std::move(sign).value());
  return params;
}

}  // namespace

Result<Params> BuildRegisterParams(const Credentials& credentials, int64_t timestamp_ms,
                                   std::string_view nonce, std::string_view sdk_version) {
  ALIPAYMSG_RETURN_IF_ERROR(CheckNonce(nonce));
  Params params = {
      {"timestamp", std::to_string(timestamp_ms)},
      {"sign_type", std::string(ToString(credentials.sign_type()))},
      {"app_id", credentials.app_id()},
      {"charset", credentials.charset()},
      {"sdk_version", std::string(sdk_version)},
      {"nonce", std::string(nonce)},
  };
  auto signed_params = SignParams(credentials, std::move(params));
  if (!signed_params.ok()) return signed_params.status().WithContext("signing register.do parameters");
  return InOrder(std::move(signed_params).value(), kRegisterOrder);
}

Result<Params> BuildConnectParams(const Credentials& credentials, std::string_view link_token,
                                  int64_t timestamp_ms, std::string_view sdk_version) {
  if (IsBlank(link_token)) return InvalidArgument("connect needs the link_token from register.do");
  Params params = {
      {"app_id", credentials.app_id()},
      {"charset", credentials.charset()},
      {"link_token", std::string(link_token)},
      {"timestamp", std::to_string(timestamp_ms)},
      {"sign_type", std::string(ToString(credentials.sign_type()))},
      {"sdk_version", std::string(sdk_version)},
  };
  auto signed_params = SignParams(credentials, std::move(params));
  if (!signed_params.ok()) return signed_params.status().WithContext("signing connect parameters");
  return InOrder(std::move(signed_params).value(), kConnectOrder);
}

Status CheckRegisterResponse(const RegisterResponse& response, const Credentials& credentials) {
  if (!response.success()) {
    std::string m = "register.do failed: code " + Snippet(response.code);
    if (!response.msg.empty()) m += " (" + Snippet(response.msg, 200) + ")";
    if (!response.sub_code.empty()) m += ", sub_code " + Snippet(response.sub_code, 200);
    if (!response.sub_msg.empty()) m += ", sub_msg " + Snippet(response.sub_msg, 200);
    return ProtocolError(m);
  }
  if (response.sign.empty()) {
    return ProtocolError("register.do answered success but the response is not signed");
  }

  const std::optional<std::string>& our_sn = credentials.alipay_cert_sn();
  const bool cert_mode = our_sn.has_value() && !our_sn->empty();
  if (cert_mode) {
    if (!response.alipay_cert_sn) {
      return ProtocolError("register.do response has no alipay_cert_sn although we are in certificate mode "
                           "(our Alipay certificate SN is " + *our_sn + ")");
    }
    if (*response.alipay_cert_sn != *our_sn) {
      return ProtocolError("register.do response was signed by the Alipay certificate with SN " +
                           Snippet(*response.alipay_cert_sn) + ", but the configured Alipay certificate "
                           "has SN " + *our_sn + ": the Alipay public certificate file is probably "
                           "outdated or belongs to another environment (sandbox vs production)");
    }
  } else if (response.alipay_cert_sn) {
    return ProtocolError("register.do response carries alipay_cert_sn " + Snippet(*response.alipay_cert_sn) +
                         " but we are in key mode: the app is probably configured for public-key "
                         "certificates on the open platform (configure app/alipay/root certificates)");
  }

  const std::string_view type = ToString(credentials.sign_type());
  Status st = Verify(credentials.alipay_public_key(), credentials.sign_type(), response.signed_text,
                     response.sign, credentials.charset());
  if (st.code() == StatusCode::kSignatureMismatch) {
    return SignatureMismatch(
        "the register.do response signature does not verify with the configured Alipay public key (" +
        std::string(type) + "). The Alipay public key is probably wrong: a common mistake is to "
        "configure the app public key in its place; also check that sign_type " + std::string(type) +
        " matches the key type chosen on the open platform (RSA vs RSA2)");
  }
  if (!st.ok()) return Status(st.code(), "cannot check the register.do response signature: " + st.message());

  if (IsBlank(response.link_token)) return ProtocolError("register.do response has no link_token");
  return Status::Ok();
}

}  // namespace alipaymsg
