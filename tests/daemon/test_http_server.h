// A minimal HTTP/1.1 server on 127.0.0.1 for the webhook tests: records each request and answers it
// with a status chosen per request (or never answers, to test timeouts). Plain sockets, one thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace alipaymsg::daemon_test {

class TestHttpServer {
 public:
  // Answers every request with `status` (never, when `answer` is false).
  explicit TestHttpServer(int status, bool answer = true)
      : TestHttpServer([status](const std::string&) { return status; }, answer) {}
  // Answers each request (the whole text: request line, headers, body) with status_of(request).
  explicit TestHttpServer(std::function<int(const std::string&)> status_of, bool answer = true)
      : status_of_(std::move(status_of)), answer_(answer) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 16);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestHttpServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    for (int c : held_) close(c);
  }
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      size_t body_needed = std::string::npos;
      while (true) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
        size_t end = req.find("\r\n\r\n");
        if (end != std::string::npos && body_needed == std::string::npos) {
          size_t cl = req.find("Content-Length: ");
          body_needed = end + 4 + (cl == std::string::npos ? 0 : std::stoul(req.substr(cl + 16)));
        }
        if (req.size() >= body_needed) break;
      }
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
      }
      if (answer_) {
        const int status = status_of_(req);
        std::string resp = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope";
        (void)!write(c, resp.data(), resp.size());
        close(c);
      } else {
        held_.push_back(c);  // never answers
      }
    }
  }
  std::function<int(const std::string&)> status_of_;
  bool answer_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::vector<int> held_;
};

}  // namespace alipaymsg::daemon_test
