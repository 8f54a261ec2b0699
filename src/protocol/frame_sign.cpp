// The signed frames: PRODUCE (§10.1, signed by the app) and CONSUME verification (§9.2).
#include "alipaymsg/crypto.h"
#include "protocol/frame.h"
#include "protocol/json_check.h"
#include "protocol/text_util.h"

namespace alipaymsg {
namespace {

using protocol_internal::IsBlank;

Status ValidateJsonObject(std::string_view text) {
  const protocol_internal::JsonCheck check = protocol_internal::CheckJson(text, 64);
  if (check.error) {
    return InvalidArgument("content is not valid JSON: " + check.error.message() + " near byte " +
                           std::to_string(check.consumed));
  }
  if (check.consumed != text.size())
    return InvalidArgument("content has text after the JSON value at byte " + std::to_string(check.consumed));
  if (!check.top_is_object) return InvalidArgument("content must be a JSON object");
  return Status::Ok();
}

}  // namespace

Result<std::string> BuildProduceFrame(const Credentials& credentials, std::string_view stream_id,
                                      int64_t timestamp_ms, std::string_view msg_api,
                                      std::string_view content_json) {
  if (!IsBlank(content_json)) ALIPAYMSG_RETURN_IF_ERROR(ValidateJsonObject(content_json));
  if (timestamp_ms < 0) return InvalidArgument("negative PRODUCE timestamp");
  // The SN members are sent only by a client that has an app cert SN (§10.1).
  const bool with_sns = !credentials.app_cert_sn().empty();
  const std::string data = BuildDataPart(
      credentials.app_id(), msg_api, with_sns ? std::string_view(credentials.app_cert_sn()) : "",
      with_sns ? std::string_view(credentials.alipay_root_cert_sn().value_or("")) : "", content_json);
  if (data.empty()) return InvalidArgument("PRODUCE needs an app id, a msgApi or content to sign");
  auto sign = Sign(credentials.app_private_key(), credentials.sign_type(), data, credentials.charset());
  if (!sign.ok()) return sign.status().WithContext("signing PRODUCE");

  FrameHeader header;
  header.stream_id = std::string(stream_id);
  ProtocolFields p;
  p.type = "message";
  p.cmd = std::string(kCmdProduce);
  p.timestamp = std::to_string(timestamp_ms);
  p.version = "1.0";
  p.charset = credentials.charset();
  p.sign_type = std::string(ToString(credentials.sign_type()));
  p.sign = std::move(sign).value();
  return SerializeFrame(header, p, data);
}

Status VerifyConsumeSignature(const Frame& frame, const PublicKey& alipay_public_key) {
  const ProtocolFields& p = frame.protocol;
  if (!frame.has_data || frame.signed_data.empty()) {
    return InvalidArgument("cannot check the signature: the message has no data part");
  }
  if (IsBlank(p.sign)) return InvalidArgument("cannot check the signature: x-sign is missing");
  if (IsBlank(p.sign_type)) return InvalidArgument("cannot check the signature: x-signType is missing");
  if (IsBlank(p.charset)) return InvalidArgument("cannot check the signature: x-charset is missing");
  auto type = ParseSignType(p.sign_type);
  if (!type.ok()) return type.status().WithContext("x-signType");
  Status st = Verify(alipay_public_key, *type, frame.signed_data, p.sign, p.charset);
  if (st.ok()) return st;
  if (st.code() == StatusCode::kSignatureMismatch) {
    return SignatureMismatch("x-sign (" + p.sign_type + ") does not verify over the data part with the "
                             "Alipay public key: the message was altered, or the configured Alipay "
                             "public key is wrong");
  }
  return Status(st.code(), "cannot check x-sign: " + st.message());
}

}  // namespace alipaymsg
