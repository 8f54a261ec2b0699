// libFuzzer: the daemon's admin endpoint on arbitrary request bytes: Beast's request parser with the
// limits the server reads with (http::async_read's defaults: 8 KB of header, 1 MB of body), then
// the routing (RouteAdminRequest) and the response as the server frames it. The response must
// always serialize and parse back with the status, length and body the routing chose; /readyz's
// body must be JSON even for app ids and errors that need escaping.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string_view>

#include "daemon/admin_http.h"
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
    AppMetrics a;
    a.app_id = tricky + "\"\\\n";
    a.received = 7;
    a.latency_bounds_s = {0.001, 0.01, std::numeric_limits<double>::infinity()};
    a.latency_counts = {1, 2, 3};
    a.latency_count = 6;
    a.latency_sum_s = 0.5;
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

  http::request_parser<http::string_body> parser;  // default limits, as http::async_read uses
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
  const http::request<http::string_body>& request = parser.get();

  const AdminReply reply = RouteAdminRequest(request.method_string(), request.target(), MakeCallbacks(text));
  Check(reply.status == 200 || reply.status == 404 || reply.status == 405 || reply.status == 503);
  Check(!reply.content_type.empty());
  const bool head = request.method() == http::verb::head;
  Check(head ? reply.body.empty() && reply.content_length > 0 : reply.body.size() == reply.content_length);
  std::string_view path = request.target();
  path = path.substr(0, path.find('?'));
  if (!head && (reply.status == 200 || reply.status == 503) && path == "/readyz") {
    boost::system::error_code jec;
    auto doc = boost::json::parse(reply.body, jec);
    Check(!jec && doc.is_object() && doc.as_object().at("apps").as_array().size() == 2);
  }

  // Framed as the server frames it, written and read back.
  const http::response<http::string_body> res = FrameAdminReply(reply, request.version());
  std::ostringstream out;
  out << res;
  const std::string wire = out.str();
  http::response_parser<http::string_body> back;
  back.skip(head);
  back.eager(true);
  back.body_limit(std::numeric_limits<std::uint64_t>::max());
  beast::error_code bec;
  back.put(boost::asio::buffer(wire), bec);
  if (!back.is_done() && !bec) back.put_eof(bec);
  Check(!bec && back.is_done());
  Check(back.get().result_int() == static_cast<unsigned>(reply.status));
  Check(back.get().body() == reply.body);
  return 0;
}
