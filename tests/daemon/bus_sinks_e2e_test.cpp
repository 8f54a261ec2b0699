// The redis: and nats: sinks end to end: the real alipay-msgd against the real alipay-msg-sim and a
// real redis-server / nats-server (JetStream) started by the test. Exactly once into the bus across
// SIGKILLs of the daemon and across the bus server going away; bad settings reported by
// `alipay-msg check-config --connect` naming the sink and the key.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <iostream>
#include <map>
#include <regex>
#include <thread>

#include "bus_servers.h"
#include "daemon_process.h"
#include "testing/run_process.h"
#include "testing/test_paths.h"

namespace alipaymsg::daemontest {
namespace {

namespace json = boost::json;
using clienttest::ReadFile;
using clienttest::SimKeys;
using clienttest::SimProcess;
using clienttest::WaitUntil;
using std::chrono::seconds;
using Kind = BusServer::Kind;

constexpr const char* kApp = "2021000000000001";
constexpr const char* kApi = "alipay.open.mini.version.audit.passed";
// Sent as content_raw: the simulator embeds it byte for byte, and so must the bus (spacing, UTF-8,
// escapes and the number's trailing zero included).
constexpr const char* kRawContent = R"({ "order_id" : "K-1",  "buyer":"张三", "amount": 12.50, "note":"tab\tq\"uote" })";
constexpr const char* kRedisStream = "alipay:alipay.open.mini.version.audit.passed";  // "alipay:{msg_api}"
constexpr const char* kNatsStream = "ALIPAY";

const SimKeys& Keys() {
  static SimKeys keys = clienttest::Keygen(testing::MakeTempDir("bus-e2e-keys"), kApp);
  return keys;
}

std::string Name(Kind kind) { return kind == Kind::kRedis ? "redis" : "nats"; }

// One message as it landed in the bus.
struct Landed {
  std::string msg_id, biz_content, problem;  // problem: a field that is not as it must be
};

