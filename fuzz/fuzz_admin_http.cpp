// libFuzzer: the daemon's admin endpoint on arbitrary request bytes: Beast's request parser with the
// admin listener's limits (AdminServer::DefaultLimits: 8 KB of header, 1 KB of body), the request
// as the shared listener hands it over (method, target, path, body), then RouteAdminRequest. The
// answer must be one of the endpoint's statuses with a body (HEAD: marked omit_body), and /readyz's
// body must stay JSON with app ids and errors that need escaping.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "daemon/admin.h"
#include "fuzz_common.h"

namespace alipaymsg::daemon {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using fuzz::Check;

AdminServer::Callbacks MakeCallbacks(std::string_view text) {
  // App ids and errors taken from the request itself (the hardest strings to escape).
  // ASCII only: the names come from the config and the errors from our own messages.
  std::string tricky(text.substr(0, std::min<size_t>(text.size(), 64)));
  for (char& c : tricky) {
    if (static_cast<unsigned char>(c) >= 0x80) c = '?';
  }
  AdminServer::Callbacks callbacks;
  callbacks.health = [tricky] {
    return std::vector<AppHealth>{{"2021000000000001", "open", true, "", 0},
                                  {tricky, "backoff", !tricky.empty(), tricky + "\"\\\n\x01", 3}};
  };
  callbacks.metrics = [tricky] {
    MetricsSnapshot s;
    ConnectionStats a;
    a.app_id = tricky + "\"\\\n";
    a.received = 7;
    a.ack_latency.counts[3] = 1;    // <= 1 ms
    a.ack_latency.counts[6] = 2;    // <= 10 ms
    a.ack_latency.counts.back() = 3;  // +Inf
    a.ack_latency.count = 6;
    a.ack_latency.sum_us = 500000;
    s.apps.push_back(a);
    SinkCounters sink;
    sink.name = tricky;
    sink.kind = "exec";
    s.sinks.push_back(sink);
    return s;
  };
  return callbacks;
}

}  // namespace
}  // namespace alipaymsg::daemon

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace alipaymsg::daemon;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const alipaymsg::ListenerLimits limits = AdminServer::DefaultLimits();
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
  parser.eager(true);
  beast::error_code ec;
  size_t used = 0;
  while (!parser.is_done() && used < size) {
    const size_t n = parser.put(boost::asio::const_buffer(data + used, size - used), ec);
    used += n;
    if (ec == http::error::need_more) {
      ec = {};
      if (n == 0) break;
      continue;
    }
    if (ec || n == 0) break;
  }
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  const auto& parsed = parser.get();
  alipaymsg::http::Request request;
  request.method = std::string(parsed.method_string());
  request.target = std::string(parsed.target());
  request.path = request.target.substr(0, request.target.find('?'));
  request.body = parsed.body();
  request.version = static_cast<int>(parsed.version());

  ListenerMetrics self;
  self.name = "admin";
  self.address = "127.0.0.1:0";
  const alipaymsg::http::Response res =
      RouteAdminRequest(request, MakeCallbacks(text), [&self] { return self; });
  Check(res.status == 200 || res.status == 404 || res.status == 405 || res.status == 503);
  Check(!res.content_type.empty() && !res.body.empty());
  Check(res.omit_body == (request.method == "HEAD"));
  if (res.status == 405) Check(!res.headers.empty() && res.headers.front().first == "Allow");
  if ((res.status == 200 || res.status == 503) && request.path == "/readyz") {
    boost::system::error_code jec;
    auto doc = boost::json::parse(res.body, jec);
    Check(!jec && doc.is_object() && doc.as_object().at("apps").as_array().size() == 2);
  }
  if (res.status == 200 && request.path == "/metrics") {
    Check(res.body.find("listener=\"admin\"") != std::string::npos);  // its own counters come first
  }
  return 0;
}
