// A deadline over one step of a session (resolving, register.do, the WebSocket connect). When it
// expires, or when the session stops, the step's cancel action closes whatever the step waits on,
// and the step reports a timeout instead of the I/O error that follows. On the session's strand.
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

  // Starts the deadline of a new step. `owner` (the session) is kept alive until the timer's
  // handler ran, so the handler may touch this watchdog.
  void Arm(std::shared_ptr<void> owner, std::chrono::milliseconds timeout) {
    const uint64_t generation = ++generation_;
    expired_ = false;
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
  // What aborts the step's current wait (close a socket, cancel a resolver).
  void OnCancel(std::function<void()> cancel) { cancel_ = std::move(cancel); }
  void CancelStep() {
    if (cancel_) cancel_();
  }
  bool expired() const { return expired_; }

 private:
  asio::steady_timer timer_;
  uint64_t generation_ = 0;
  bool expired_ = false;
  std::function<void()> cancel_;
};

}  // namespace alipaymsg::client
