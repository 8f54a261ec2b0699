// A plain TCP connection to 127.0.0.1 for tests that play a hostile or broken HTTP client (partial
// requests, one byte at a time, garbage, connections left idle).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace alipaymsg::testing {

class RawConnection {
 public:
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  // All of `data`; false once the peer has closed or reset the connection.
  bool Send(std::string_view data);
  // One response (header and Content-Length body), or what came before EOF, a reset or the deadline.
  std::string ReadResponse(std::chrono::milliseconds timeout);
  // Everything until EOF, a reset or the deadline.
  std::string ReadAll(std::chrono::milliseconds timeout);
  // True when the peer closed (EOF or reset) before the deadline; what it sent is dropped.
  bool ClosedWithin(std::chrono::milliseconds timeout);
  bool closed() const { return closed_; }

 private:
  bool WaitReadable(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
};

int StatusOf(const std::string& response);    // 0 when not an HTTP response
std::string BodyOf(const std::string& response);

}  // namespace alipaymsg::testing
