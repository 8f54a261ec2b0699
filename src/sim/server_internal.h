// Glue between server.cpp and admin.cpp (the two translation units that include Beast).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "alipaymsg/status.h"
#include "base/host_port.h"

namespace boost::asio {
class io_context;
}

namespace alipaymsg::sim {

class Hub;
class NotifyTransport;

// "127.0.0.1:8080", "[::1]:0", ":8080" (all interfaces), "localhost:8080": an IP address to bind.
Result<HostPort> ParseListenAddress(const std::string& text);

// The admin HTTP API on the shared bounded listener (src/http), on a thread of its own; each request
// is handed to the hub on `io` (the hub's thread). Close() stops the listener: call it from outside
// `io`'s thread before the io_context stops, so that every request already handed over is answered.
class AdminServer {
 public:
  virtual ~AdminServer() = default;
  virtual uint16_t port() const = 0;
  virtual void Close() = 0;
};
Result<std::unique_ptr<AdminServer>> StartAdminServer(boost::asio::io_context& io, const HostPort& where, Hub& hub);

// Beast HTTP(S) client for notifications (HTTPS without certificate checks: it is a test tool
// talking to local receivers).
std::unique_ptr<NotifyTransport> MakeNotifyTransport(boost::asio::io_context& io);

}  // namespace alipaymsg::sim