class BusSinkE2ETest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Keys().app_private_key.empty());
    dir_ = testing::MakeTempDir("bus-e2e");
  }

  Kind kind() const { return GetParam(); }

  std::string AppYaml(const std::string& server_host) const {
    return std::string("alipay:\n  app-id: \"") + kApp + "\"\n  server-host: \"" + server_host +
           "\"\n  ssl: false\n  sign-type: RSA2\n  app-private-key-path: " + Keys().app_private_key +
           "\n  alipay-public-key-path: " + Keys().alipay_public_key + "\n";
  }
  // Inbox, admin on a free port, retries patient enough to outlast a 5 s outage.
  std::string CommonYaml() const {
    return "inbox:\n  path: " + dir_ + "/inbox.db\nadmin:\n  listen: 127.0.0.1:0\n"
           "retry:\n  max-attempts: 1000\n  initial-backoff-ms: 50\n  max-backoff-ms: 1000\n"
           "shutdown-timeout-ms: 5000\n";
  }
  // The sink block; `extra` goes inside the redis:/nats: map (credentials).
  std::string SinkYaml(const std::string& url, const std::string& extra = "") const {
    std::string y = "sinks:\n  - match: \"*\"\n    timeout-ms: 3000\n    concurrency: 8\n";
    if (kind() == Kind::kRedis) {
      y += "    redis:\n      url: " + url + "\n      stream: \"alipay:{msg_api}\"\n";
    } else {
      y += "    nats:\n      url: " + url + "\n      subject: \"alipay.{app_id}.{msg_api}\"\n      stream: " +
           std::string(kNatsStream) + "\n";
    }
    return y + extra;
  }
  std::string WriteConfig(const std::string& yaml) {
    const std::string path = dir_ + "/alipay-msgd.yaml";
    WriteFile(path, yaml);
    return path;
  }

  std::unique_ptr<DaemonProcess> StartDaemon() {
    auto daemon = DaemonProcess::Start(config_, dir_ + "/daemon.log");
    if (!daemon) return nullptr;
    if (!WaitUntil([&] { return daemon->Ready(); }, seconds(20))) {
      ADD_FAILURE() << "alipay-msgd never became ready: " << daemon->Admin("/readyz").body << "\n" << daemon->Log();
      return nullptr;
    }
    return daemon;
  }

  // The bus server, the simulator and the daemon between them.
  bool Launch() {
    server_ = BusServer::Start(kind(), dir_);
    if (!server_) return false;
    sim_ = SimProcess::Start(dir_, clienttest::SimArgsForApp(Keys(), kApp, false, nullptr));
    if (!sim_) return false;
    config_ = WriteConfig(AppYaml(sim_->listen()) + CommonYaml() + SinkYaml(server_->url()));
    daemon_ = StartDaemon();
    return daemon_ != nullptr;
  }

  std::vector<std::string> Post(int count) {
    json::value reply = sim_->Post("/messages/batch", json::serialize(json::object{
                                                          {"count", count}, {"app_id", kApp}, {"msg_api", kApi},
                                                          {"content_raw", kRawContent}}));
    std::vector<std::string> ids;
    if (reply.is_object() && reply.as_object().contains("msg_ids")) {
      for (const auto& id : reply.at("msg_ids").as_array()) ids.emplace_back(id.as_string());
    }
    EXPECT_EQ(ids.size(), static_cast<size_t>(count)) << reply;
    return ids;
  }

  int64_t InBus() const {
    return kind() == Kind::kRedis ? RedisStreamLength(server_->port(), kRedisStream)
                                  : JetStreamMessageCount(server_->port(), kNatsStream);
  }

  std::string SinkMetric(const std::string& outcome) const {
    return "alipaymsg_sink_deliveries_total{sink=\"sinks[0]\",kind=\"" + Name(kind()) + "\",outcome=\"" + outcome + "\"}";
  }

  // Everything in the bus, each entry checked field by field.
  std::vector<Landed> Contents() const {
    static const std::regex rfc3339(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");
    std::vector<Landed> out;
    if (kind() == Kind::kRedis) {
      for (const StreamEntry& e : RedisStreamEntries(server_->port(), kRedisStream)) {
        Landed l{e.Field("msg_id"), e.Field("biz_content"), ""};
        std::vector<std::string> names;
        for (const auto& f : e.fields) names.push_back(f.first);
        const std::vector<std::string> expected = {"app_id",      "msg_id",         "msg_api",    "channel",
                                                   "received_at", "delivery_count", "biz_content"};
        if (names != expected) l.problem = "fields";
        else if (e.Field("app_id") != kApp || e.Field("msg_api") != kApi || e.Field("channel") != "websocket")
          l.problem = "app_id/msg_api/channel";
        else if (!std::regex_match(e.Field("received_at"), rfc3339)) l.problem = "received_at " + e.Field("received_at");
        else if (std::atoi(e.Field("delivery_count").c_str()) < 1) l.problem = "delivery_count";
        out.push_back(std::move(l));
      }
      return out;
    }
    for (const JetStreamMessage& m : JetStreamMessages(server_->port(), kNatsStream)) {
      Landed l;
      json::error_code ec;
      json::value v = json::parse(m.data, ec);
      if (ec || !v.is_object() || !v.as_object().contains("msg_id")) {
        l.problem = "payload " + m.data;
        out.push_back(std::move(l));
        continue;
      }
      const json::object& o = v.as_object();
      l.msg_id = std::string(o.at("msg_id").as_string());
      // The jsonl line format: biz_content embedded as received (the raw bytes appear in the payload).
      const std::string marker = std::string("\"biz_content\":") + kRawContent + ",\"channel\"";
      l.biz_content = m.data.find(marker) != std::string::npos ? kRawContent : "<not byte-identical in " + m.data + ">";
      if (m.subject != std::string("alipay.") + kApp + "." + kApi) l.problem = "subject " + m.subject;
      else if (m.msg_id_header != std::string(kApp) + "/" + l.msg_id) l.problem = "Nats-Msg-Id " + m.msg_id_header;
      else if (o.at("app_id") != json::value(kApp) || o.at("msg_api") != json::value(kApi) ||
               o.at("channel") != json::value("websocket") || o.size() != 7)
        l.problem = "payload members " + m.data;
      out.push_back(std::move(l));
    }
    return out;
  }

  // Exactly `ids`, each once, byte-identical bizContent, every field right.
  void ExpectExactlyOnce(const std::vector<std::string>& ids) {
    const std::vector<Landed> landed = Contents();
    std::map<std::string, int> counts;
    size_t bad_content = 0, bad_fields = 0;
    std::string example;
    for (const Landed& l : landed) {
      ++counts[l.msg_id];
      if (l.biz_content != kRawContent) ++bad_content, example = l.biz_content;
      if (!l.problem.empty()) ++bad_fields, example = l.problem;
    }
    size_t missing = 0, doubled = 0;
    for (const std::string& id : ids) {
      missing += counts[id] == 0;
      doubled += counts[id] > 1;
    }
    EXPECT_EQ(landed.size(), ids.size());
    EXPECT_EQ(missing, 0u);
    EXPECT_EQ(doubled, 0u);
    EXPECT_EQ(counts.size(), ids.size());  // nothing else
    EXPECT_EQ(bad_content, 0u) << example;
    EXPECT_EQ(bad_fields, 0u) << example;
  }

  // Waits until the simulator saw `total` acks and the inbox marks `total` messages done.
  bool AwaitAllDone(int total, seconds timeout = seconds(90)) {
    const bool done = WaitUntil(
        [&] {
          return sim_->Stat("acked_messages") == total &&
                 daemon_->Metric(R"(alipaymsg_inbox_messages{state="done"})") == total;
        },
        timeout);
    EXPECT_TRUE(done) << "in the bus: " << InBus() << "\n" << daemon_->Admin("/metrics").body << daemon_->Log();
    return done;
  }

  std::string dir_, config_;
  std::unique_ptr<BusServer> server_;
  std::unique_ptr<SimProcess> sim_;
  std::unique_ptr<DaemonProcess> daemon_;  // stopped before the others
};

