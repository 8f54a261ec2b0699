// Receiver::Run and Stop: the only Asio code of the receiver (a signal_set exists only while Run()
// waits, so a library user who handles signals differently sets handle_signals = false).
#include <signal.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <optional>

#include "alipaymsg/receiver.h"
#include "receiver/receiver_impl.h"

namespace alipaymsg {

Status Receiver::Run() {
  bool stopped_before = false;
  {
    std::lock_guard lock(impl_->mu);
    stopped_before = impl_->stop_requested;
  }
  if (!stopped_before) ALIPAYMSG_RETURN_IF_ERROR(Start());
  // Asio puts back SIG_DFL when the signal_set goes; the application's own dispositions (SIG_IGN
  // under nohup, a handler of its own) are put back after it instead.
  struct sigaction previous[2] = {};
  const int handled[2] = {SIGINT, SIGTERM};
  if (impl_->options.handle_signals) {
    for (int i = 0; i < 2; ++i) sigaction(handled[i], nullptr, &previous[i]);
  }
  auto restore_signals = [&] {
    if (!impl_->options.handle_signals) return;
    for (int i = 0; i < 2; ++i) sigaction(handled[i], &previous[i], nullptr);
  };
  try {
    boost::asio::io_context io(1);
    std::optional<boost::asio::signal_set> signals;
    if (impl_->options.handle_signals) {
      signals.emplace(io, SIGINT, SIGTERM);
      signals->async_wait([this, &io](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        impl_->stop_signal.store(signal);
        io.stop();
      });
    }
    auto work = boost::asio::make_work_guard(io);
    {
      std::lock_guard lock(impl_->mu);
      if (impl_->stop_requested) io.stop();  // run() then returns at once
      impl_->run_io = &io;
    }
    io.run();
    {
      std::lock_guard lock(impl_->mu);
      impl_->run_io = nullptr;
    }
    signals.reset();
  } catch (const boost::system::system_error& e) {
    {
      std::lock_guard lock(impl_->mu);
      impl_->run_io = nullptr;
    }
    restore_signals();
    Drain();
    return Internal(std::string("waiting for signals: ") + e.what());
  }
  // Before the drain: a second Ctrl-C then does what the application had it do (by default, end the
  // process; nothing is lost: what was not acked is redelivered, what was not handled runs at the
  // next start).
  restore_signals();
  Drain();
  return Status::Ok();
}

void Receiver::Stop() {
  std::lock_guard lock(impl_->mu);
  impl_->stop_requested = true;
  if (impl_->run_io) impl_->run_io->stop();
}

}  // namespace alipaymsg
