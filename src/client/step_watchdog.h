// A deadline over one step of a session (resolving, register.do, the WebSocket connect). When it
// expires, or when the session stops, the step's cancel action closes whatever the step waits on,
// and the step reports a timeout instead of the I/O error that follows. A cancellation that comes
// between two waits (the first one's completion already queued) is kept: the next OnCancel refuses,
// so the step does not start a wait nobody would cancel. On the session's strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include <boost/asio/steady_timer.hpp>

#include "client/link.h"

namespace alipaymsg::client {

class StepWatchdog {
 public:
  explicit StepWatchdog(Strand strand) : timer_(std::move(strand)) {}

  // Starts the deadline of a new step. `owner` (the session, which owns this watchdog: it must not
  // move) is kept alive until the timer's handler ran, so the handler may touch this watchdog.
  void Arm(std::shared_ptr<void> owner, std::chrono::milliseconds timeout) {
    const uint64_t generation = ++generation_;
    expired_ = false;
    cancelled_ = false;
    timer_.expires_after(timeout);
    timer_.async_wait([this, owner = std::move(owner), generation](boost::system::error_code ec) {
      if (ec || generation != generation_) return;
      expired_ = true;
      CancelStep();
    });
  }
  // The step ended: its deadline and cancel action go.
  void Disarm() {
    ++generation_;
    timer_.cancel();
    cancel_ = nullptr;
  }
  // Sets what aborts the wait the step is about to start (close a socket, cancel a resolver).
  // false, and nothing set, when the step was already cancelled (deadline or stop): do not start it.
  [[nodiscard]] bool OnCancel(std::function<void()> cancel) {
    if (cancelled_) return false;
    cancel_ = std::move(cancel);
    return true;
  }
  // The objects the cancel action touches are going away.
  void ClearCancel() { cancel_ = nullptr; }
  // The deadline passed or the session stops: aborts the current wait and refuses the next ones.
  void CancelStep() {
    cancelled_ = true;
    if (cancel_) cancel_();
  }
  bool expired() const { return expired_; }

 private:
  asio::steady_timer timer_;
  uint64_t generation_ = 0;
  bool expired_ = false;
  bool cancelled_ = false;
  std::function<void()> cancel_;
};

// Clears the watchdog's cancel action when the objects it touches (a resolver, a socket in this
// scope) go out of scope, so that a later CancelStep cannot reach them.
class CancelActionScope {
 public:
  explicit CancelActionScope(StepWatchdog& watchdog) : watchdog_(watchdog) {}
  ~CancelActionScope() { watchdog_.ClearCancel(); }
  CancelActionScope(const CancelActionScope&) = delete;
  CancelActionScope& operator=(const CancelActionScope&) = delete;

 private:
  StepWatchdog& watchdog_;
};

}  // namespace alipaymsg::client
