// One open WebSocket (plain or TLS) of a session: the read loop, the write queue (text frames, pings,
// the close frame) and the ping/pong liveness check. The session decides what frames mean, the link
// only moves them. Declared without Beast: only link.cpp pays for the WebSocket's compile cost.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "alipaymsg/status.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace alipaymsg::client {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;
using SteadyClock = std::chrono::steady_clock;
inline constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// What a link reports to its session (all calls on the session's strand).
class LinkEvents {
 public:
  virtual ~LinkEvents() = default;
  virtual void OnText(std::string text, SteadyClock::time_point read_at) = 0;
  virtual void OnLinkLost(std::string why) = 0;  // the first failure that ended the link
  virtual void OnDeadLink() = 0;                  // no pong within the timeout
  virtual bool ShouldRead() const = 0;            // false: backpressure or draining
  virtual bool ReadingPaused() const = 0;         // backpressure (not draining)
};

struct LinkSettings {
  std::string host;         // for SNI and host-name verification
  std::string host_header;  // Host header / handshake host
  bool host_is_ip = false;
  bool verify_tls = true;
  std::string zone;         // cookie: zone=<zone>; when non-empty
  std::string content_type;
  bool load_test = false;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds ping_interval{2000};
  std::chrono::milliseconds pong_timeout{10000};
};

class Link {
 public:
  virtual ~Link() = default;
  // TCP connect, TLS handshake (verified), WebSocket upgrade on `target`.
  virtual asio::awaitable<Status> Open(tcp::resolver::results_type endpoints, std::string target) = 0;
  // Reads, writes and pings until the link ends (error, dead link, close, Shutdown).
  virtual asio::awaitable<void> Run() = 0;
  virtual void Send(std::string text) = 0;
  virtual void CloseGracefully() = 0;  // close(1000) after everything queued so far
  virtual void Shutdown() = 0;         // close the socket now
  virtual void ResumeReading() = 0;
  bool closed() const { return closed_; }
  // What Open is (or was last) waiting for, for a timeout's message: "the TCP connection", ...
  const char* waiting_for() const { return waiting_for_; }
  SteadyClock::time_point opened_at{};

 protected:
  bool closed_ = false;
  const char* waiting_for_ = "the TCP connection";
};

// A link over TLS with `tls` (verified as LinkSettings say), or over plain TCP when it is null.
// Nothing connects before Open.
std::shared_ptr<Link> MakeLink(LinkEvents& events, Strand strand, ssl::context* tls, LinkSettings settings);

}  // namespace alipaymsg::client
