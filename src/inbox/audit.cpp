// The bounds of the rejected-message audit that every inbox backend applies (RejectedAuditLimits).
#include <algorithm>
#include <string>
#include <string_view>

#include "alipaymsg/inbox.h"

namespace alipaymsg {
namespace {

constexpr size_t kMaxFieldBytes = 256;

// `text` cut to at most `max` bytes without splitting a UTF-8 sequence, with a note of what was cut.
std::string Cut(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  const std::string note = "...[cut, " + std::to_string(text.size()) + " bytes in all]";
  size_t keep = max > note.size() ? max - note.size() : 0;
  // Back off continuation bytes (10xxxxxx) so the kept part ends on a character boundary.
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;
  return std::string(text.substr(0, keep)) + note;
}

}  // namespace

RejectedMessage BoundedForAudit(const RejectedMessage& rejected, const RejectedAuditLimits& limits) {
  RejectedMessage out;
  out.app_id = Cut(rejected.app_id, kMaxFieldBytes);
  out.msg_id = Cut(rejected.msg_id, kMaxFieldBytes);
  out.msg_api = Cut(rejected.msg_api, kMaxFieldBytes);
  out.reason = Cut(rejected.reason, 4 * kMaxFieldBytes);
  out.channel = Cut(rejected.channel, kMaxFieldBytes);
  out.raw_frame = Cut(rejected.raw_frame, static_cast<size_t>(std::max<int64_t>(limits.max_frame_bytes, 0)));
  out.received_at_ms = rejected.received_at_ms;
  return out;
}

int64_t AuditBytes(const RejectedMessage& r) {
  return static_cast<int64_t>(r.app_id.size() + r.msg_id.size() + r.msg_api.size() + r.reason.size() +
                              r.raw_frame.size() + r.channel.size());
}

}  // namespace alipaymsg