// The issue's numbers: 5,000 messages, 5 SIGKILLs while they stream.
TEST_P(BusSinkE2ETest, SigkillsMidStreamStillEveryMessageExactlyOnce) {
  ASSERT_TRUE(Launch());
  constexpr int kKills = 5, kChunk = 1000, kTotal = kKills * kChunk;
  std::vector<std::string> ids;
  int kills_mid_stream = 0;
  for (int run = 0; run < kKills; ++run) {
    if (!daemon_) daemon_ = StartDaemon();
    ASSERT_TRUE(daemon_) << "run " << run;
    auto chunk = Post(kChunk);
    ids.insert(ids.end(), chunk.begin(), chunk.end());
    // Kill once part of this chunk is in the bus while the rest is still arriving.
    const int64_t trigger = run * kChunk + kChunk / 5;
    ASSERT_TRUE(WaitUntil([&] { return InBus() >= trigger; }, seconds(60)))
        << "run " << run << ": " << InBus() << " in the bus\n" << daemon_->Log();
    daemon_->Kill();
    daemon_.reset();
    if (sim_->Stat("acked_messages") < (run + 1) * kChunk || InBus() < (run + 1) * kChunk) ++kills_mid_stream;
  }
  daemon_ = StartDaemon();
  ASSERT_TRUE(daemon_);
  ASSERT_TRUE(AwaitAllDone(kTotal));
  EXPECT_EQ(daemon_->Stop(), 0) << daemon_->Log();
  daemon_.reset();
  // The kills must have hit a stream in progress, or the test proves nothing.
  EXPECT_GE(kills_mid_stream, 1);
  ExpectExactlyOnce(ids);
  if (kind() == Kind::kRedis) {
    EXPECT_EQ(RedisKeyCount(server_->port(), "alipay-msg:seen:*"), static_cast<size_t>(kTotal));
  }
  EXPECT_EQ(sim_->Stat("acked.FAIL"), 0);
  std::cout << "[ info ] " << kills_mid_stream << " of " << kKills << " SIGKILLs landed mid-stream; "
            << sim_->Stat("redelivered") << " redeliveries\n";
}

