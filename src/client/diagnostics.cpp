#include "client/diagnostics.h"

#include <utility>

namespace alipaymsg {

std::string_view ToString(ConnectionState state) {
  switch (state) {
    case ConnectionState::kIdle: return "idle";
    case ConnectionState::kRegistering: return "registering";
    case ConnectionState::kConnecting: return "connecting";
    case ConnectionState::kOpen: return "open";
    case ConnectionState::kBackoff: return "backoff";
    case ConnectionState::kClosing: return "closing";
    case ConnectionState::kStopped: return "stopped";
  }
  return "unknown";
}

void LatencyHistogram::Record(int64_t micros) {
  if (micros < 0) micros = 0;
  for (size_t i = 0; i < kBoundsUs.size(); ++i) {
    if (micros <= kBoundsUs[i]) {
      ++counts[i];
      break;
    }
  }
  ++count;
  sum_us += micros;
}

namespace client {

void Diagnostics::SetState(ConnectionState state, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  const bool was_open = stats_.state == ConnectionState::kOpen;
  stats_.state = state;
  stats_.connected = state == ConnectionState::kOpen;
  if (stats_.connected && !was_open) {
    stats_.connected_since_ms = now_ms;
    ++stats_.connects;
    if (stats_.connects > 1) ++stats_.reconnects;
  }
  if (!stats_.connected) stats_.connected_since_ms = 0;
  if (state != ConnectionState::kBackoff) stats_.next_attempt_in_ms = 0;
}

ConnectionState Diagnostics::state() const {
  std::lock_guard lock(mutex_);
  return stats_.state;
}

void Diagnostics::SetError(std::string error, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  stats_.last_error = std::move(error);
  stats_.last_error_at_ms = now_ms;
}

void Diagnostics::SetNextAttemptIn(int64_t ms) {
  std::lock_guard lock(mutex_);
  stats_.next_attempt_in_ms = ms;
}

ConnectionStats Diagnostics::Snapshot() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace client
}  // namespace alipaymsg
