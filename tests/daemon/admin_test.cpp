#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cmath>
#include <mutex>

#include "daemon/admin.h"

namespace alipaymsg::daemon {
namespace {

struct Reply {
  int status = 0;
  std::string headers, body;
};

Reply Get(int port, const std::string& target, const std::string& method = "GET") {
  Reply reply;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ADD_FAILURE() << "connect to admin port " << port;
    close(fd);
    return reply;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  (void)!write(fd, req.data(), req.size());
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) raw.append(buf, static_cast<size_t>(n));
  close(fd);
  size_t end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || end == std::string::npos) {
    ADD_FAILURE() << "bad response: " << raw;
    return reply;
  }
  reply.status = std::stoi(raw.substr(9, 3));
  reply.headers = raw.substr(0, end);
  reply.body = raw.substr(end + 4);
  return reply;
}

ConnectionStats SampleApp() {
  ConnectionStats a;
  a.app_id = "2021000000000001";
  a.connected = true;
  a.received = 10;
  a.stored_new = 8;
  a.duplicates = 1;
  a.signature_failures = 1;
  a.acks_success = 9;
  a.acks_fail = 1;
  a.reconnects = 2;
  a.registers = 7;
  a.register_failures = 4;
  a.dead_links = 1;
  a.store_errors = 2;
  a.in_flight = 3;
  for (int64_t us : {20, 50, 900, 1000, 1000}) a.ack_latency.Record(us);  // <= 1 ms
  for (int64_t us : {1001, 9000, 10000, 5000}) a.ack_latency.Record(us);  // <= 10 ms
  a.ack_latency.Record(2'000'000);  // above the last finite bound
  return a;
}

