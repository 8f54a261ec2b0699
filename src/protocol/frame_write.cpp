// Writing frames exactly as the Java client does (PROTOCOL.md §7, §8.1, §9.3, §10.1, §10.2).
#include "protocol/frame.h"
#include "protocol/text_util.h"

namespace alipaymsg {
namespace {

using protocol_internal::AppendJsonEscaped;
using protocol_internal::IsBlank;

void AppendHeaderLine(std::string& out, std::string_view name, const std::string& value) {
  if (IsBlank(value)) return;
  out += name;
  out += ':';
  out += value;
  out += "\r\n";
}

void AppendMember(std::string& out, std::string_view name, const std::string& value,
                  bool always = false) {
  if (!always && IsBlank(value)) return;
  if (out.back() != '{') out += ',';
  out += '"';
  out += name;
  out += "\":\"";
  AppendJsonEscaped(out, value);
  out += '"';
}

void AppendHeaderMember(std::string& out, std::string_view name, std::string_view value) {
  if (IsBlank(value)) return;
  if (out.back() != '{') out += ',';
  out += '"';
  out += name;
  out += "\":\"";
  AppendJsonEscaped(out, value);
  out += '"';
}

}  // namespace

std::string SerializeFrame(const FrameHeader& header, const ProtocolFields& protocol,
                           std::string_view data_json) {
  std::string out;
  out.reserve(256 + protocol.sign.size() + data_json.size());
  AppendHeaderLine(out, "from-sys", header.from_sys);
  AppendHeaderLine(out, "from-sys-ip", header.from_sys_ip);
  AppendHeaderLine(out, "stream-id", header.stream_id);
  if (out.empty()) out += "\r\n";
  out += "\r\n";
  out += "{\"protocol\":{";
  AppendMember(out, "x-type", protocol.type, /*always=*/true);
  AppendMember(out, "x-cmd", protocol.cmd);
  AppendMember(out, "x-msgId", protocol.msg_id);
  AppendMember(out, "x-timestamp", protocol.timestamp);
  AppendMember(out, "x-version", protocol.version);
  AppendMember(out, "x-status", protocol.status);
  AppendMember(out, "x-code", protocol.code);
  AppendMember(out, "x-error", protocol.error);
  AppendMember(out, "x-charset", protocol.charset);
  AppendMember(out, "x-signType", protocol.sign_type);
  AppendMember(out, "x-sign", protocol.sign);
  out += '}';
  if (!data_json.empty()) {
    out += ",\"data\":";
    out += data_json;
  }
  out += '}';
  return out;
}

std::string BuildConsumeAck(const Frame& consume, bool success, std::string_view fallback_stream_id) {
  FrameHeader header;
  header.from_sys = consume.header.from_sys;
  header.from_sys_ip = consume.header.from_sys_ip;
  // A stream-id line that was present but blank stays blank (the SDK then writes no line).
  header.stream_id = consume.has_stream_id ? consume.header.stream_id : std::string(fallback_stream_id);
  ProtocolFields ack;
  ack.type = "message";
  ack.cmd = std::string(kCmdConsumeAck);
  ack.msg_id = consume.protocol.msg_id;
  ack.version = "1.0";
  ack.status = success ? "SUCCESS" : "FAIL";
  return SerializeFrame(header, ack);
}

std::string BuildDataPart(std::string_view app_id, std::string_view msg_api,
                          std::string_view app_cert_sn, std::string_view alipay_root_cert_sn,
                          std::string_view content_json) {
  std::string out;
  out.reserve(96 + app_id.size() + msg_api.size() + app_cert_sn.size() +
              alipay_root_cert_sn.size() + content_json.size());
  out += "{\"header\":{";
  AppendHeaderMember(out, "appId", app_id);
  AppendHeaderMember(out, "msgApi", msg_api);
  AppendHeaderMember(out, "app_cert_sn", app_cert_sn);
  AppendHeaderMember(out, "alipay_root_cert_sn", alipay_root_cert_sn);
  out += '}';
  const bool has_content = !IsBlank(content_json);
  if (!has_content && out == "{\"header\":{}") return {};  // the SDK omits the data part
  if (has_content) {
    out += ",\"content\":";
    out += content_json;
  }
  out += '}';
  return out;
}

std::string ToRadix62(uint64_t value, int min_width) {
  static constexpr char kDigits[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  char buf[16];
  int n = 0;
  do {
    buf[n++] = kDigits[value % 62];
    value /= 62;
  } while (value > 0);
  std::string out;
  if (min_width > n) out.assign(static_cast<std::size_t>(min_width - n), '0');
  while (n > 0) out += buf[--n];
  return out;
}

std::string StreamIdGenerator::Next(int64_t now_ms) {
  const uint32_t seq = sequence_++;
  if (seq >= 200000) sequence_ = 0;  // the value just taken is still used, as in the SDK
  std::string id = "c";
  id += ToRadix62(now_ms < 0 ? 0 : static_cast<uint64_t>(now_ms), 8);
  id += ToRadix62(random_part_, 2);
  id += ToRadix62(seq, 3);
  return id;
}

}  // namespace alipaymsg