TEST_P(BusSinkE2ETest, ServerDownFiveSecondsMidStreamNothingLostNothingDoubled) {
  ASSERT_TRUE(Launch());
  constexpr int kTotal = 5000;
  std::vector<std::string> ids = Post(kTotal);
  ASSERT_TRUE(WaitUntil([&] { return InBus() >= kTotal / 10; }, seconds(60))) << InBus() << "\n" << daemon_->Log();
  const auto stopped_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(server_->Stop());
  // Deliveries fail while it is away (retried, the inbox keeps them pending).
  EXPECT_TRUE(WaitUntil([&] { return daemon_->Metric(SinkMetric("retry")) > 0; }, seconds(10)))
      << daemon_->Admin("/metrics").body;
  EXPECT_LT(daemon_->Metric(R"(alipaymsg_inbox_messages{state="done"})"), kTotal);  // mid-stream
  std::this_thread::sleep_until(stopped_at + seconds(5));  // the outage itself, not a check
  ASSERT_TRUE(server_->Restart());
  ASSERT_TRUE(AwaitAllDone(kTotal));
  EXPECT_EQ(daemon_->Metric(SinkMetric("done")), kTotal);
  EXPECT_EQ(daemon_->Metric(SinkMetric("reject")), 0);
  EXPECT_GT(daemon_->Metric("alipaymsg_sink_delivery_seconds_count{sink=\"sinks[0]\",kind=\"" + Name(kind()) + "\"}"),
            kTotal);
  EXPECT_EQ(daemon_->Metric(R"(alipaymsg_dispatch_results_total{result="dead"})"), 0);
  EXPECT_EQ(daemon_->Stop(), 0) << daemon_->Log();
  daemon_.reset();
  ExpectExactlyOnce(ids);
  if (kind() == Kind::kNats) {
    int64_t window = 0;
    std::vector<std::string> subjects;
    ASSERT_TRUE(JetStreamConfig(server_->port(), kNatsStream, window, subjects));
    EXPECT_EQ(window, 120);
    EXPECT_EQ(subjects, std::vector<std::string>{"alipay.>"});
  }
}

// maxlen: the script's XADD trims the stream (exact "=N" here; "~N" trims by whole nodes), and the
// markers still keep every message once.
class RedisSinkE2ETest : public BusSinkE2ETest {};

TEST_P(RedisSinkE2ETest, MaxlenTrimsTheStream) {
  server_ = BusServer::Start(kind(), dir_);
  ASSERT_TRUE(server_);
  sim_ = SimProcess::Start(dir_, clienttest::SimArgsForApp(Keys(), kApp, false, nullptr));
  ASSERT_TRUE(sim_);
  config_ = WriteConfig(AppYaml(sim_->listen()) + CommonYaml() + SinkYaml(server_->url(), "      maxlen: 10\n"));
  daemon_ = StartDaemon();
  ASSERT_TRUE(daemon_);
  Post(40);
  ASSERT_TRUE(AwaitAllDone(40, seconds(30)));
  EXPECT_EQ(RedisStreamLength(server_->port(), kRedisStream), 10);
  EXPECT_EQ(RedisKeyCount(server_->port(), "alipay-msg:seen:*"), 40u);
  EXPECT_EQ(daemon_->Metric(SinkMetric("retry")), 0);
  EXPECT_EQ(daemon_->Stop(), 0) << daemon_->Log();
}