TEST(MetricsTest, PrometheusText) {
  MetricsSnapshot s;
  s.apps.push_back(SampleApp());
  s.inbox_pending = 3;
  s.inbox_store_waiting = 2;
  s.dispatch_done = 7;
  s.sinks.push_back(SinkCounters{"sinks[0]", "jsonl", 7, 1, 0});
  const std::string text = RenderPrometheus(s);
  for (const char* line : {
           "# TYPE alipaymsg_messages_received_total counter\n",
           "alipaymsg_messages_received_total{app_id=\"2021000000000001\"} 10\n",
           "alipaymsg_duplicates_total{app_id=\"2021000000000001\"} 1\n",
           "alipaymsg_signature_failures_total{app_id=\"2021000000000001\"} 1\n",
           "alipaymsg_acks_total{app_id=\"2021000000000001\",status=\"success\"} 9\n",
           "alipaymsg_acks_total{app_id=\"2021000000000001\",status=\"fail\"} 1\n",
           "alipaymsg_connected{app_id=\"2021000000000001\"} 1\n",
           "alipaymsg_reconnects_total{app_id=\"2021000000000001\"} 2\n",
           "alipaymsg_registers_total{app_id=\"2021000000000001\"} 7\n",
           "alipaymsg_register_failures_total{app_id=\"2021000000000001\"} 4\n",
           "alipaymsg_dead_links_total{app_id=\"2021000000000001\"} 1\n",
           "alipaymsg_store_errors_total{app_id=\"2021000000000001\"} 2\n",
           "alipaymsg_in_flight_messages{app_id=\"2021000000000001\"} 3\n",
           "# TYPE alipaymsg_ack_latency_seconds histogram\n",
           "alipaymsg_ack_latency_seconds_bucket{app_id=\"2021000000000001\",le=\"0.001\"} 5\n",
           "alipaymsg_ack_latency_seconds_bucket{app_id=\"2021000000000001\",le=\"0.01\"} 9\n",
           "alipaymsg_ack_latency_seconds_bucket{app_id=\"2021000000000001\",le=\"+Inf\"} 10\n",
           "alipaymsg_ack_latency_seconds_count{app_id=\"2021000000000001\"} 10\n",
           "alipaymsg_ack_latency_seconds_sum{app_id=\"2021000000000001\"} 2.027971\n",
           "alipaymsg_inbox_messages{state=\"pending\"} 3\n",
           "alipaymsg_inbox_store_waiting 2\n",
           "alipaymsg_dispatch_results_total{result=\"done\"} 7\n",
           "alipaymsg_sink_deliveries_total{sink=\"sinks[0]\",kind=\"jsonl\",outcome=\"done\"} 7\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "in:\n" << text;
  }
  // Every sample line belongs to a declared family.
  EXPECT_EQ(text.find("le=\"+Inf\"} 10\nalipaymsg_ack_latency_seconds_bucket{app_id=\"2021000000000001\",le=\"+Inf\""),
            std::string::npos);
}

TEST(MetricsTest, SharedInboxSamplesCarryTheInstanceAndOneInstanceReportsTheInboxGauges) {
  MetricsSnapshot s;
  s.instance = "host-a";
  s.shared_inbox = "postgresql://alipay:***@db/inbox";
  s.inbox_pending = 3;
  s.dispatch_done = 7;
  ConnectionStats app;
  app.app_id = "2021000000000001";
  app.received = 10;
  s.apps.push_back(app);
  std::string text = RenderPrometheus(s);
  for (const char* line : {
           "alipaymsg_up{instance=\"host-a\"} 1\n",
           "alipaymsg_messages_received_total{instance=\"host-a\",app_id=\"2021000000000001\"} 10\n",
           "alipaymsg_dispatch_results_total{instance=\"host-a\",result=\"done\"} 7\n",
           "alipaymsg_inbox_messages{instance=\"host-a\",inbox=\"postgresql://alipay:***@db/inbox\",state=\"pending\"} 3\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "in:\n" << text;
  }
  s.report_inbox = false;  // another live instance reports the shared gauges
  text = RenderPrometheus(s);
  EXPECT_EQ(text.find("alipaymsg_inbox_messages{"), std::string::npos) << text;
  EXPECT_NE(text.find("alipaymsg_dispatch_results_total{instance=\"host-a\",result=\"done\"} 7\n"), std::string::npos);
}

TEST(ReadinessTest, ReadyOnlyWhenEveryAppConnected) {
  bool ready = false;
  std::string body = RenderReadiness({{"1", "open", true, "", 0}, {"2", "backoff", false, "register.do: HTTP 502", 3}}, ready);
  EXPECT_FALSE(ready);
  auto o = boost::json::parse(body).as_object();
  EXPECT_EQ(o.at("ready").as_bool(), false);
  EXPECT_EQ(o.at("apps").as_array()[1].as_object().at("last_error").as_string(), "register.do: HTTP 502");
  EXPECT_EQ(o.at("apps").as_array()[1].as_object().at("reconnects").as_int64(), 3);
  RenderReadiness({{"1", "open", true, "", 0}}, ready);
  EXPECT_TRUE(ready);
  RenderReadiness({}, ready);
  EXPECT_FALSE(ready);
}

TEST(ReadinessTest, NotReadyWhileTheInboxCannotCommitWithTheReason) {
  bool ready = true;
  InboxHealth inbox;
  inbox.can_commit = false;
  inbox.reason = "sqlite: database or disk is full";
  inbox.since_ms = 1700000000000;
  std::string body = RenderReadiness({{"1", "open", true, "", 0}}, inbox, ready);
  EXPECT_FALSE(ready);
  auto o = boost::json::parse(body).as_object();
  EXPECT_EQ(o.at("inbox").as_object().at("can_commit").as_bool(), false);
  EXPECT_NE(std::string(o.at("inbox").as_object().at("error").as_string()).find("database or disk is full"),
            std::string::npos)
      << body;
  RenderReadiness({{"1", "open", true, "", 0}}, InboxHealth{}, ready);
  EXPECT_TRUE(ready);
}

TEST(AdminServerTest, Endpoints) {
  std::mutex mu;
  std::vector<AppHealth> health = {{"2021000000000001", "backoff", false, "connection refused", 1}};
  AdminServer::Callbacks callbacks;
  callbacks.health = [&] {
    std::lock_guard lock(mu);
    return health;
  };
  callbacks.metrics = [] {
    MetricsSnapshot s;
    s.apps.push_back(SampleApp());
    return s;
  };
  auto server = AdminServer::Start("127.0.0.1", 0, callbacks);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);

  Reply healthz = Get(port, "/healthz");
  EXPECT_EQ(healthz.status, 200);
  EXPECT_EQ(healthz.body, "ok\n");

  Reply not_ready = Get(port, "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("\"last_error\":\"connection refused\""), std::string::npos) << not_ready.body;
  {
    std::lock_guard lock(mu);
    health[0] = {"2021000000000001", "open", true, "", 1};
  }
  Reply ready = Get(port, "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_NE(ready.headers.find("application/json"), std::string::npos);

  Reply metrics = Get(port, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.headers.find("text/plain; version=0.0.4"), std::string::npos) << metrics.headers;
  EXPECT_NE(metrics.body.find("alipaymsg_messages_received_total{app_id=\"2021000000000001\"} 10\n"), std::string::npos);

  EXPECT_EQ(Get(port, "/nope").status, 404);
  Reply post = Get(port, "/healthz", "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_NE(post.headers.find("Allow: GET, HEAD"), std::string::npos) << post.headers;
  // HEAD: the GET's length, no body.
  Reply head = Get(port, "/healthz?x=1", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_NE(head.headers.find("Content-Length: 3"), std::string::npos) << head.headers;
  EXPECT_EQ(head.body, "");
  (*server)->Stop();
  (*server)->Stop();  // idempotent
}

TEST(AdminServerTest, BadListenAddressIsAnError) {
  auto server = AdminServer::Start("not-an-ip", 0, {});
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("not-an-ip"), std::string::npos);
}

}  // namespace
}  // namespace alipaymsg::daemon
