// The HTTP listener for notifications: one session object per connection, reading requests and
// answering each with what NotifyReceiver decided (after the inbox commit).
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <memory>
#include <thread>

#include "alipaymsg/notify_receiver.h"

namespace alipaymsg {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxBodyBytes = 1 << 20;  // notifications are a few KiB

class NotifySession : public std::enable_shared_from_this<NotifySession> {
 public:
  NotifySession(tcp::socket socket, NotifyReceiver& receiver)
      : stream_(std::move(socket)), receiver_(receiver) {}

  void Start() { ReadRequest(); }

 private:
  void ReadRequest() {
    parser_.emplace();
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) return;  // closed, timed out or malformed: nothing to answer
    request_ = parser_->release();
    if (request_.method() != http::verb::post) {
      return Respond(http::status::method_not_allowed, "POST the notification form here\n");
    }
    receiver_.HandleAsync(request_.body(), [self = shared_from_this()](NotifyReceiver::Answer answer) {
      // The answer may come from the inbox's thread: go back to the socket's executor.
      asio::post(self->stream_.get_executor(), [self, answer = std::move(answer)] {
        self->Respond(static_cast<http::status>(answer.http_status), answer.body);
      });
    });
  }

  void Respond(http::status status, std::string body) {
    auto response = std::make_shared<http::response<http::string_body>>(status, request_.version());
    response->set(http::field::content_type, "text/plain;charset=UTF-8");
    response->keep_alive(request_.keep_alive());
    response->body() = std::move(body);
    response->prepare_payload();
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
                        if (ec || !response->keep_alive()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->ReadRequest();
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  NotifyReceiver& receiver_;
};

class BeastNotifyServer final : public NotifyServer {
 public:
  explicit BeastNotifyServer(NotifyReceiver& receiver) : acceptor_(io_), receiver_(receiver) {}
  ~BeastNotifyServer() override { Stop(); }

  Status Listen(const std::string& listen) {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) return InvalidArgument("notify listen address \"" + listen + "\" is not HOST:PORT");
    boost::system::error_code ec;
    auto address = asio::ip::make_address(listen.substr(0, colon), ec);
    if (ec) return InvalidArgument("notify listen address \"" + listen + "\": bad host");
    int port = 0;
    try {
      port = std::stoi(listen.substr(colon + 1));
    } catch (...) {
      port = -1;
    }
    if (port < 0 || port > 65535) return InvalidArgument("notify listen address \"" + listen + "\": bad port");
    tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return IoError("notify listen on " + listen + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
    return Status::Ok();
  }

  uint16_t port() const override { return port_; }

  void Stop() override {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      io_.stop();
    });
    thread_.join();
  }

 private:
  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;  // acceptor closed
      std::make_shared<NotifySession>(std::move(socket), receiver_)->Start();
      Accept();
    });
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  NotifyReceiver& receiver_;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<NotifyServer>> NotifyServer::Start(const std::string& listen, NotifyReceiver& receiver) {
  auto server = std::make_unique<BeastNotifyServer>(receiver);
  ALIPAYMSG_RETURN_IF_ERROR(server->Listen(listen));
  return std::unique_ptr<NotifyServer>(std::move(server));
}

}  // namespace alipaymsg