// `check-config --connect`: unreachable server, wrong password, no password; each error names the
// config line, the sink and the key, and never the password. Then the daemon with the wrong one.
TEST_P(BusSinkE2ETest, CheckConfigConnectNamesTheSinkAndKeyOfBadSettings) {
  const std::string password = "s3cret-right";
  BusServer::Options options;
  options.user = kind() == Kind::kNats ? "app" : "";
  options.password = password;
  server_ = BusServer::Start(kind(), dir_, options);
  ASSERT_TRUE(server_);
  WriteFile(dir_ + "/right.pw", password + "\n");
  WriteFile(dir_ + "/wrong.pw", "n0t-the-password\n");
  const std::string user = kind() == Kind::kNats ? "      user: app\n" : "";
  const std::string app = AppYaml("127.0.0.1:1") + CommonYaml();
  const int sink_line = static_cast<int>(Lines(app).size()) + 2;  // "sinks:", "- match", then its keys
  const int url_line = sink_line + 4;                              // timeout-ms, concurrency, redis:, url
  const int password_line = url_line + 2 + (kind() == Kind::kNats ? 2 : 0);
  const std::string alipay_msg = testing::BinDir() + "/alipay-msg";
  auto check = [&](const std::string& sinks) {
    config_ = WriteConfig(app + sinks);
    return testing::RunProcess({alipay_msg, "check-config", "--connect", config_});
  };
  const std::string at = config_.empty() ? dir_ + "/alipay-msgd.yaml:" : config_ + ":";
  const std::string key = "sinks[0]." + Name(kind()) + ".";

  const int nobody = FreeLocalPort();
  const std::string unreachable = kind() == Kind::kRedis ? "redis://127.0.0.1:" + std::to_string(nobody) + "/0"
                                                         : "nats://127.0.0.1:" + std::to_string(nobody);
  auto r = check(SinkYaml(unreachable, user + "      password-file: " + dir_ + "/right.pw\n"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("error: " + at + std::to_string(url_line) + ": " + key + "url: cannot connect to " + unreachable),
            std::string::npos)
      << r.out;

  r = check(SinkYaml(server_->url(), user + "      password-file: " + dir_ + "/wrong.pw\n"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("error: " + at + std::to_string(password_line) + ": " + key + "password-file: " +
                       server_->url() + " refused the credentials"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("n0t-the-password"), std::string::npos) << r.out;

  r = check(SinkYaml(server_->url()));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find(key), std::string::npos) << r.out;

  r = check(SinkYaml(server_->url(), user + "      password-file: " + dir_ + "/right.pw\n"));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok: " + at + std::to_string(sink_line) + ": sinks[0] (" + Name(kind()) + "): reached " +
                       server_->url()),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find(password), std::string::npos) << r.out;

  // A password-env naming an unset variable: the daemon does not start (exit 2), naming the key.
  config_ = WriteConfig(app + SinkYaml(server_->url(), user + "      password-env: ALIPAYMSG_TEST_UNSET_PASSWORD\n"));
  const DaemonExit unset = RunDaemonToExit(config_, dir_ + "/unset.log");
  EXPECT_EQ(unset.code, 2) << unset.output;
  EXPECT_NE(unset.output.find(key + "password-env: the environment variable ALIPAYMSG_TEST_UNSET_PASSWORD is not set"),
            std::string::npos)
      << unset.output;

  // The daemon with the wrong password: deliveries fail (retried), its log names the sink and the
  // key, never a password.
  sim_ = SimProcess::Start(dir_, clienttest::SimArgsForApp(Keys(), kApp, false, nullptr));
  ASSERT_TRUE(sim_);
  config_ = WriteConfig(AppYaml(sim_->listen()) + CommonYaml() +
                        SinkYaml(server_->url(), user + "      password-file: " + dir_ + "/wrong.pw\n"));
  daemon_ = StartDaemon();
  ASSERT_TRUE(daemon_);
  Post(1);
  EXPECT_TRUE(WaitUntil([&] { return daemon_->Log().find("refused the credentials") != std::string::npos; }, seconds(20)))
      << daemon_->Log();
  const std::string log = daemon_->Log();
  EXPECT_NE(log.find(key + "password-file: " + server_->url() + " refused the credentials"), std::string::npos) << log;
  EXPECT_EQ(log.find("n0t-the-password"), std::string::npos) << log;
  EXPECT_EQ(daemon_->Metric(R"(alipaymsg_inbox_messages{state="done"})"), 0);
  EXPECT_EQ(daemon_->Stop(), 0) << daemon_->Log();
}

