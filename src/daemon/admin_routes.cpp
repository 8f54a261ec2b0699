// The admin endpoint's routing: /healthz, /readyz, /metrics for GET and HEAD. No sockets here: the
// shared listener (src/http) parses the request and writes the response.
#include "daemon/admin.h"

namespace alipaymsg::daemon {

// Beside the routing: what the endpoint accepts is part of what it answers (and the fuzz target
// parses with these limits).
ListenerLimits AdminServer::DefaultLimits() {
  ListenerLimits limits;
  limits.max_body_bytes = 1024;
  limits.max_header_bytes = 8 * 1024;
  limits.header_timeout_ms = 5000;
  limits.body_timeout_ms = 5000;
  limits.idle_timeout_ms = 5000;
  limits.max_connections = 64;
  return limits;
}

http::Response RouteAdminRequest(const http::Request& request, const AdminServer::Callbacks& callbacks,
                                 const std::function<ListenerMetrics()>& self) {
  http::Response res;
  const bool head = request.method == "HEAD";
  if (request.method != "GET" && !head) {
    res.status = 405;
    res.headers.emplace_back("Allow", "GET, HEAD");
    res.body = "GET only\n";
  } else if (request.path == "/healthz") {
    res.body = "ok\n";
  } else if (request.path == "/readyz") {
    bool ready = false;
    std::vector<AppHealth> apps = callbacks.health ? callbacks.health() : std::vector<AppHealth>{};
    std::vector<ListenerMetrics> listeners =
        callbacks.listeners ? callbacks.listeners() : std::vector<ListenerMetrics>{};
    const InboxHealth inbox = callbacks.inbox ? callbacks.inbox() : InboxHealth{};
    res.body = RenderReadiness(apps, inbox, ready, listeners) + "\n";
    res.status = ready ? 200 : 503;
    res.content_type = "application/json";
  } else if (request.path == "/metrics") {
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    MetricsSnapshot snapshot = callbacks.metrics ? callbacks.metrics() : MetricsSnapshot{};
    if (self) snapshot.listeners.insert(snapshot.listeners.begin(), self());
    res.body = RenderPrometheus(snapshot);
  } else {
    res.status = 404;
    res.body = "not found; try /healthz, /readyz, /metrics\n";
  }
  res.omit_body = head;
  return res;
}

}  // namespace alipaymsg::daemon
