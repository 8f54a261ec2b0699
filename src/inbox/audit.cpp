// The bounds of the rejected-message audit that every inbox backend applies (RejectedAuditLimits).
#include "inbox/backend_common.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "alipaymsg/clock.h"

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

namespace inbox {

Status CheckAuditLimits(const RejectedAuditLimits& limits) {
  if (limits.max_rows < 1 || limits.max_bytes < 1 || limits.max_frame_bytes < 64) {
    return InvalidArgument("inbox rejected-audit limits: max_rows and max_bytes must be at least 1, "
                           "max_frame_bytes at least 64");
  }
  return Status::Ok();
}

bool AuditOverLimits(int64_t rows, int64_t bytes, const RejectedAuditLimits& limits) {
  return rows > limits.max_rows || bytes > limits.max_bytes;
}

int64_t AuditRowsToPrune(int64_t rows, int64_t bytes, const RejectedAuditLimits& limits) {
  const int64_t rows_target = limits.max_rows - limits.max_rows / 10;
  const int64_t bytes_target = limits.max_bytes - limits.max_bytes / 10;
  if (rows <= 0) return 0;
  if (rows > rows_target) return rows - rows_target;
  if (bytes > bytes_target) return std::max<int64_t>(rows / 10, 1);
  return 0;
}

void CommitHealth::NoteFault(const Status& fault) {
  std::lock_guard lock(mu_);
  if (health_.can_commit) {
    health_.can_commit = false;
    health_.since_ms = SystemClock::Instance().NowMs();
  }
  health_.reason = fault.message();
  unhealthy_.store(true);
}

void CommitHealth::NoteWritten() {
  if (!unhealthy_.load()) return;
  std::lock_guard lock(mu_);
  health_ = InboxHealth{};
  unhealthy_.store(false);
}

InboxHealth CommitHealth::Get() const {
  std::lock_guard lock(mu_);
  return health_;
}

}  // namespace inbox
}  // namespace alipaymsg
