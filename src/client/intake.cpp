#include "client/intake.h"

#include "alipaymsg/client.h"

namespace alipaymsg::client {

Intake ClassifyFrame(std::string_view text, const Credentials& credentials,
                     std::string_view connection_app_id, int64_t now_ms) {
  Intake intake;
  Result<Frame> parsed = ParseFrame(text);
  if (!parsed.ok()) {
    intake.kind = Intake::Kind::kMalformed;
    intake.reason = parsed.status().message();
    return intake;
  }
  intake.frame = std::move(parsed).value();
  const Frame& frame = intake.frame;
  if (frame.empty_document) {
    intake.kind = Intake::Kind::kIgnored;
    intake.reason = "empty document";
    return intake;
  }
  if (frame.protocol.cmd == kCmdProduceAck) {
    intake.kind = Intake::Kind::kProduceAck;
    return intake;
  }
  if (frame.protocol.cmd != kCmdConsume) {
    intake.kind = Intake::Kind::kIgnored;
    intake.reason = "x-cmd '" + frame.protocol.cmd + "' is not sent to clients";
    return intake;
  }
  if (frame.protocol.msg_id.empty()) {
    // Without an id the inbox cannot make processing idempotent, and the ack could not name it.
    intake.kind = Intake::Kind::kMalformed;
    intake.reason = "CONSUME without x-msgId";
    return intake;
  }
  const std::string app_id = frame.app_id.empty() ? std::string(connection_app_id) : frame.app_id;
  Status verified = VerifyConsumeSignature(frame, credentials.alipay_public_key());
  if (!verified.ok()) {
    intake.kind = Intake::Kind::kRejected;
    intake.reason = verified.ToString();
    intake.rejected.app_id = app_id;
    intake.rejected.msg_id = frame.protocol.msg_id;
    intake.rejected.msg_api = frame.msg_api;
    intake.rejected.reason = intake.reason;
    intake.rejected.raw_frame = std::string(text);
    intake.rejected.channel = "websocket";
    intake.rejected.received_at_ms = now_ms;
    return intake;
  }
  intake.kind = Intake::Kind::kConsume;
  intake.message.app_id = app_id;
  intake.message.msg_id = frame.protocol.msg_id;
  intake.message.msg_api = frame.msg_api;
  intake.message.biz_content = std::move(intake.frame.content).value_or("");
  intake.message.channel = "websocket";
  intake.message.received_at_ms = now_ms;
  // The frame now only has to answer the CONSUME (header and x-msgId): drop the big texts, which
  // would otherwise stay in memory for as long as the message is in flight.
  intake.frame.content.reset();
  intake.frame.signed_data = std::string();
  intake.frame.protocol.sign = std::string();
  return intake;
}

SendResult ToSendResult(const Frame& produce_ack) {
  SendResult result;
  result.status = produce_ack.protocol.status;
  result.success = result.status == "SUCCESS";
  result.code = produce_ack.protocol.code;
  result.error = produce_ack.protocol.error;
  result.msg_id = produce_ack.protocol.msg_id;
  result.stream_id = produce_ack.header.stream_id;
  return result;
}

}  // namespace alipaymsg::client