// NATS over TLS: the server's certificate is verified (against ca-file); without the CA that signed
// it the connection is refused, and the error names the sink's url.
TEST(BusSinkTlsTest, NatsOverTlsVerifiesTheServerCertificate) {
  const std::string dir = testing::MakeTempDir("bus-e2e-tls");
  const clienttest::TlsKeys tls = clienttest::TlsKeygen(dir + "/tls");
  ASSERT_FALSE(tls.ca.empty());
  BusServer::Options options;
  options.tls_cert = tls.cert, options.tls_key = tls.key;
  auto server = BusServer::Start(Kind::kNats, dir, options);
  ASSERT_TRUE(server);
  const std::string app = std::string("alipay:\n  app-id: \"") + kApp + "\"\n  server-host: \"127.0.0.1:1\"\n  ssl: false\n"
                          "  app-private-key-path: " + Keys().app_private_key + "\n  alipay-public-key-path: " +
                          Keys().alipay_public_key + "\ninbox:\n  path: " + dir + "/inbox.db\n";
  const std::string url = "tls://127.0.0.1:" + std::to_string(server->port());
  auto check = [&](const std::string& extra) {
    WriteFile(dir + "/alipay-msgd.yaml", app + "sinks:\n  - match: \"*\"\n    nats:\n      url: " + url +
                                          "\n      subject: \"alipay.{msg_api}\"\n      stream: TLS\n" + extra);
    return testing::RunProcess({testing::BinDir() + "/alipay-msg", "check-config", "--connect", dir + "/alipay-msgd.yaml"});
  };
  auto r = check("      ca-file: " + tls.ca + "\n");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("sinks[0] (nats): reached " + url), std::string::npos) << r.out;
  r = check("");  // the system trust store alone does not know the test CA
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find(": sinks[0].nats.url: cannot connect to " + url), std::string::npos) << r.out;
}

// An existing stream is used as it is; check-config --connect warns when its duplicate window is
// shorter than 2 minutes or its subjects do not take the sink's.
TEST(BusSinkNatsStreamTest, CheckConfigConnectWarnsAboutAnExistingStreamThatWeakensTheGuarantee) {
  const std::string dir = testing::MakeTempDir("bus-e2e-stream");
  auto server = BusServer::Start(Kind::kNats, dir);
  ASSERT_TRUE(server);
  ASSERT_TRUE(JetStreamCreate(server->port(), "THEIRS", "other.>", 30));
  const std::string config = dir + "/alipay-msgd.yaml";
  const std::string yaml = std::string("alipay:\n  app-id: \"") + kApp + "\"\n  server-host: \"127.0.0.1:1\"\n  ssl: false\n"
                           "  app-private-key-path: " + Keys().app_private_key + "\n  alipay-public-key-path: " +
                           Keys().alipay_public_key + "\ninbox:\n  path: " + dir + "/inbox.db\nsinks:\n  - match: \"*\"\n"
                           "    nats:\n      url: " + server->url() + "\n      subject: \"alipay.{app_id}.{msg_api}\"\n"
                           "      stream: THEIRS\n";
  WriteFile(config, yaml);
  auto r = testing::RunProcess({testing::BinDir() + "/alipay-msg", "check-config", "--connect", config});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;  // warnings, not errors
  const std::string at = "warning: " + config + ":" + std::to_string(Lines(yaml).size()) + ": sinks[0].nats.stream: ";
  EXPECT_NE(r.out.find(at + "stream THEIRS exists with a duplicate window of 30 s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(at + "stream THEIRS exists, but none of its subjects is alipay.>"), std::string::npos) << r.out;
  // The stream the sink creates itself draws no warning.
  WriteFile(config, yaml.substr(0, yaml.rfind("THEIRS")) + "OURS\n");
  r = testing::RunProcess({testing::BinDir() + "/alipay-msg", "check-config", "--connect", config});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = testing::RunProcess({testing::BinDir() + "/alipay-msg", "check-config", "--connect", config});  // now it exists
  EXPECT_EQ(r.out.find("warning:"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Sinks, BusSinkE2ETest, ::testing::Values(Kind::kRedis, Kind::kNats),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                           return info.param == Kind::kRedis ? std::string("Redis") : std::string("Nats");
                         });
INSTANTIATE_TEST_SUITE_P(Sinks, RedisSinkE2ETest, ::testing::Values(Kind::kRedis),
                         [](const ::testing::TestParamInfo<Kind>&) { return std::string("Redis"); });

}  // namespace
}  // namespace alipaymsg::daemontest
