// The webhook sink: one HTTP POST per delivery on a fresh connection, bounded by a timeout. The only
// Beast translation unit among the sinks (Beast is slow to compile).
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "daemon/config_keys.h"
#include "daemon/sinks.h"

namespace alipaymsg::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kBodyKept = 4096;

}  // namespace

Result<HttpResponse> HttpPost(const std::string& url, const std::map<std::string, std::string>& headers,
                              const std::string& body, int timeout_ms) {
  std::string why;
  std::optional<HttpUrl> target = ParseHttpUrl(url, why);
  if (!target) return InvalidArgument("webhook " + url + ": " + why);

  asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  http::request<http::string_body> request{http::verb::post, target->target, 11};
  request.set(http::field::host, target->host + (target->port == 80 ? "" : ":" + std::to_string(target->port)));
  request.set(http::field::user_agent, "alipay-msgd");
  request.set(http::field::content_type, "application/json; charset=utf-8");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1024 * 1024);
  beast::error_code failure;
  std::string failed_at;
  auto fail = [&](beast::error_code ec, const char* step) {
    if (!failure) failure = ec, failed_at = step;
  };
  stream.expires_after(std::chrono::milliseconds(timeout_ms));
  resolver.async_resolve(target->host, std::to_string(target->port), [&](beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail(ec, "resolving");
    stream.async_connect(results, [&](beast::error_code ec, const tcp::endpoint&) {
      if (ec) return fail(ec, "connecting");
      http::async_write(stream, request, [&](beast::error_code ec, size_t) {
        if (ec) return fail(ec, "sending");
        http::async_read(stream, buffer, parser, [&](beast::error_code ec, size_t) {
          if (ec) return fail(ec, "reading the response");
          beast::error_code ignored;
          stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        });
      });
    });
  });
  // The resolver does not honour the stream's deadline: bound the whole run.
  io.run_for(std::chrono::milliseconds(timeout_ms) + std::chrono::milliseconds(100));
  if (!io.stopped()) {
    return Timeout("POST " + url + ": no answer within " + std::to_string(timeout_ms) + " ms");
  }
  if (failure) {
    if (failure == beast::error::timeout) {
      return Timeout("POST " + url + ": " + failed_at + " timed out after " + std::to_string(timeout_ms) + " ms");
    }
    return IoError("POST " + url + ": " + failed_at + ": " + failure.message());
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
  Result<HttpResponse> response = HttpPost(url_, headers, MessageJson(message), timeout_ms_);
  slots_.Release();
  if (!response.ok()) return HandlerOutcome::RetryLater(response.status().message());
  if (response->status >= 200 && response->status < 300) return HandlerOutcome::Done();
  std::string body = response->body.substr(0, 200);
  for (char& c : body) if (c == '\n' || c == '\r') c = ' ';
  return HandlerOutcome::RetryLater("POST " + url_ + ": HTTP " + std::to_string(response->status) +
                                    (body.empty() ? "" : ": " + body));
}

}  // namespace alipaymsg::daemon
