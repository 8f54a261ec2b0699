// The admin HTTP API listener (JSON handling is Hub::HandleAdmin) and the notification HTTP client.
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <optional>

#include "sim/hub.h"
#include "sim/server_internal.h"

namespace alipaymsg::sim {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

class AdminSession : public std::enable_shared_from_this<AdminSession> {
 public:
  AdminSession(tcp::socket socket, Hub& hub) : stream_(std::move(socket)), hub_(hub) {}

  void Run() { DoRead(); }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->body_limit(64 * 1024 * 1024);
    stream_.expires_after(std::chrono::seconds(120));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&AdminSession::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    auto req = parser_->release();
    HttpAnswer answer = hub_.HandleAdmin(std::string(req.method_string()), req.target(), req.body());
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(answer.status), req.version());
    res->set(http::field::server, "alipay-msg-sim");
    res->set(http::field::content_type, answer.content_type);
    res->body() = std::move(answer.body);
    res->keep_alive(req.keep_alive());
    res->prepare_payload();
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec || !res->keep_alive()) {
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        return;
      }
      self->DoRead();
    });
  }

  beast::tcp_stream stream_;
  Hub& hub_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

class AdminListener final : public AdminServer {
 public:
  AdminListener(net::io_context& io, Hub& hub) : io_(io), acceptor_(io), hub_(hub) {}

  Status Open(const HostPort& where) {
    beast::error_code ec;
    tcp::endpoint endpoint(net::ip::make_address(where.host), where.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return IoError(ec.message());
    port_ = acceptor_.local_endpoint().port();
    Accept();
    return Status::Ok();
  }

  uint16_t port() const override { return port_; }
  void Close() override {
    beast::error_code ec;
    acceptor_.close(ec);
  }

 private:
  void Accept() {
    acceptor_.async_accept(io_, [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        return Accept();
      }
      std::make_shared<AdminSession>(std::move(socket), hub_)->Run();
      Accept();
    });
  }

  net::io_context& io_;
  tcp::acceptor acceptor_;
  Hub& hub_;
  uint16_t port_ = 0;
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
  auto listener = std::make_unique<AdminListener>(io, hub);
  Status status = listener->Open(where);
  if (!status.ok()) return status;
  return std::unique_ptr<AdminServer>(std::move(listener));
}

std::unique_ptr<NotifyTransport> MakeNotifyTransport(net::io_context& io) {
  return std::make_unique<BeastNotifyTransport>(io);
}

}  // namespace alipaymsg::sim
