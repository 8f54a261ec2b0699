// Fault injection (POST /faults): what a test asked the simulator to do wrong, and the state that
// the hub consults on each register, delivery and ack. Pure: no sockets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "alipaymsg/status.h"

namespace alipaymsg::sim {

enum class FaultKind {
  kDropConnections,  // close live WebSocket connections abruptly (TCP close, no close frame)
  kStopPong,         // stop answering WebSocket PINGs (a dead link as the client sees it)
  kResumePong,
  kMalformedFrame,   // send one malformed text frame on live connections
  kBadSignature,     // the next `count` CONSUMEs carry a wrong x-sign
  kDuplicate,        // the next `count` CONSUMEs are sent twice
  kRegisterError,    // the next `count` register.do calls fail with `code`/`sub_code`/`sub_msg`
  kSlowAckWindow,    // for `ms`, acks are held back and applied only when the window ends
  kForgeFlood,       // for `ms`, forged CONSUMEs (wrong x-sign, never stored) as fast as connections take them
  kHangUpgrade,      // the next `count` WebSocket upgrades are read and never answered
  kClear,            // back to normal
};
std::string_view ToString(FaultKind kind);

struct FaultRequest {
  FaultKind kind = FaultKind::kClear;
  std::string app_id;  // optional: only this app (drop_connections, malformed_frame, bad_signature, duplicate)
  int count = 1;
  int64_t ms = 0;
  std::string variant;  // malformed_frame: bad_json | no_separator | numeric_timestamp | unknown_cmd | no_type
  std::string code = "20000";
  std::string msg = "Service Currently Unavailable";
  std::string sub_code = "isp.unknow-error";
  std::string sub_msg = "系统繁忙";
};

// Upper bounds of "count" and "ms" (a billion; a year).
inline constexpr int64_t kMaxFaultCount = 1'000'000'000;
inline constexpr int64_t kMaxFaultMs = 365LL * 24 * 3600 * 1000;

// {"kind":"register_error","count":2,"code":"40004","sub_code":"...","sub_msg":"..."} etc.
// Unknown kinds and wrongly typed members are errors that name them.
Result<FaultRequest> ParseFaultRequest(std::string_view json);

// The malformed frame text for a variant (default bad_json). kInvalidArgument for an unknown variant.
Result<std::string> MalformedFrameText(std::string_view variant);

class FaultState {
 public:
  // Applies a stateful request (not drop_connections / malformed_frame, which act at once).
  void Apply(const FaultRequest& request, int64_t now_ms);

  bool pong_stopped() const { return pong_stopped_; }
  // Each consumes one unit when it fires for `app_id`.
  bool TakeBadSignature(const std::string& app_id);
  bool TakeDuplicate(const std::string& app_id);
  bool TakeHangUpgrade();
  // Fills `out` and returns true when this register must fail.
  bool TakeRegisterError(FaultRequest* out);
  bool AckWindowSlow(int64_t now_ms) const { return now_ms < slow_ack_until_ms_; }
  // forge_flood: whether `app_id` is being flooded with forgeries at `now_ms`.
  bool Forging(const std::string& app_id, int64_t now_ms) const {
    return now_ms < forge_until_ms_ && (forge_app_.empty() || forge_app_ == app_id);
  }
  int64_t slow_ack_until_ms() const { return slow_ack_until_ms_; }
  // JSON text describing the current state (GET /faults).
  std::string ToJson() const;

 private:
  bool pong_stopped_ = false;
  int bad_signature_remaining_ = 0;
  std::string bad_signature_app_;
  int duplicate_remaining_ = 0;
  std::string duplicate_app_;
  int register_error_remaining_ = 0;
  FaultRequest register_error_;
  int64_t slow_ack_until_ms_ = 0;
  int64_t forge_until_ms_ = 0;
  int hang_upgrade_remaining_ = 0;
  std::string forge_app_;
};

}  // namespace alipaymsg::sim
