// Receiver::Run and Stop: the only Asio code of the receiver (a signal_set exists only while Run()
// waits, so a library user who handles signals differently sets handle_signals = false).
#include <signal.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <optional>

#include "alipaymsg/receiver.h"

namespace alipaymsg {

Status Receiver::Run() {
  bool stopped_before = false;
  {
    std::lock_guard lock(mu_);
    stopped_before = stop_requested_;
  }
  if (!stopped_before) ALIPAYMSG_RETURN_IF_ERROR(Start());
  try {
    boost::asio::io_context io(1);
    std::optional<boost::asio::signal_set> signals;
    if (options_.handle_signals) {
      signals.emplace(io, SIGINT, SIGTERM);
      signals->async_wait([this, &io](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        stop_signal_.store(signal);
        io.stop();
      });
    }
    auto work = boost::asio::make_work_guard(io);
    {
      std::lock_guard lock(mu_);
      if (stop_requested_) io.stop();  // run() then returns at once
      run_io_ = &io;
    }
    io.run();
    {
      std::lock_guard lock(mu_);
      run_io_ = nullptr;
    }
    // ~signal_set puts back the default actions: a second Ctrl-C during the drain ends the process
    // (nothing is lost: what was not acked is redelivered, what was not handled runs at next start).
  } catch (const boost::system::system_error& e) {
    Drain();
    return Internal(std::string("waiting for signals: ") + e.what());
  }
  Drain();
  return Status::Ok();
}

void Receiver::Stop() {
  std::lock_guard lock(mu_);
  stop_requested_ = true;
  if (run_io_) run_io_->stop();
}

}  // namespace alipaymsg
