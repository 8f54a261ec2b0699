// The admin HTTP API on the shared listener (JSON handling is Hub::HandleAdmin) and the notification
// HTTP client.
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <optional>

#include "http/listener.h"
#include "sim/hub.h"
#include "sim/server_internal.h"

namespace alipaymsg::sim {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

class ListenerAdminServer final : public AdminServer {
 public:
  ListenerAdminServer(net::io_context& io, Hub& hub) : io_(io), hub_(hub) {}

  Status Open(const HostPort& where) {
    alipaymsg::http::ListenerOptions options;
    options.name = "admin";
    options.host = where.host;
    options.port = where.port;
    // Tests and benchmarks post large batches ({"messages": [...]} of thousands) over loopback.
    options.limits.max_body_bytes = 64 * 1024 * 1024;
    options.limits.body_timeout_ms = 120'000;
    options.server_header = "alipay-msg-sim";
    auto listener = alipaymsg::http::Listener::Start(
        options, [this](alipaymsg::http::Request request, alipaymsg::http::Respond respond) {
          // The hub lives on io_'s thread: answer there.
          net::post(io_, [this, request = std::move(request), respond = std::move(respond)] {
            HttpAnswer answer = hub_.HandleAdmin(request.method, request.target, request.body);
            alipaymsg::http::Response response;
            response.status = answer.status;
            response.content_type = answer.content_type;
            response.body = std::move(answer.body);
            respond(std::move(response));
          });
        });
    if (!listener.ok()) return listener.status();
    listener_ = std::move(*listener);
    return Status::Ok();
  }

  uint16_t port() const override { return static_cast<uint16_t>(listener_->port()); }
  void Close() override { listener_->Stop(); }

 private:
  net::io_context& io_;
  Hub& hub_;
  std::unique_ptr<alipaymsg::http::Listener> listener_;
};

// One notification POST: resolve, connect, (TLS), write, read; `done` exactly once.
class PostOperation : public std::enable_shared_from_this<PostOperation> {
 public:
  using Done = std::function<void(int, std::string, std::string)>;

  PostOperation(net::io_context& io, std::shared_ptr<ssl::context> tls, Done done)
      : resolver_(io), io_(io), tls_(std::move(tls)), done_(std::move(done)) {}

  void Start(const std::string& url, std::string body) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed) return Finish(0, "", "bad url '" + url + "': " + parsed.error().message());
    secure_ = parsed->scheme() == "https";
    if (!secure_ && parsed->scheme() != "http") return Finish(0, "", "url scheme must be http or https");
    host_ = std::string(parsed->host());
    if (host_.size() >= 2 && host_.front() == '[') host_ = host_.substr(1, host_.size() - 2);
    std::string port = parsed->has_port() ? std::string(parsed->port()) : (secure_ ? "443" : "80");
    std::string target = std::string(parsed->encoded_path());
    if (target.empty()) target = "/";
    if (parsed->has_query()) target += "?" + std::string(parsed->encoded_query());
    req_.method(http::verb::post);
    req_.target(target);
    req_.version(11);
    req_.set(http::field::host, parsed->has_port() ? host_ + ":" + port : host_);
    req_.set(http::field::user_agent, "alipay-msg-sim");
    req_.set(http::field::content_type, "application/x-www-form-urlencoded;charset=UTF-8");
    req_.keep_alive(false);
    req_.body() = std::move(body);
    req_.prepare_payload();
    resolver_.async_resolve(host_, port, beast::bind_front_handler(&PostOperation::OnResolve, shared_from_this()));
  }

 private:
  void OnResolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return Finish(0, "", "resolve " + host_ + ": " + ec.message());
    if (secure_) {
      tls_stream_.emplace(io_, *tls_);
      SSL_set_tlsext_host_name(tls_stream_->native_handle(), host_.c_str());
      beast::get_lowest_layer(*tls_stream_).expires_after(std::chrono::seconds(10));
      beast::get_lowest_layer(*tls_stream_)
          .async_connect(results, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
            if (ec) return self->Finish(0, "", "connect: " + ec.message());
            self->tls_stream_->async_handshake(ssl::stream_base::client, [self](beast::error_code ec) {
              if (ec) return self->Finish(0, "", "TLS handshake: " + ec.message());
              http::async_write(*self->tls_stream_, self->req_, beast::bind_front_handler(&PostOperation::OnWrite, self));
            });
          });
    } else {
      plain_.emplace(io_);
      plain_->expires_after(std::chrono::seconds(10));
      plain_->async_connect(results, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
        if (ec) return self->Finish(0, "", "connect: " + ec.message());
        http::async_write(*self->plain_, self->req_, beast::bind_front_handler(&PostOperation::OnWrite, self));
      });
    }
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    if (ec) return Finish(0, "", "write: " + ec.message());
    auto handler = beast::bind_front_handler(&PostOperation::OnRead, shared_from_this());
    if (secure_) {
      http::async_read(*tls_stream_, buffer_, res_, std::move(handler));
    } else {
      http::async_read(*plain_, buffer_, res_, std::move(handler));
    }
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) return Finish(0, "", "read: " + ec.message());
    Finish(static_cast<int>(res_.result_int()), res_.body(), "");
    beast::error_code ignored;
    if (plain_) plain_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    if (tls_stream_) beast::get_lowest_layer(*tls_stream_).socket().close(ignored);
  }

  void Finish(int status, std::string body, std::string error) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(status, std::move(body), std::move(error));
  }

  tcp::resolver resolver_;
  net::io_context& io_;
  std::shared_ptr<ssl::context> tls_;
  Done done_;
  bool secure_ = false;
  std::string host_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<ssl::stream<beast::tcp_stream>> tls_stream_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  beast::flat_buffer buffer_;
};

class BeastNotifyTransport final : public NotifyTransport {
 public:
  explicit BeastNotifyTransport(net::io_context& io)
      : io_(io), tls_(std::make_shared<ssl::context>(ssl::context::tls_client)) {
    tls_->set_verify_mode(ssl::verify_none);
  }

  void Post(const std::string& url, std::string body, std::function<void(int, std::string, std::string)> done) override {
    std::make_shared<PostOperation>(io_, tls_, std::move(done))->Start(url, std::move(body));
  }

 private:
  net::io_context& io_;
  std::shared_ptr<ssl::context> tls_;
};

}  // namespace

Result<std::unique_ptr<AdminServer>> StartAdminServer(net::io_context& io, const HostPort& where, Hub& hub) {
  auto listener = std::make_unique<ListenerAdminServer>(io, hub);
  Status status = listener->Open(where);
  if (!status.ok()) return status;
  return std::unique_ptr<AdminServer>(std::move(listener));
}

std::unique_ptr<NotifyTransport> MakeNotifyTransport(net::io_context& io) {
  return std::make_unique<BeastNotifyTransport>(io);
}

}  // namespace alipaymsg::sim
