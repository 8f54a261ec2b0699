// The webhook sink: one HTTP(S) POST per delivery on a fresh connection, bounded by a timeout. The
// only Beast translation unit among the sinks (Beast is slow to compile).
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "base/host_port.h"
#include "crypto/tls_peer.h"
#include "daemon/config_keys.h"
#include "daemon/sinks.h"

namespace alipaymsg::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

class TlsClientContext {
 public:
  explicit TlsClientContext(SSL_CTX* native) : context(native) {}
  ssl::context context;
};

namespace {

constexpr size_t kBodyKept = 4096;

// The exchange, the same for a plain and a TLS stream. `handshake(next)` is the TLS step (or none).
template <typename Stream, typename Handshake>
void Exchange(Stream& stream, tcp::resolver& resolver, const HttpUrl& target,
              http::request<http::string_body>& request, beast::flat_buffer& buffer,
              http::response_parser<http::string_body>& parser, Handshake handshake,
              const std::function<void(beast::error_code, const char*)>& fail) {
  resolver.async_resolve(target.host, std::to_string(target.port), [&, handshake, fail](beast::error_code ec,
                                                                                      tcp::resolver::results_type results) {
    if (ec) return fail(ec, "resolving");
    beast::get_lowest_layer(stream).async_connect(results, [&, handshake, fail](beast::error_code ec, const tcp::endpoint&) {
      if (ec) return fail(ec, "connecting");
      handshake([&, fail](beast::error_code ec) {
        if (ec) return fail(ec, "TLS handshake");
        http::async_write(stream, request, [&, fail](beast::error_code ec, size_t) {
          if (ec) return fail(ec, "sending");
          http::async_read(stream, buffer, parser, [&, fail](beast::error_code ec, size_t) {
            if (ec) return fail(ec, "reading the response");
            beast::error_code ignored;
            beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
          });
        });
      });
    });
  });
}

}  // namespace

Result<std::shared_ptr<TlsClientContext>> MakeTlsClientContext(const std::string& extra_ca_file) {
  auto native = alipaymsg::tls::NewClientContext(extra_ca_file);
  if (!native.ok()) return native.status();
  return std::make_shared<TlsClientContext>(*native);
}

Result<HttpResponse> HttpPost(const std::string& url, const std::map<std::string, std::string>& headers,
                              const std::string& body, int timeout_ms, const std::shared_ptr<TlsClientContext>& tls_in) {
  std::string why;
  std::optional<HttpUrl> target = ParseHttpUrl(url, why);
  if (!target) return InvalidArgument("webhook " + url + ": " + why);
  std::shared_ptr<TlsClientContext> tls = tls_in;
  if (target->tls && !tls) {
    auto made = MakeTlsClientContext("");
    if (!made.ok()) return made.status();
    tls = std::move(*made);
  }

  http::request<http::string_body> request{http::verb::post, target->target, 11};
  const int default_port = target->tls ? 443 : 80;
  const std::string host_port = FormatHostPort(target->host, target->port);
  request.set(http::field::host, target->port == default_port ? host_port.substr(0, host_port.rfind(':')) : host_port);
  request.set(http::field::user_agent, "alipay-msgd");
  request.set(http::field::content_type, "application/json; charset=utf-8");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();

  asio::io_context io;
  tcp::resolver resolver(io);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1024 * 1024);
  beast::error_code failure;
  std::string failed_at;
  auto fail = [&](beast::error_code ec, const char* step) {
    if (!failure) failure = ec, failed_at = step;
  };
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  std::string peer_name;  // the host the certificate must name (an IP without its brackets)
  if (!target->tls) {
    plain.emplace(io);
    plain->expires_after(std::chrono::milliseconds(timeout_ms));
    Exchange(*plain, resolver, *target, request, buffer, parser,
             [](auto next) { next(beast::error_code{}); }, fail);
  } else {
    secure.emplace(io, tls->context);
    peer_name = target->host;
    if (peer_name.size() > 2 && peer_name.front() == '[' && peer_name.back() == ']') {
      peer_name = peer_name.substr(1, peer_name.size() - 2);
    }
    beast::get_lowest_layer(*secure).expires_after(std::chrono::milliseconds(timeout_ms));
    // The certificate must name the host (SNI too, for a DNS name).
    if (!alipaymsg::tls::ExpectPeerName(secure->native_handle(), peer_name)) {
      return InvalidArgument("POST " + url + ": cannot verify TLS host name \"" + peer_name + "\"");
    }
    Exchange(*secure, resolver, *target, request, buffer, parser,
             [&](auto next) { secure->async_handshake(ssl::stream_base::client, next); }, fail);
  }
  // The resolver does not honour the stream's deadline: bound the whole run.
  io.run_for(std::chrono::milliseconds(timeout_ms) + std::chrono::milliseconds(100));
  if (!io.stopped()) {
    return Timeout("POST " + url + ": no answer within " + std::to_string(timeout_ms) + " ms");
  }
  if (failure) {
    if (failure == beast::error::timeout) {
      return Timeout("POST " + url + ": " + failed_at + " timed out after " + std::to_string(timeout_ms) + " ms");
    }
    std::string message = failure.message();
    if (secure) message = alipaymsg::tls::DescribeHandshakeFailure(secure->native_handle(), peer_name, message);
    return IoError("POST " + url + ": " + failed_at + ": " + message);
  }
  HttpResponse response;
  response.status = static_cast<int>(parser.get().result_int());
  response.body = parser.get().body().substr(0, kBodyKept);
  return response;
}

HandlerOutcome WebhookSink::Deliver(MessageView& message) {
  if (!slots_.Acquire()) return HandlerOutcome::RetryLater("shutting down");
  std::map<std::string, std::string> headers = headers_;
  headers["X-Alipay-Msg-Id"] = message.msg_id();
  headers["X-Alipay-Msg-Api"] = message.msg_api();
  headers["X-Alipay-App-Id"] = message.app_id();
  headers["X-Alipay-Delivery-Count"] = std::to_string(message.delivery_count());
  Result<HttpResponse> response = HttpPost(url_, headers, MessageJson(message), timeout_ms_, tls_);
  slots_.Release();
  if (!response.ok()) return HandlerOutcome::RetryLater(response.status().message());
  if (response->status >= 200 && response->status < 300) return HandlerOutcome::Done();
  std::string body = response->body.substr(0, 200);
  for (char& c : body) if (c == '\n' || c == '\r') c = ' ';
  return HandlerOutcome::RetryLater("POST " + url_ + ": HTTP " + std::to_string(response->status) +
                                    (body.empty() ? "" : ": " + body));
}

}  // namespace alipaymsg::daemon
