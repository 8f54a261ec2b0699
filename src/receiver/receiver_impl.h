// What a Receiver holds: its parts, the lock over its run state, and the io_context Run() waits on.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "alipaymsg/receiver.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace alipaymsg {

struct Receiver::Impl {
  ReceiverOptions options;
  std::unique_ptr<Inbox> inbox;
  Router router;
  Status handler_error;  // the first On() that failed
  std::unique_ptr<Dispatcher> dispatcher;
  std::atomic<Dispatcher*> started_dispatcher{nullptr};  // set once dispatcher has started
  std::unique_ptr<Client> client;

  std::mutex mu;  // the state below
  bool started = false;
  bool stop_requested = false;
  bool drained = false;
  bool closed = false;
  boost::asio::io_context* run_io = nullptr;  // Run()'s, while it waits (Stop() stops it)
  std::mutex shutdown_mu;  // one Drain()/Shutdown() at a time
  std::atomic<int> stop_signal{0};
};

}  // namespace alipaymsg
