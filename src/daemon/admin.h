// The admin HTTP endpoint: /healthz, /readyz, /metrics. It renders snapshots handed over by
// callbacks (the daemon fills them from the receiver's ConnectionStats, the inbox and the
// dispatcher), so it is tested with plain structs.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "alipaymsg/client.h"
#include "alipaymsg/inbox.h"
#include "alipaymsg/listener_limits.h"
#include "alipaymsg/status.h"
#include "daemon/sinks.h"
#include "http/listener.h"

namespace alipaymsg::daemon {

struct AppHealth {
  std::string app_id;
  std::string state;       // "open", "backoff", ...
  bool connected = false;
  std::string last_error;
  int64_t reconnects = 0;
};

// One HTTP listener of the daemon (admin, notify), for /readyz and /metrics.
struct ListenerMetrics {
  std::string name;     // "admin", "notify"
  std::string address;  // "127.0.0.1:8080"
  ListenerStats stats;
};

// HTTP notifications handled, by app and outcome ("new", "duplicate", "bad_signature", ...).
struct NotifyOutcomeMetric {
  std::string app_id;
  std::string outcome;
  int64_t count = 0;
};

struct MetricsSnapshot {
  std::string instance;      // this daemon's instance id: an `instance` label on every sample
  std::string shared_inbox;  // the PostgreSQL inbox (password redacted); empty for SQLite
  bool report_inbox = true;  // false: another instance reports the shared inbox's gauges
  std::vector<ConnectionStats> apps;  // one per app connection
  // Inbox depth by state.
  int64_t inbox_pending = 0, inbox_in_flight = 0, inbox_done = 0, inbox_dead = 0, inbox_unhandled = 0,
          inbox_rejected = 0;
  int64_t inbox_rejected_total = 0;  // every rejection recorded in the inbox, pruned audit rows included
  int64_t inbox_store_waiting = 0;   // this instance's producers blocked on a full store queue
  // Dispatch outcomes as recorded in the inbox (done, retry, dead, unhandled).
  int64_t dispatch_done = 0, dispatch_retry = 0, dispatch_dead = 0, dispatch_unhandled = 0;
  std::vector<SinkCounters> sinks;
  std::vector<ListenerMetrics> listeners;
  std::vector<NotifyOutcomeMetric> notifications;
};

// Prometheus text exposition format 0.0.4.
std::string RenderPrometheus(const MetricsSnapshot& snapshot);
// {"ready":bool,"inbox":{"can_commit":bool[,"error","since_ms"]},"apps":[{"app_id","state",
// "connected","last_error","reconnects"}],"listeners":[{"name","address","listening"}]}; ready when
// every app is connected (and there is at least one), the inbox can commit (messages cannot be acked
// while it cannot) and every listener (the notification endpoint) is listening.
std::string RenderReadiness(const std::vector<AppHealth>& apps, const InboxHealth& inbox, bool& ready,
                            const std::vector<ListenerMetrics>& listeners = {});
inline std::string RenderReadiness(const std::vector<AppHealth>& apps, bool& ready) {
  return RenderReadiness(apps, InboxHealth{}, ready);
}

class AdminServer {
 public:
  struct Callbacks {
    std::function<std::vector<AppHealth>()> health;
    std::function<MetricsSnapshot()> metrics;
    std::function<std::vector<ListenerMetrics>()> listeners;  // other listeners, for /readyz
    std::function<InboxHealth()> inbox;  // for /readyz; none: healthy
  };
  // Nothing but GETs is expected: a tiny body limit, short timeouts and a small connection cap, so
  // that a flood of large POSTs costs little memory and /healthz keeps answering.
  static ListenerLimits DefaultLimits();
  // Listens on host:port (port 0: any free port) and serves on its own thread.
  static Result<std::unique_ptr<AdminServer>> Start(const std::string& host, int port, Callbacks callbacks,
                                                    const ListenerLimits& limits = DefaultLimits());
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  int port() const;
  ListenerMetrics Metrics() const;  // the admin listener's own counters
  void Stop();  // idempotent

  class Impl;

 private:
  explicit AdminServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The admin endpoint's answer to one request: the routing AdminServer applies to every request the
// listener hands it (`self`: the admin listener's own counters, asked for /metrics only). A seam
// without sockets, for the tests and the fuzz target.
http::Response RouteAdminRequest(const http::Request& request, const AdminServer::Callbacks& callbacks,
                                 const std::function<ListenerMetrics()>& self);

}  // namespace alipaymsg::daemon
