// The admin HTTP server (Beast): one io_context thread, one short session per connection.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "daemon/admin.h"

namespace alipaymsg::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

}  // namespace

class AdminServer::Impl {
 public:
  Impl(Callbacks callbacks) : callbacks_(std::move(callbacks)), acceptor_(io_) {}

  Status Listen(const std::string& host, int port) {
    beast::error_code ec;
    asio::ip::address address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
    if (ec) return InvalidArgument("admin listen address \"" + host + "\": " + ec.message());
    tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return IoError("admin listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
    return Status::Ok();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
      io_.stop();
    });
    thread_.join();
  }

  int port() const { return port_; }

 private:
  struct Session {
    explicit Session(tcp::socket s) : stream(std::move(s)) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
  };

  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      } else {
        Serve(std::make_shared<Session>(std::move(socket)));
      }
      Accept();
    });
  }

  void Serve(std::shared_ptr<Session> s) {
    s->stream.expires_after(std::chrono::seconds(10));
    http::async_read(s->stream, s->buffer, s->request, [this, s](beast::error_code ec, size_t) {
      if (ec) return;
      Respond(*s);
      http::async_write(s->stream, s->response, [s](beast::error_code, size_t) {
        beast::error_code ignored;
        s->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      });
    });
  }

  void Respond(Session& s) {
    auto& res = s.response;
    res.version(s.request.version());
    res.keep_alive(false);
    res.set(http::field::server, "alipay-msgd");
    std::string target(s.request.target());
    if (size_t q = target.find('?'); q != std::string::npos) target.resize(q);
    if (s.request.method() != http::verb::get && s.request.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, "GET, HEAD");
      res.body() = "GET only\n";
    } else if (target == "/healthz") {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain");
      res.body() = "ok\n";
    } else if (target == "/readyz") {
      bool ready = false;
      std::vector<AppHealth> apps = callbacks_.health ? callbacks_.health() : std::vector<AppHealth>{};
      const InboxHealth inbox = callbacks_.inbox ? callbacks_.inbox() : InboxHealth{};
      res.body() = RenderReadiness(apps, inbox, ready) + "\n";
      res.result(ready ? http::status::ok : http::status::service_unavailable);
      res.set(http::field::content_type, "application/json");
    } else if (target == "/metrics") {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = RenderPrometheus(callbacks_.metrics ? callbacks_.metrics() : MetricsSnapshot{});
    } else {
      res.result(http::status::not_found);
      res.set(http::field::content_type, "text/plain");
      res.body() = "not found; try /healthz, /readyz, /metrics\n";
    }
    if (s.request.method() == http::verb::head) {
      res.content_length(res.body().size());
      res.body().clear();
    } else {
      res.prepare_payload();
    }
  }

  Callbacks callbacks_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  int port_ = 0;
};

Result<std::unique_ptr<AdminServer>> AdminServer::Start(const std::string& host, int port, Callbacks callbacks) {
  auto impl = std::make_unique<Impl>(std::move(callbacks));
  ALIPAYMSG_RETURN_IF_ERROR(impl->Listen(host, port));
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AdminServer::~AdminServer() { Stop(); }
int AdminServer::port() const { return impl_->port(); }
void AdminServer::Stop() { impl_->Stop(); }

}  // namespace alipaymsg::daemon
