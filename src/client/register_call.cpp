// register.do over Beast's HTTP client: the only translation unit with Beast HTTP in it.
#include "client/register_call.h"

#include <openssl/rand.h>

#include <optional>
#include <type_traits>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "alipaymsg/params.h"
#include "crypto/tls_peer.h"
#include "protocol/register.h"

namespace alipaymsg::client {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr size_t kMaxResponseBody = 1 << 20;

template <class Stream>
asio::awaitable<Result<http::response<http::string_body>>> HttpGet(
    Stream& stream, tcp::resolver::results_type endpoints, http::request<http::empty_body> request,
    const RegisterTarget& target, StepWatchdog& watchdog) {
  const Endpoint& endpoint = target.endpoint;
  auto& tcp_layer = beast::get_lowest_layer(stream);
  auto timed_out = [&](const char* step) -> Status {
    return Timeout(std::string(step) + " timed out after " + std::to_string(target.timeout.count()) + " ms");
  };
  const CancelActionScope scope(watchdog);
  if (!watchdog.OnCancel([&tcp_layer] { tcp_layer.close(); }))
    co_return watchdog.expired() ? timed_out("TCP connect") : Unavailable("register.do cancelled: stopping");
  auto [cec, ep] = co_await tcp_layer.async_connect(endpoints, kUseTuple);
  (void)ep;
  if (cec) {
    if (watchdog.expired()) co_return timed_out("TCP connect");
    co_return Unavailable("TCP connect to " + endpoint.host_header + ": " + cec.message());
  }
  if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
    SSL* native = stream.native_handle();
    if (target.verify_tls) {
      if (!alipaymsg::tls::ExpectPeerName(native, endpoint.host))
        co_return InvalidArgument("cannot verify TLS host name \"" + endpoint.host + "\"");
    } else if (!endpoint.host_is_ip) {
      SSL_set_tlsext_host_name(native, endpoint.host.c_str());
    }
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, kUseTuple);
    if (hec) {
      if (watchdog.expired()) co_return timed_out("TLS handshake");
      co_return Unavailable("TLS handshake with " + endpoint.host_header + ": " +
                            alipaymsg::tls::DescribeHandshakeFailure(native, endpoint.host, hec.message()));
    }
  }
  auto [wec, written] = co_await http::async_write(stream, request, kUseTuple);
  (void)written;
  if (wec) {
    if (watchdog.expired()) co_return timed_out("sending the request");
    co_return Unavailable("sending the request: " + wec.message());
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  auto [rec, read] = co_await http::async_read(stream, buffer, parser, kUseTuple);
  (void)read;
  beast::error_code ignored;
  tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ignored);
  tcp_layer.close();
  if (rec) {
    if (watchdog.expired()) co_return timed_out("reading the response");
    co_return Unavailable("reading the response: " + rec.message());
  }
  co_return parser.release();
}

}  // namespace

std::string RegisterNonce(const std::function<uint64_t()>& fallback) {
  constexpr size_t kBytes = 16;
  std::string raw(kBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(kBytes)) != 1) {
    for (auto& c : raw) c = static_cast<char>(fallback());
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : raw) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return hex;
}

asio::awaitable<Result<Registration>> CallRegister(Strand strand, tcp::resolver::results_type endpoints,
                                                   const RegisterTarget& target, const Credentials& credentials,
                                                   int64_t now_ms, std::string nonce, StepWatchdog& watchdog) {
  Result<Params> params = BuildRegisterParams(credentials, now_ms, std::move(nonce));
  if (!params.ok()) co_return params.status().WithContext("building the register.do parameters");

  http::request<http::empty_body> request{http::verb::get,
                                          "/websocket/register.do?" + BuildQuery(*params), 11};
  request.set(http::field::host, target.endpoint.host_header);
  request.set(http::field::accept, "text/plain,text/xml,text/javascript,text/html");
  request.set(http::field::user_agent, "aop-sdk-java");
  request.set(http::field::content_type,
              "application/x-www-form-urlencoded;charset=" + credentials.charset());
  if (target.load_test) request.set("LoadTest", "true");

  Result<http::response<http::string_body>> response = Status(Internal("not sent"));
  if (target.tls != nullptr) {
    beast::ssl_stream<beast::tcp_stream> stream(strand, *target.tls);
    response = co_await HttpGet(stream, std::move(endpoints), std::move(request), target, watchdog);
  } else {
    beast::tcp_stream stream(strand);
    response = co_await HttpGet(stream, std::move(endpoints), std::move(request), target, watchdog);
  }
  if (!response.ok()) co_return response.status();

  const auto status = response->result_int();
  if (status >= 400)
    co_return ProtocolError("register.do answered HTTP " + std::to_string(status) + ": " +
                            response->body().substr(0, 200));
  Registration registration;
  for (const char* name : {"set-cookie", "Set-Cookie", "Set-cookie"}) {
    auto it = response->find(name);  // Beast compares names case-insensitively: the first one wins
    if (it == response->end()) continue;
    Result<std::optional<std::string>> zone = ParseZoneCookie(it->value());
    if (!zone.ok()) co_return zone.status().WithContext("register.do Set-Cookie");
    if (zone->has_value()) registration.zone = **zone;
    break;
  }
  Result<RegisterResponse> parsed = ParseRegisterResponse(response->body());
  if (!parsed.ok()) co_return parsed.status().WithContext("register.do response");
  Status checked = CheckRegisterResponse(*parsed, credentials);
  if (!checked.ok()) co_return checked;
  registration.link_token = parsed->link_token;
  co_return registration;
}

}  // namespace alipaymsg::client
