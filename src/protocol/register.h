// register.do and the WebSocket connect query (PROTOCOL.md §5, §6). Pure: callers do the HTTP.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "alipaymsg/credentials.h"
#include "alipaymsg/params.h"
#include "alipaymsg/status.h"

namespace alipaymsg {

// The value the Java SDK sends; Alipay's server may check it, so we speak as that client does.
inline constexpr std::string_view kDefaultSdkVersion = "alipay-sdk-java-4.39.223.ALL";

// register.do parameters, signed (§4.1), in the Java client's observed order (§4.2).
// `nonce`: 32 lowercase hex characters.
Result<Params> BuildRegisterParams(const Credentials& credentials, int64_t timestamp_ms,
                                   std::string_view nonce,
                                   std::string_view sdk_version = kDefaultSdkVersion);
// WebSocket connect parameters (no nonce; link_token), signed, in the Java client's order.
Result<Params> BuildConnectParams(const Credentials& credentials, std::string_view link_token,
                                  int64_t timestamp_ms,
                                  std::string_view sdk_version = kDefaultSdkVersion);

struct RegisterResponse {
  std::string code;
  std::string msg;
  std::string sub_code;
  std::string sub_msg;
  std::string link_token;
  std::string signed_text;                    // the raw "response" object text (§5.3)
  std::string sign;                           // base64; empty when absent
  std::optional<std::string> alipay_cert_sn;  // cert mode only, last top-level member

  bool success() const { return code == "10000" || code == "100000000"; }
};

// Parses a register.do body. kParseError/kProtocolError name what is missing or malformed.
Result<RegisterResponse> ParseRegisterResponse(std::string_view body);

// Checks a parsed response for `credentials`: success code (else the code, sub_code and sub_msg),
// signature present and valid with the Alipay public key (a failure says which key is probably
// wrong), alipay_cert_sn equal to ours in cert mode and absent in key mode, link_token present.
Status CheckRegisterResponse(const RegisterResponse& response, const Credentials& credentials);

// The zone from a Set-Cookie value ("zone=GZ00B; Path=/"); nullopt when it has none.
// kProtocolError for "zone=" with an empty value.
Result<std::optional<std::string>> ParseZoneCookie(std::string_view set_cookie);

// Server side (simulator): the register.do body for a response object text signed by Alipay.
// `response_object` is the exact JSON text of the "response" member; alipay_cert_sn only for
// cert-mode clients.
std::string BuildRegisterResponseBody(std::string_view response_object, std::string_view sign,
                                      std::optional<std::string_view> alipay_cert_sn);

}  // namespace alipaymsg
