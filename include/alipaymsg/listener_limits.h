// Limits of an HTTP listener the library or the daemon opens (notifications, admin). Every one is
// bounded so that hostile or broken clients cost a bounded amount of memory, time and sockets.
// ListenerStats: what such a listener has seen, for metrics and readiness.
#pragma once

#include <cstddef>
#include <cstdint>

namespace alipaymsg {

struct ListenerLimits {
  // A request whose Content-Length is larger is answered 413 from its header, before any of the
  // body is read; a chunked body is cut off at this size.
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_header_bytes = 8 * 1024;  // larger: 431
  int header_timeout_ms = 10000;  // the whole request header must arrive within this (slow clients closed)
  int body_timeout_ms = 10000;    // the whole body likewise, and the response write
  int idle_timeout_ms = 30000;    // keep-alive: wait this long for the next request; 0 = one request per connection
  // Connections open at once. A connection beyond it makes room by closing the oldest connection
  // that is only waiting (idle keep-alive, or a request header still arriving); when every
  // connection is busy with a request, the new one is closed instead.
  int max_connections = 1024;
};

struct ListenerStats {
  bool listening = false;     // bound and accepting
  int64_t active = 0;         // connections open now
  int64_t accepted = 0;       // connections accepted in total
  int64_t evicted = 0;        // waiting connections closed to make room under the cap
  int64_t refused = 0;        // new connections closed because every slot was busy
  int64_t timed_out = 0;      // closed for a header, body or idle timeout
  int64_t too_large = 0;      // 413 / 431
  int64_t bad_requests = 0;   // not HTTP, or a malformed request: 400 and closed
  int64_t requests = 0;       // handed to the handler
};

}  // namespace alipaymsg
