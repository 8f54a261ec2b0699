// The one bounded HTTP/1.1 listener (accept loop + per-connection session) every server of the
// project uses: the daemon's admin endpoint and the notification endpoint. Limits (body size,
// header/body timeouts, connection cap with eviction of waiting connections, keep-alive) are
// enforced here, once, so that no server reads an unbounded body or keeps a slow client forever.
// Beast/Asio stay inside listener.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "alipaymsg/listener_limits.h"
#include "alipaymsg/status.h"

namespace alipaymsg::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent, query included
  std::string path;    // target without the query
  std::string body;
  int version = 11;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool omit_body = false;  // HEAD: Content-Length of the body, no body
  bool close = false;      // close the connection after this response
};

// Answers one request. May be called once, from any thread; a responder that is dropped without
// being called closes the connection. The listener's destructor waits (ListenerOptions::answer_grace)
// for responders still held; one called or dropped after that does nothing.
using Respond = std::function<void(Response)>;
using Handler = std::function<void(Request, Respond)>;

struct ListenerOptions {
  std::string name = "http";  // "admin", "notify": for messages and metrics
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  ListenerLimits limits;
  // How long stopping waits for handlers still holding a responder (an inbox commit, say).
  std::chrono::milliseconds answer_grace{10000};
  std::string cert_file, key_file;  // both set: HTTPS (PEM certificate chain and private key)
  std::string server_header = "alipay-msg";
};

class Listener {
 public:
  // Binds host:port and serves on its own thread. Errors name the listener and the address.
  static Result<std::unique_ptr<Listener>> Start(ListenerOptions options, Handler handler);
  // Stops, then waits (bounded) for handlers still holding a responder before releasing the loop.
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int port() const;
  bool listening() const;
  ListenerStats Stats() const;
  // Closes the acceptor and every connection; idempotent.
  void Stop();

  class Impl;

 private:
  explicit Listener(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace alipaymsg::http
