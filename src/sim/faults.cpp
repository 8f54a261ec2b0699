#include "sim/faults.h"

#include <algorithm>
#include <boost/json.hpp>
#include <limits>

namespace alipaymsg::sim {

namespace json = boost::json;

std::string_view ToString(FaultKind kind) {
  switch (kind) {
    case FaultKind::kDropConnections: return "drop_connections";
    case FaultKind::kStopPong: return "stop_pong";
    case FaultKind::kResumePong: return "resume_pong";
    case FaultKind::kMalformedFrame: return "malformed_frame";
    case FaultKind::kBadSignature: return "bad_signature";
    case FaultKind::kDuplicate: return "duplicate";
    case FaultKind::kRegisterError: return "register_error";
    case FaultKind::kSlowAckWindow: return "slow_ack_window";
    case FaultKind::kForgeFlood: return "forge_flood";
    case FaultKind::kHangUpgrade: return "hang_upgrade";
    case FaultKind::kClear: return "clear";
  }
  return "unknown";
}

namespace {

Status ReadString(const json::object& o, std::string_view name, std::string* out) {
  auto* v = o.if_contains(name);
  if (v == nullptr) return Status::Ok();
  if (!v->is_string()) return InvalidArgument("fault member '" + std::string(name) + "' must be a string");
  *out = std::string(v->as_string());
  return Status::Ok();
}

Status ReadInt(const json::object& o, std::string_view name, int64_t min, int64_t max, int64_t* out) {
  auto* v = o.if_contains(name);
  if (v == nullptr) return Status::Ok();
  if (!v->is_int64() && !v->is_uint64()) return InvalidArgument("fault member '" + std::string(name) + "' must be an integer");
  int64_t n = v->is_int64() ? v->as_int64() : static_cast<int64_t>(v->as_uint64());
  if (n < min) return InvalidArgument("fault member '" + std::string(name) + "' must be at least " + std::to_string(min));
  if (n > max || (v->is_uint64() && v->as_uint64() > static_cast<uint64_t>(max))) {
    return InvalidArgument("fault member '" + std::string(name) + "' must be at most " + std::to_string(max));
  }
  *out = n;
  return Status::Ok();
}

}  // namespace

Result<FaultRequest> ParseFaultRequest(std::string_view text) {
  json::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return ParseError("fault request is not JSON: " + ec.message());
  if (!doc.is_object()) return ParseError("fault request must be a JSON object");
  const json::object& o = doc.as_object();
  FaultRequest request;
  std::string kind;
  ALIPAYMSG_RETURN_IF_ERROR(ReadString(o, "kind", &kind));
  if (kind.empty()) return InvalidArgument("fault request needs \"kind\"");
  static constexpr FaultKind kAll[] = {FaultKind::kDropConnections, FaultKind::kStopPong, FaultKind::kResumePong,
                                       FaultKind::kMalformedFrame,  FaultKind::kBadSignature, FaultKind::kDuplicate,
                                       FaultKind::kRegisterError,   FaultKind::kSlowAckWindow, FaultKind::kForgeFlood,
                                       FaultKind::kHangUpgrade,     FaultKind::kClear};
  bool known = false;
  for (FaultKind k : kAll) {
    if (ToString(k) == kind) {
      request.kind = k;
      known = true;
    }
  }
  if (!known) {
    return InvalidArgument("unknown fault kind '" + kind +
                           "' (known: drop_connections, stop_pong, resume_pong, malformed_frame, bad_signature, "
                           "duplicate, register_error, slow_ack_window, forge_flood, hang_upgrade, clear)");
  }
  int64_t count = request.count;
  // Bounded so that counts add up and now + ms stays an int64 (both overflowed before).
  ALIPAYMSG_RETURN_IF_ERROR(ReadInt(o, "count", 1, kMaxFaultCount, &count));
  request.count = static_cast<int>(count);
  ALIPAYMSG_RETURN_IF_ERROR(ReadInt(o, "ms", 0, kMaxFaultMs, &request.ms));
  ALIPAYMSG_RETURN_IF_ERROR(ReadString(o, "app_id", &request.app_id));
  ALIPAYMSG_RETURN_IF_ERROR(ReadString(o, "variant", &request.variant));
  ALIPAYMSG_RETURN_IF_ERROR(ReadString(o, "code", &request.code));
  ALIPAYMSG_RETURN_IF_ERROR(ReadString(o, "msg", &request.msg));
  ALIPAYMSG_RETURN_IF_ERROR(ReadString(o, "sub_code", &request.sub_code));
  ALIPAYMSG_RETURN_IF_ERROR(ReadString(o, "sub_msg", &request.sub_msg));
  if (request.kind == FaultKind::kSlowAckWindow && o.if_contains("ms") == nullptr) {
    return InvalidArgument("slow_ack_window needs \"ms\" (how long acks are held back)");
  }
  if (request.kind == FaultKind::kForgeFlood && o.if_contains("ms") == nullptr) {
    return InvalidArgument("forge_flood needs \"ms\" (how long to send forgeries)");
  }
  if (request.kind == FaultKind::kRegisterError && (request.code.empty() || request.code == "10000")) {
    return InvalidArgument("register_error needs a failing \"code\" (not 10000)");
  }
  if (request.kind == FaultKind::kMalformedFrame) {
    auto text = MalformedFrameText(request.variant);
    if (!text.ok()) return text.status();
  }
  return request;
}

Result<std::string> MalformedFrameText(std::string_view variant) {
  // Deliberately broken frames; each breaks one rule of PROTOCOL.md §7/§8.
  if (variant.empty() || variant == "bad_json") {
    return std::string("stream-id:sbad0000000001\r\n\r\n{\"protocol\":{\"x-type\":\"message\",\"x-cmd\":\"CONSUME\"");
  }
  if (variant == "no_separator") {
    return std::string(
        "stream-id:sbad0000000002\n\n{\"protocol\":{\"x-type\":\"message\",\"x-cmd\":\"CONSUME\",\"x-msgId\":\"bad-no-separator\"}}");
  }
  if (variant == "numeric_timestamp") {
    return std::string(
        "stream-id:sbad0000000003\r\n\r\n{\"protocol\":{\"x-type\":\"message\",\"x-cmd\":\"CONSUME\",\"x-msgId\":"
        "\"bad-numeric-timestamp\",\"x-timestamp\":1700000000000,\"x-version\":\"1.0\"}}");
  }
  if (variant == "unknown_cmd") {
    return std::string(
        "stream-id:sbad0000000004\r\n\r\n{\"protocol\":{\"x-type\":\"message\",\"x-cmd\":\"FROB\",\"x-msgId\":\"bad-unknown-cmd\","
        "\"x-version\":\"1.0\"}}");
  }
  if (variant == "no_type") {
    return std::string(
        "stream-id:sbad0000000005\r\n\r\n{\"protocol\":{\"x-cmd\":\"CONSUME\",\"x-msgId\":\"bad-no-type\",\"x-version\":\"1.0\"}}");
  }
  return InvalidArgument("unknown malformed_frame variant '" + std::string(variant) +
                         "' (known: bad_json, no_separator, numeric_timestamp, unknown_cmd, no_type)");
}

namespace {
// Counts of repeated requests add up to at most INT_MAX instead of overflowing.
int AddCount(int remaining, int count) {
  return static_cast<int>(std::min<int64_t>(int64_t{remaining} + count, std::numeric_limits<int>::max()));
}
}  // namespace

void FaultState::Apply(const FaultRequest& request, int64_t now_ms) {
  switch (request.kind) {
    case FaultKind::kStopPong: pong_stopped_ = true; break;
    case FaultKind::kResumePong: pong_stopped_ = false; break;
    case FaultKind::kBadSignature:
      bad_signature_remaining_ = AddCount(bad_signature_remaining_, request.count);
      bad_signature_app_ = request.app_id;
      break;
    case FaultKind::kDuplicate:
      duplicate_remaining_ = AddCount(duplicate_remaining_, request.count);
      duplicate_app_ = request.app_id;
      break;
    case FaultKind::kRegisterError:
      register_error_ = request;
      register_error_remaining_ = request.count;
      break;
    case FaultKind::kSlowAckWindow: slow_ack_until_ms_ = now_ms + request.ms; break;
    case FaultKind::kHangUpgrade: hang_upgrade_remaining_ += request.count; break;
    case FaultKind::kForgeFlood:
      forge_until_ms_ = now_ms + request.ms;
      forge_app_ = request.app_id;
      break;
    case FaultKind::kClear: *this = FaultState(); break;
    case FaultKind::kDropConnections:
    case FaultKind::kMalformedFrame: break;  // act at once, no state
  }
}

bool FaultState::TakeBadSignature(const std::string& app_id) {
  if (bad_signature_remaining_ <= 0 || (!bad_signature_app_.empty() && bad_signature_app_ != app_id)) return false;
  --bad_signature_remaining_;
  return true;
}

bool FaultState::TakeHangUpgrade() {
  if (hang_upgrade_remaining_ <= 0) return false;
  --hang_upgrade_remaining_;
  return true;
}

bool FaultState::TakeDuplicate(const std::string& app_id) {
  if (duplicate_remaining_ <= 0 || (!duplicate_app_.empty() && duplicate_app_ != app_id)) return false;
  --duplicate_remaining_;
  return true;
}

bool FaultState::TakeRegisterError(FaultRequest* out) {
  if (register_error_remaining_ <= 0) return false;
  --register_error_remaining_;
  *out = register_error_;
  return true;
}

std::string FaultState::ToJson() const {
  json::object o;
  o["pong_stopped"] = pong_stopped_;
  o["bad_signature_remaining"] = bad_signature_remaining_;
  o["duplicate_remaining"] = duplicate_remaining_;
  o["register_error_remaining"] = register_error_remaining_;
  if (register_error_remaining_ > 0) o["register_error_code"] = register_error_.code;
  o["slow_ack_until_ms"] = slow_ack_until_ms_;
  o["forge_until_ms"] = forge_until_ms_;
  o["hang_upgrade_remaining"] = hang_upgrade_remaining_;
  return json::serialize(o);
}

}  // namespace alipaymsg::sim
