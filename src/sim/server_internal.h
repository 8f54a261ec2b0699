// Glue between server.cpp and admin.cpp (the two translation units that include Beast).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "alipaymsg/status.h"

namespace boost::asio {
class io_context;
}

namespace alipaymsg::sim {

class Hub;
class NotifyTransport;

struct HostPort {
  std::string host;
  uint16_t port = 0;
};
// "127.0.0.1:8080", "[::1]:0", ":8080" (all interfaces), "localhost:8080".
Result<HostPort> ParseHostPort(const std::string& text);

// Starts the admin HTTP listener on `where`; returns an owner handle and the bound port.
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
