// Limits of an HTTP listener the library or the daemon opens (notifications, admin). Every one is
// bounded so that hostile or broken clients cost a bounded amount of memory, time and sockets.
#pragma once

#include <cstddef>

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

}  // namespace alipaymsg
