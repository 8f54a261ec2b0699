// The WebSocket of a link (Beast): the one translation unit that instantiates it, for TLS and plain.
#include "client/link.h"

#include <deque>
#include <tuple>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "client/coalescing_stream.h"
#include "crypto/tls_peer.h"

namespace alipaymsg::client {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

template <bool kTls>
class LinkT final : public Link {
  using Transport =
      std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;
  using Stream = websocket::stream<CoalescingStream<Transport>>;

 public:
  LinkT(LinkEvents& events, Strand strand, ssl::context* tls, LinkSettings settings)
      : events_(events),
        ws_(MakeTransport(strand, tls)),
        settings_(std::move(settings)),
        write_wake_(strand),
        read_wake_(strand),
        ping_timer_(strand) {}

  asio::awaitable<Status> Open(tcp::resolver::results_type endpoints, std::string target) override {
    auto& tcp_layer = beast::get_lowest_layer(ws_);
    waiting_for_ = "the TCP connection";
    auto [ec, endpoint] = co_await tcp_layer.async_connect(endpoints, kUseTuple);
    (void)endpoint;
    if (ec) co_return Unavailable("TCP connect to " + settings_.host_header + ": " + ec.message());
    tcp_layer.socket().set_option(tcp::no_delay(true), ec);
    if constexpr (kTls) {
      SSL* native = ws_.next_layer().next_layer().native_handle();
      if (settings_.verify_tls) {
        if (!alipaymsg::tls::ExpectPeerName(native, settings_.host))
          co_return InvalidArgument("cannot verify TLS host name \"" + settings_.host + "\"");
      } else if (!settings_.host_is_ip) {
        SSL_set_tlsext_host_name(native, settings_.host.c_str());
      }
      waiting_for_ = "the TLS handshake";
      auto [hec] = co_await ws_.next_layer().next_layer().async_handshake(ssl::stream_base::client, kUseTuple);
      if (hec) co_return Unavailable("TLS handshake with " + settings_.host_header + ": " +
                                     alipaymsg::tls::DescribeHandshakeFailure(native, settings_.host, hec.message()));
    }
    ws_.set_option(websocket::stream_base::timeout{settings_.connect_timeout,
                                                   websocket::stream_base::none(), false});
    ws_.set_option(websocket::stream_base::decorator(
        [zone = settings_.zone, content_type = settings_.content_type,
         load_test = settings_.load_test](websocket::request_type& request) {
          request.erase(http::field::user_agent);
          request.set(http::field::content_type, content_type);
          if (!zone.empty()) request.set("cookie", "zone=" + zone + ";");
          if (load_test) request.set("LoadTest", "true");
        }));
    ws_.read_message_max(kMaxMessageBytes);
    ws_.auto_fragment(false);
    websocket::response_type response;
    waiting_for_ = "the WebSocket upgrade response";
    auto [wec] = co_await ws_.async_handshake(response, settings_.host_header, target, kUseTuple);
    if (wec) {
      if (wec == beast::error::timeout)
        co_return Timeout("timed out after " + std::to_string(settings_.connect_timeout.count()) +
                          " ms waiting for the WebSocket upgrade response (the server accepted the "
                          "connection and sent nothing back)");
      std::string why = "WebSocket upgrade: " + wec.message();
      // Only a response that arrived has a status: Beast presets 500 before reading one.
      if (wec == websocket::condition::handshake_failed)
        why += " (HTTP " + std::to_string(response.result_int()) + ": " +
               response.body().substr(0, 200) + ")";
      co_return Unavailable(why);
    }
    waiting_for_ = "nothing";
    ws_.text(true);
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::pong) last_pong_ = SteadyClock::now();
    });
    opened_at = SteadyClock::now();
    last_pong_ = opened_at;
    co_return Status::Ok();
  }

  asio::awaitable<void> Run() override {
    using namespace asio::experimental::awaitable_operators;
    co_await (ReadLoop() && WriteLoop() && PingLoop());
  }

  void Send(std::string text) override { Enqueue({Kind::kText, std::move(text)}); }
  void CloseGracefully() override {
    if (close_queued_) return;
    close_queued_ = true;
    Enqueue({Kind::kClose, {}});
  }
  void ResumeReading() override {
    last_pong_ = SteadyClock::now();  // pongs could not be seen while reading was paused
    read_wake_.cancel();
  }

  void Shutdown() override {
    if (closed_) return;
    closed_ = true;
    write_wake_.cancel();
    read_wake_.cancel();
    ping_timer_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
  }

 private:
  enum class Kind { kText, kPing, kClose };
  struct Outgoing {
    Kind kind;
    std::string text;
  };
  static constexpr size_t kMaxMessageBytes = 4 << 20;

  static Stream MakeTransport(Strand strand, ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(strand, *tls);
    } else {
      (void)tls;
      return Stream(strand);
    }
  }

  void Enqueue(Outgoing item) {
    if (closed_) return;
    queue_.push_back(std::move(item));
    write_wake_.cancel();
  }

  void Lost(std::string why) {
    if (closed_) return;
    events_.OnLinkLost(std::move(why));
    Shutdown();
  }

  asio::awaitable<void> ReadLoop() {
    beast::flat_buffer buffer;
    while (!closed_) {
      if (!events_.ShouldRead()) {  // backpressure or draining: leave frames in the socket
        read_wake_.expires_at(SteadyClock::time_point::max());
        co_await read_wake_.async_wait(kUseTuple);
        continue;
      }
      buffer.clear();
      auto [ec, bytes] = co_await ws_.async_read(buffer, kUseTuple);
      (void)bytes;
      if (ec) {
        if (ec == websocket::error::closed)
          Lost("closed by the server (code " + std::to_string(ws_.reason().code) +
               (ws_.reason().reason.empty() ? "" : ", " + std::string(ws_.reason().reason.data(), ws_.reason().reason.size())) + ")");
        else
          Lost("read: " + ec.message());
        break;
      }
      if (!ws_.got_text()) continue;  // binary frames mean nothing on this channel
      events_.OnText(beast::buffers_to_string(buffer.data()), SteadyClock::now());
    }
    Shutdown();
  }

  asio::awaitable<void> WriteLoop() {
    while (!closed_) {
      if (queue_.empty()) {
        write_wake_.expires_at(SteadyClock::time_point::max());
        co_await write_wake_.async_wait(kUseTuple);
        continue;
      }
      Outgoing item = std::move(queue_.front());
      queue_.pop_front();
      // The frames queued now leave in one send, once the last of them is written (a close frame
      // goes at once: the close handshake waits for it).
      ws_.next_layer().Hold(item.kind != Kind::kClose);
      beast::error_code ec;
      if (item.kind == Kind::kText) {
        std::tie(ec, std::ignore) = co_await ws_.async_write(asio::buffer(item.text), kUseTuple);
      } else if (item.kind == Kind::kPing) {
        std::tie(ec) = co_await ws_.async_ping({}, kUseTuple);
      } else {
        std::tie(ec) = co_await ws_.async_close(websocket::close_code::normal, kUseTuple);
        Lost(ec ? "close: " + ec.message() : "closed by us (1000)");
        break;
      }
      if (ec) {
        Lost("write: " + ec.message());
        break;
      }
      if (queue_.empty()) ws_.next_layer().Hold(false);
    }
    Shutdown();
  }

  asio::awaitable<void> PingLoop() {
    while (!closed_) {
      ping_timer_.expires_after(settings_.ping_interval);
      co_await ping_timer_.async_wait(kUseTuple);
      if (closed_) break;
      const auto now = SteadyClock::now();
      if (events_.ReadingPaused()) {
        last_pong_ = now;  // no reads, so no pongs to see; judge liveness once reading resumes
      } else if (now - last_pong_ > settings_.pong_timeout) {
        events_.OnDeadLink();
        Lost("no pong for " +
             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - last_pong_)
                                .count()) +
             " ms: dead link");
        break;
      }
      if (!close_queued_) Enqueue({Kind::kPing, {}});
    }
  }

  LinkEvents& events_;
  Stream ws_;
  LinkSettings settings_;
  std::deque<Outgoing> queue_;
  asio::steady_timer write_wake_;
  asio::steady_timer read_wake_;
  asio::steady_timer ping_timer_;
  SteadyClock::time_point last_pong_{};
  bool close_queued_ = false;
};

}  // namespace

std::shared_ptr<Link> MakeLink(LinkEvents& events, Strand strand, ssl::context* tls, LinkSettings settings) {
  if (tls != nullptr) return std::make_shared<LinkT<true>>(events, std::move(strand), tls, std::move(settings));
  return std::make_shared<LinkT<false>>(events, std::move(strand), nullptr, std::move(settings));
}

}  // namespace alipaymsg::client
