// Rendering of /metrics and /readyz bodies (no I/O).
#include <boost/json.hpp>
#include <cmath>
#include <sstream>

#include "daemon/admin.h"

namespace alipaymsg::daemon {
namespace {

// Label values escape backslash, double quote and newline.
std::string Label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

class Writer {
 public:
  // Added to every sample: instance="..." (when the daemon has an instance id).
  explicit Writer(const std::string& instance)
      : common_(instance.empty() ? "" : "instance=\"" + Label(instance) + "\"") {}
  void Family(const std::string& name, const char* type, const char* help) {
    out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  void Sample(const std::string& name, const std::string& labels, double value) {
    out_ << name;
    const std::string all = common_.empty() ? labels : labels.empty() ? common_ : common_ + "," + labels;
    if (!all.empty()) out_ << "{" << all << "}";
    out_ << " " << Number(value) << "\n";
  }
  std::string str() const { return out_.str(); }

 private:
  std::string common_;
  std::ostringstream out_;
};

std::string AppLabel(const ConnectionStats& app) { return "app_id=\"" + Label(app.app_id) + "\""; }

}  // namespace

std::string RenderPrometheus(const MetricsSnapshot& s) {
  Writer w(s.instance);
  w.Family("alipaymsg_up", "gauge", "1 while alipay-msgd runs.");
  w.Sample("alipaymsg_up", "", 1);

  struct Counter {
    const char* name;
    const char* help;
    int64_t ConnectionStats::*field;
  };
  const Counter counters[] = {
      {"alipaymsg_messages_received_total", "CONSUME frames received.", &ConnectionStats::received},
      {"alipaymsg_messages_stored_total", "First-time messages committed to the inbox.", &ConnectionStats::stored_new},
      {"alipaymsg_duplicates_total", "Redeliveries absorbed by the inbox (acked, not dispatched again).",
       &ConnectionStats::duplicates},
      {"alipaymsg_signature_failures_total", "Messages whose signature failed: answered FAIL, audited, never dispatched.",
       &ConnectionStats::signature_failures},
      {"alipaymsg_malformed_frames_total", "Frames that could not be parsed.", &ConnectionStats::malformed_frames},
      {"alipaymsg_store_errors_total", "Inbox commits that failed (the messages were answered FAIL).",
       &ConnectionStats::store_errors},
      {"alipaymsg_registers_total", "register.do calls.", &ConnectionStats::registers},
      {"alipaymsg_register_failures_total", "register.do calls that failed.", &ConnectionStats::register_failures},
      {"alipaymsg_reconnects_total", "WebSocket sessions opened after the first.", &ConnectionStats::reconnects},
      {"alipaymsg_dead_links_total", "Connections closed because no pong came back in time.", &ConnectionStats::dead_links},
  };
  for (const Counter& c : counters) {
    w.Family(c.name, "counter", c.help);
    for (const ConnectionStats& app : s.apps) w.Sample(c.name, AppLabel(app), static_cast<double>(app.*c.field));
  }
  w.Family("alipaymsg_acks_total", "counter", "CONSUME_ACKs by status (unsent: stored, but the link was gone).");
  for (const ConnectionStats& app : s.apps) {
    w.Sample("alipaymsg_acks_total", AppLabel(app) + ",status=\"success\"", static_cast<double>(app.acks_success));
    w.Sample("alipaymsg_acks_total", AppLabel(app) + ",status=\"fail\"", static_cast<double>(app.acks_fail));
    w.Sample("alipaymsg_acks_total", AppLabel(app) + ",status=\"unsent\"", static_cast<double>(app.acks_unsent));
  }
  w.Family("alipaymsg_connected", "gauge", "1 when the app's long connection is open.");
  for (const ConnectionStats& app : s.apps) w.Sample("alipaymsg_connected", AppLabel(app), app.connected ? 1 : 0);
  w.Family("alipaymsg_in_flight_messages", "gauge",
           "CONSUMEs read and not yet acked; reading pauses (backpressure) when the limit is reached.");
  for (const ConnectionStats& app : s.apps) w.Sample("alipaymsg_in_flight_messages", AppLabel(app), app.in_flight);

  w.Family("alipaymsg_ack_latency_seconds", "histogram", "From reading a CONSUME to writing its ack.");
  for (const ConnectionStats& app : s.apps) {
    const LatencyHistogram& h = app.ack_latency;
    int64_t cumulative = 0;
    for (size_t i = 0; i < h.kBoundsUs.size(); ++i) {
      cumulative += h.counts[i];
      const std::string le = h.kBoundsUs[i] == INT64_MAX ? "+Inf" : Number(static_cast<double>(h.kBoundsUs[i]) / 1e6);
      w.Sample("alipaymsg_ack_latency_seconds_bucket", AppLabel(app) + ",le=\"" + le + "\"", static_cast<double>(cumulative));
    }
    w.Sample("alipaymsg_ack_latency_seconds_sum", AppLabel(app), static_cast<double>(h.sum_us) / 1e6);
    w.Sample("alipaymsg_ack_latency_seconds_count", AppLabel(app), static_cast<double>(h.count));
  }

  w.Family("alipaymsg_inbox_messages", "gauge",
           "Messages in the inbox by state (pending + in_flight = depth); a shared inbox is reported by one "
           "instance only.");
  const std::pair<const char*, int64_t> states[] = {
      {"pending", s.inbox_pending}, {"in_flight", s.inbox_in_flight}, {"done", s.inbox_done},
      {"dead", s.inbox_dead},       {"unhandled", s.inbox_unhandled}, {"rejected", s.inbox_rejected}};
  const std::string inbox = s.shared_inbox.empty() ? "" : "inbox=\"" + Label(s.shared_inbox) + "\",";
  for (const auto& [state, n] : states) {
    if (!s.report_inbox) break;
    w.Sample("alipaymsg_inbox_messages", inbox + "state=\"" + state + "\"", static_cast<double>(n));
  }

  w.Family("alipaymsg_rejected_total", "counter",
           "Messages rejected (signature failed) since the inbox was created; the audit keeps only the newest.");
  if (s.report_inbox) {
    w.Sample("alipaymsg_rejected_total", inbox.empty() ? "" : inbox.substr(0, inbox.size() - 1),
             static_cast<double>(s.inbox_rejected_total));
  }

  w.Family("alipaymsg_inbox_store_waiting", "gauge",
           "Stores blocked now because this instance's inbox queue is full (backpressure: reading waits).");
  w.Sample("alipaymsg_inbox_store_waiting", "", static_cast<double>(s.inbox_store_waiting));

  w.Family("alipaymsg_dispatch_results_total", "counter", "Dispatch attempts by recorded result.");
  const std::pair<const char*, int64_t> results[] = {{"done", s.dispatch_done},
                                                     {"retry", s.dispatch_retry},
                                                     {"dead", s.dispatch_dead},
                                                     {"unhandled", s.dispatch_unhandled}};
  for (const auto& [result, n] : results) {
    w.Sample("alipaymsg_dispatch_results_total", std::string("result=\"") + result + "\"", static_cast<double>(n));
  }
  w.Family("alipaymsg_sink_deliveries_total", "counter", "Sink deliveries by sink and outcome.");
  for (const SinkCounters& c : s.sinks) {
    const std::string labels = "sink=\"" + Label(c.name) + "\",kind=\"" + Label(c.kind) + "\"";
    w.Sample("alipaymsg_sink_deliveries_total", labels + ",outcome=\"done\"", static_cast<double>(c.done));
    w.Sample("alipaymsg_sink_deliveries_total", labels + ",outcome=\"retry\"", static_cast<double>(c.retry));
    w.Sample("alipaymsg_sink_deliveries_total", labels + ",outcome=\"reject\"", static_cast<double>(c.reject));
  }
  w.Family("alipaymsg_sink_delivery_seconds", "histogram",
           "Time a sink took per delivery (any outcome): the publish until the server's acknowledgement for redis and nats.");
  for (const SinkCounters& c : s.sinks) {
    const std::string labels = "sink=\"" + Label(c.name) + "\",kind=\"" + Label(c.kind) + "\"";
    int64_t cumulative = 0;
    for (size_t i = 0; i < SinkCounters::kSinkLatencyBounds && i < c.latency_counts.size(); ++i) {
      cumulative += c.latency_counts[i];
      w.Sample("alipaymsg_sink_delivery_seconds_bucket", labels + ",le=\"" + Number(kSinkLatencyBoundsS[i]) + "\"",
               static_cast<double>(cumulative));
    }
    w.Sample("alipaymsg_sink_delivery_seconds_bucket", labels + ",le=\"+Inf\"", static_cast<double>(c.latency_count));
    w.Sample("alipaymsg_sink_delivery_seconds_sum", labels, c.latency_sum_s);
    w.Sample("alipaymsg_sink_delivery_seconds_count", labels, static_cast<double>(c.latency_count));
  }

  if (!s.notifications.empty()) {
    w.Family("alipaymsg_notifications_total", "counter",
             "HTTP notifications by app and outcome (new, duplicate: answered success after the inbox commit; "
             "the others answered fail or 400, audited, never dispatched). Unconfigured app_ids count as \"unknown\".");
    for (const NotifyOutcomeMetric& n : s.notifications) {
      w.Sample("alipaymsg_notifications_total",
               "app_id=\"" + Label(n.app_id) + "\",outcome=\"" + Label(n.outcome) + "\"", static_cast<double>(n.count));
    }
  }
  if (!s.listeners.empty()) {
    w.Family("alipaymsg_http_connections", "gauge", "Connections open now, by listener.");
    for (const ListenerMetrics& l : s.listeners) {
      w.Sample("alipaymsg_http_connections", "listener=\"" + Label(l.name) + "\"", static_cast<double>(l.stats.active));
    }
    w.Family("alipaymsg_http_connection_events_total", "counter",
             "Listener events: accepted; evicted (a waiting connection closed to make room under the cap); "
             "refused (every slot busy); timed_out; too_large (413/431); bad_request (400); request (handled).");
    for (const ListenerMetrics& l : s.listeners) {
      const std::pair<const char*, int64_t> events[] = {
          {"accepted", l.stats.accepted},   {"evicted", l.stats.evicted},     {"refused", l.stats.refused},
          {"timed_out", l.stats.timed_out}, {"too_large", l.stats.too_large}, {"bad_request", l.stats.bad_requests},
          {"request", l.stats.requests}};
      for (const auto& [event, n] : events) {
        w.Sample("alipaymsg_http_connection_events_total",
                 "listener=\"" + Label(l.name) + "\",event=\"" + event + "\"", static_cast<double>(n));
      }
    }
  }
  return w.str();
}

std::string RenderReadiness(const std::vector<AppHealth>& apps, const InboxHealth& inbox, bool& ready,
                            const std::vector<ListenerMetrics>& listeners) {
  namespace json = boost::json;
  ready = !apps.empty() && inbox.can_commit;
  json::object inbox_json{{"can_commit", inbox.can_commit}};
  if (!inbox.can_commit) {
    inbox_json["error"] = "the inbox cannot commit (messages are answered FAIL until it can): " + inbox.reason;
    inbox_json["since_ms"] = inbox.since_ms;
  }
  json::array list;
  for (const AppHealth& app : apps) {
    ready = ready && app.connected;
    list.push_back(json::object{{"app_id", app.app_id},
                                {"state", app.state},
                                {"connected", app.connected},
                                {"last_error", app.last_error},
                                {"reconnects", app.reconnects}});
  }
  json::object out{{"ready", false}, {"inbox", std::move(inbox_json)}, {"apps", std::move(list)}};
  if (!listeners.empty()) {
    json::array listening;
    for (const ListenerMetrics& l : listeners) {
      ready = ready && l.stats.listening;
      listening.push_back(json::object{{"name", l.name}, {"address", l.address}, {"listening", l.stats.listening}});
    }
    out["listeners"] = std::move(listening);
  }
  out["ready"] = ready;
  return json::serialize(out);
}

}  // namespace alipaymsg::daemon
