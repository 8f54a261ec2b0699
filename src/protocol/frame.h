// The open-channel text frame codec (PROTOCOL.md §7–§10): header lines, CRLF CRLF, JSON document.
// Pure functions: no I/O, no clocks (callers pass times in), errors as values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "alipaymsg/credentials.h"
#include "alipaymsg/status.h"

namespace alipaymsg {

// Header lines. Empty = absent; written in the order from-sys, from-sys-ip, stream-id.
struct FrameHeader {
  std::string from_sys;
  std::string from_sys_ip;
  std::string stream_id;
};

// The "protocol" object's x-* members. Empty = absent (blank members are never written).
// Serialised in exactly this order: x-type x-cmd x-msgId x-timestamp x-version x-status x-code
// x-error x-charset x-signType x-sign.
struct ProtocolFields {
  std::string type;       // x-type, "message"
  std::string cmd;        // x-cmd: CONSUME, CONSUME_ACK, PRODUCE, PRODUCE_ACK
  std::string msg_id;     // x-msgId
  std::string timestamp;  // x-timestamp, ms as a digit string
  std::string version;    // x-version, "1.0"
  std::string status;     // x-status: SUCCESS / FAIL
  std::string code;       // x-code
  std::string error;      // x-error
  std::string charset;    // x-charset
  std::string sign_type;  // x-signType
  std::string sign;       // x-sign
};

inline constexpr std::string_view kCmdConsume = "CONSUME";
inline constexpr std::string_view kCmdConsumeAck = "CONSUME_ACK";
inline constexpr std::string_view kCmdProduce = "PRODUCE";
inline constexpr std::string_view kCmdProduceAck = "PRODUCE_ACK";

// A parsed frame. All text is copied out of the input.
struct Frame {
  FrameHeader header;
  bool has_stream_id = false;  // false: the sender wrote no stream-id line
  ProtocolFields protocol;

  bool has_data = false;       // the document had a "data" object
  std::string signed_data;     // the raw text the sender signed (§9.2 extraction)
  std::string app_id;          // data.header.appId
  std::string msg_api;         // data.header.msgApi
  std::string app_cert_sn;     // data.header.app_cert_sn
  std::string alipay_root_cert_sn;
  // The exact JSON text of data.content as on the wire (no re-serialisation); nullopt when absent.
  std::optional<std::string> content;
  bool empty_document = false;  // nothing after CRLF CRLF (the SDK ignores such frames)
};

// Parses a text frame. Every malformed input (no CRLF CRLF, invalid JSON, trailing garbage, a
// non-string x-* member such as a numeric x-timestamp, a non-digit x-timestamp, missing x-type,
// data/header/content of the wrong type) returns kParseError naming what is wrong.
// As in the SDK, a JSON null x-* or data.header member reads as absent (a null x-timestamp is an
// error) and unknown members are ignored. The data object must be the very text the §9.2
// extraction finds (else kParseError), so signed_data always covers the delivered header and
// content. Only whitespace after CRLF CRLF gives an empty_document frame (no error).
Result<Frame> ParseFrame(std::string_view text);

// Writes a frame exactly as the Java client does: header lines (blank ones skipped; a lone CRLF when
// there are none), CRLF, then {"protocol":{...}} or {"protocol":{...},"data":<data_json>} when
// data_json is non-empty. No whitespace; string values JSON-escaped.
std::string SerializeFrame(const FrameHeader& header, const ProtocolFields& protocol,
                           std::string_view data_json = {});

// §9.2: the signed text of a document: from the first `"data"\s*:\s*{` through its matching brace
// (string- and escape-aware). nullopt when there is no such match.
std::optional<std::string_view> ExtractSignedData(std::string_view json);
// The SDK's generic routine (used by tests against the SDK's own vectors): starting at `begin`
// (a '{' or a '"'), the balanced span; the rest of the text when unbalanced.
std::string_view ExtractSignContentAt(std::string_view text, std::size_t begin);

// §9.3: the CONSUME_ACK for `consume`. When the CONSUME had no stream-id line, `fallback_stream_id`
// is echoed (the Java client generates one).
std::string BuildConsumeAck(const Frame& consume, bool success, std::string_view fallback_stream_id = {});

// §10.1: {"header":{"appId":..,"msgApi":..[,"app_cert_sn":..,"alipay_root_cert_sn":..]},"content":..}
// built by concatenation like the SDK; `content_json` must be a JSON object text (or empty).
std::string BuildDataPart(std::string_view app_id, std::string_view msg_api,
                          std::string_view app_cert_sn, std::string_view alipay_root_cert_sn,
                          std::string_view content_json);

// A signed PRODUCE frame from the app. `content_json` must be a JSON object (validated).
Result<std::string> BuildProduceFrame(const Credentials& credentials, std::string_view stream_id,
                                      int64_t timestamp_ms, std::string_view msg_api,
                                      std::string_view content_json);

// Checks a CONSUME's x-sign over signed_data with the Alipay public key, using the frame's own
// x-signType and x-charset. Ok only when it verifies; missing x-sign/x-signType/x-charset, unknown
// sign type, no data part and mismatch are errors naming the cause.
Status VerifyConsumeSignature(const Frame& frame, const PublicKey& alipay_public_key);

// Digits 0-9A-Za-z, most significant first, left-padded with '0' to `min_width`.
std::string ToRadix62(uint64_t value, int min_width);

// Stream ids as the Java client makes them (§10.2): "c" + radix62(ms, 8) + radix62(random, 2) +
// radix62(sequence, 3). `random_part` must be in [0, 3843). Not thread-safe.
class StreamIdGenerator {
 public:
  explicit StreamIdGenerator(uint32_t random_part) : random_part_(random_part % 3843) {}
  std::string Next(int64_t now_ms);

 private:
  uint32_t random_part_;
  uint32_t sequence_ = 0;
};

}  // namespace alipaymsg
