// alipay-msgd end to end: the real daemon binary against the real alipay-msg-sim binary. Config
// errors, key and cert (TLS) mode, each sink, restart with the inbox kept, SIGKILL mid-stream with
// the jsonl sink, readiness, metrics against the simulator's own counts, logging.
#include <signal.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <set>

#include "daemon_process.h"
#include "e2e_support.h"
#include "test_http_server.h"
#include "testing/test_paths.h"

namespace alipaymsg::daemontest {
namespace {

namespace json = boost::json;
using clienttest::ReadFile;
using clienttest::SimKeys;
using clienttest::SimProcess;
using clienttest::TlsKeys;
using clienttest::WaitUntil;
using daemon_test::TestHttpServer;
using std::chrono::seconds;

// 1-based line of the first line of `yaml` containing `needle` (0 when none does).
int LineOf(const std::string& yaml, const std::string& needle) {
  std::vector<std::string> lines = Lines(yaml);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find(needle) != std::string::npos) return static_cast<int>(i + 1);
  }
  ADD_FAILURE() << "no line with " << needle << " in\n" << yaml;
  return 0;
}

std::map<std::string, int> CountByMsgId(const std::vector<json::object>& lines) {
  std::map<std::string, int> counts;
  for (const json::object& line : lines) {
    if (const json::value* id = line.if_contains("msg_id"); id && id->is_string()) ++counts[std::string(id->as_string())];
  }
  return counts;
}

// The issue's line format: exactly these members, biz_content the posted object.
void ExpectJsonlLine(const json::object& line, const std::string& msg_id, const std::string& msg_api,
                     const std::string& content_json) {
  static const std::regex rfc3339(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$)");
  const std::set<std::string> expected_keys = {"app_id", "msg_api", "msg_id", "biz_content",
                                               "channel", "received_at", "delivery_count"};
  std::set<std::string> keys;
  for (const auto& member : line) keys.insert(std::string(member.key()));
  EXPECT_EQ(keys, expected_keys) << json::serialize(line);
  if (keys != expected_keys) return;
  EXPECT_EQ(line.at("app_id"), json::value(kApp));
  EXPECT_EQ(line.at("msg_api"), json::value(msg_api));
  EXPECT_EQ(line.at("msg_id"), json::value(msg_id));
  EXPECT_EQ(line.at("biz_content"), json::parse(content_json)) << json::serialize(line);
  EXPECT_EQ(line.at("channel"), json::value("websocket"));
  ASSERT_TRUE(line.at("received_at").is_string()) << json::serialize(line);
  EXPECT_TRUE(std::regex_match(std::string(line.at("received_at").as_string()), rfc3339)) << json::serialize(line);
  EXPECT_EQ(line.at("delivery_count"), json::value(1)) << json::serialize(line);
}

// ---- fixture ----------------------------------------------------------------------------------

class DaemonE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Keys().app_private_key.empty());
    dir_ = testing::MakeTempDir("daemon-e2e");
    jsonl_ = dir_ + "/out/messages.jsonl";
  }

  std::unique_ptr<SimProcess> StartSim(Mode mode, bool tls, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = clienttest::SimArgsForApp(Keys(), kApp, mode == Mode::kCert, tls ? &Tls() : nullptr);
    args.insert(args.end(), extra.begin(), extra.end());
    return SimProcess::Start(dir_, args);
  }

  std::string WriteConfig(const std::string& yaml, const std::string& name = "alipay-msgd.yaml") {
    const std::string path = dir_ + "/" + name;
    WriteFile(path, yaml);
    return path;
  }

  // Starts the daemon and waits until /readyz says connected.
  std::unique_ptr<DaemonProcess> StartDaemon(const std::string& config, const std::vector<std::string>& args = {},
                                             const std::string& log_file = "") {
    auto daemon = DaemonProcess::Start(config, dir_ + "/daemon.log", args, log_file);
    if (!daemon) return nullptr;
    if (!WaitUntil([&] { return daemon->Ready(); }, seconds(20))) {
      ADD_FAILURE() << "alipay-msgd never became ready: " << daemon->Admin("/readyz").body << "\n" << daemon->Log();
      return nullptr;
    }
    return daemon;
  }

  // A simulator and a daemon connected to it (ready): the app block for `mode`/`tls`, CommonYaml,
  // and `sinks` (default: everything to jsonl_). The config stays in config_ for restarts.
  bool Launch(Mode mode, bool tls, const std::string& sinks = "", const std::vector<std::string>& sim_args = {}) {
    sim_ = StartSim(mode, tls, sim_args);
    if (!sim_) return false;
    config_ = WriteConfig(AppYaml(mode, *sim_, tls) + CommonYaml(dir_) + (sinks.empty() ? JsonlSinkYaml(jsonl_) : sinks));
    daemon_ = StartDaemon(config_);
    return daemon_ != nullptr;
  }

  // Waits until `n` messages are acked and written, checks that the one connection is in `mode`
  // ("key", "cert"), stops the daemon (exit 0); the jsonl lines.
  std::vector<json::object> AwaitJsonlThenStop(size_t n, const std::string& mode) {
    EXPECT_TRUE(WaitUntil([&] {
      return LineCount(jsonl_) >= n && sim_->Stat("acked_messages") == static_cast<int64_t>(n);
    })) << ReadFile(jsonl_) << daemon_->Log();
    json::value connections = sim_->Get("/connections");
    EXPECT_EQ(connections.at("connections").as_array().size(), 1u) << connections;
    if (!connections.at("connections").as_array().empty()) {
      EXPECT_EQ(connections.at("connections").as_array()[0].at("mode"), json::value(mode)) << connections;
    }
    EXPECT_EQ(daemon_->Stop(), 0) << daemon_->Log();
    return JsonlLines(jsonl_);
  }

  std::string dir_, jsonl_, config_;
  std::unique_ptr<SimProcess> sim_;
  std::unique_ptr<DaemonProcess> daemon_;  // stopped before the simulator
};

// ---- 1. config errors -------------------------------------------------------------------------

TEST_F(DaemonE2ETest, ConfigErrorsExitTwoNamingFileLineAndKeyAndConnectNothing) {
  auto sim = StartSim(Mode::kKey, false);
  ASSERT_TRUE(sim);
  const SimKeys& k = Keys();
  const std::string good_app = AppYaml(Mode::kKey, *sim, false);
  const std::string rest = CommonYaml(dir_) + JsonlSinkYaml(jsonl_);
  auto replace = [](std::string text, const std::string& from, const std::string& to) {
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
  };
  const std::string garbage_key = dir_ + "/garbage_private_key.pem";
  WriteFile(garbage_key, "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");

  struct Case {
    std::string name;
    std::string yaml;
    std::string line_of;  // the config line the error must name (its text)
    std::string key;      // the key the error must name
  };
  const std::vector<Case> cases = {
      {"missing app-id", replace(good_app, std::string("  app-id: \"") + kApp + "\"\n", "") + rest, "alipay:",
       "missing app-id"},
      {"unknown sign-type", replace(good_app, "sign-type: RSA2", "sign-type: RSA3") + rest, "sign-type: RSA3",
       "alipay.sign-type"},
      {"missing key file", replace(good_app, k.app_private_key, dir_ + "/no/such_key.pem") + rest,
       "app-private-key-path:", "alipay.app-private-key-path"},
      {"key and cert mode mixed",
       good_app + "  app-cert-public-key-path: " + k.app_cert + "\n  alipay-cert-public-key-path: " + k.alipay_cert +
           "\n  alipay-root-cert-path: " + k.root_cert + "\n" + rest,
       "alipay-public-key-path:", "alipay.alipay-public-key-path"},
      {"wrong key format (a certificate as the private key)", replace(good_app, k.app_private_key, k.app_cert) + rest,
       "app-private-key-path:", "alipay.app-private-key-path"},
      {"wrong key format (not a key inside the PEM)", replace(good_app, k.app_private_key, garbage_key) + rest,
       "app-private-key-path:", "alipay.app-private-key-path"},
      {"Alipay public key swapped for the app's own", replace(good_app, k.alipay_public_key, k.app_public_key) + rest,
       "alipay-public-key-path:", "alipay.alipay-public-key-path"},
      {"bad YAML syntax", replace(good_app, "sign-type: RSA2", "sign-type: RSA2: x") + rest, "sign-type: RSA2: x",
       "not valid YAML"},
      {"exec sink program missing",
       good_app + CommonYaml(dir_) + "sinks:\n  - match: \"*\"\n    exec: [\"" + dir_ + "/no-such-program\"]\n",
       "exec:", "sinks[0].exec"},
      {"webhook sink with a bad url",
       good_app + CommonYaml(dir_) + "sinks:\n  - match: \"*\"\n    webhook: \"ftp://127.0.0.1/hook\"\n",
       "webhook:", "sinks[0].webhook"},
      {"sink with two kinds",
       good_app + CommonYaml(dir_) + "sinks:\n  - match: \"*\"\n    jsonl: " + jsonl_ + "\n    webhook: \"http://127.0.0.1:9/x\"\n",
       "- match:", "sinks[0]"},
  };
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string config = WriteConfig(c.yaml, "broken-" + std::to_string(++n) + ".yaml");
    DaemonExit exit = RunDaemonToExit(config, dir_ + "/broken-" + std::to_string(n) + ".log");
    EXPECT_EQ(exit.code, 2) << exit.output;
    // file:line, followed by ": message" or, for a key whose file failed to load, "): message".
    const std::string where = config + ":" + std::to_string(LineOf(c.yaml, c.line_of));
    EXPECT_TRUE(exit.output.find(where + ":") != std::string::npos || exit.output.find(where + ")") != std::string::npos)
        << "expected " << where << " in:\n" << exit.output;
    EXPECT_NE(exit.output.find(c.key), std::string::npos) << "expected " << c.key << " in:\n" << exit.output;
    EXPECT_EQ(exit.output.find("admin on"), std::string::npos) << exit.output;
  }
  // Nothing ever reached the simulator.
  EXPECT_EQ(sim->Stat("connections_total"), 0);
  EXPECT_EQ(sim->Stat("register_requests"), 0);
  EXPECT_EQ(sim->Stat("connections"), 0);
}

// ---- 2. key mode, cert mode (TLS + ca-file) ---------------------------------------------------

TEST_F(DaemonE2ETest, KeyModeDeliversEachMessageOnceToJsonl) {
  ASSERT_TRUE(Launch(Mode::kKey, false));
  const std::vector<std::pair<std::string, std::string>> messages = {
      {kApi, R"({"mini_app_id":"2021000000000001","mini_app_name":"小程序","audit_time":"2024-05-06 07:08:09"})"},
      {"alipay.open.mini.order.delivered", R"({"order_id":"O1","items":[{"sku":"a","qty":2}],"paid":true,"amount":12.5})"},
      {"alipay.merchant.tradecomplain.changed", R"({"complain_event_id":"C1","status":"MERCHANT_PROCESSING"})"},
  };
  std::vector<std::string> ids;
  for (const auto& [api, content] : messages) ids.push_back(sim_->AddMessage(kApp, api, content));
  auto lines = AwaitJsonlThenStop(messages.size(), "key");
  ASSERT_EQ(lines.size(), messages.size()) << ReadFile(jsonl_);
  std::map<std::string, json::object> by_id;
  for (const auto& line : lines) by_id[std::string(line.at("msg_id").as_string())] = line;
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(by_id.count(ids[i])) << ids[i] << " missing:\n" << ReadFile(jsonl_);
    ExpectJsonlLine(by_id[ids[i]], ids[i], messages[i].first, messages[i].second);
    json::value m = sim_->Get("/messages/" + ids[i]);
    EXPECT_EQ(m.at("state"), json::value("acked")) << m;
    // Each delivery answered once. (A disk stall past the simulator's 120 ms redelivery can make a
    // second delivery, answered too: correct, so the count of deliveries is not fixed.)
    EXPECT_EQ(m.at("acks").as_array().size(), m.at("deliveries").as_array().size()) << m;
  }
  EXPECT_EQ(sim_->Stat("acked.FAIL"), 0);
}

TEST_F(DaemonE2ETest, CertModeOverTlsWithCaFileDeliversEachMessageOnceToJsonl) {
  ASSERT_TRUE(Launch(Mode::kCert, true));
  const std::string content = R"({"mini_app_id":"2021000000000001","base_audit":"通过","n":7})";
  std::vector<std::string> ids = sim_->AddMessages(kApp, kApi, content, 20);
  ASSERT_EQ(ids.size(), 20u);
  auto lines = AwaitJsonlThenStop(ids.size(), "cert");
  ASSERT_EQ(lines.size(), ids.size()) << ReadFile(jsonl_);
  auto counts = CountByMsgId(lines);
  for (const std::string& id : ids) EXPECT_EQ(counts[id], 1) << id;
  for (const auto& line : lines) ExpectJsonlLine(line, std::string(line.at("msg_id").as_string()), kApi, content);
  EXPECT_EQ(sim_->Stat("acked_messages"), 20);  // messages acked SUCCESS, redeliveries aside
  EXPECT_EQ(sim_->Stat("acked.FAIL"), 0);
}

// ---- 3. sinks ---------------------------------------------------------------------------------

TEST_F(DaemonE2ETest, ExecSinkStdinAndEnvironmentRetryThenDoneAlwaysFailingGoesDead) {
  const std::string out = dir_ + "/exec-out";
  std::filesystem::create_directories(out);
  const std::string ok = WriteScript(dir_ + "/ok.sh", "cat > \"" + out + "/$ALIPAY_MSG_ID.json\"\n"
                                                      "echo \"$ALIPAY_MSG_ID $ALIPAY_MSG_API\" >> \"" + out + "/env\"\n");
  const std::string flaky = WriteScript(dir_ + "/flaky.sh",
                                        "echo run >> \"" + out + "/flaky-runs\"\n"
                                        "if [ ! -e \"" + out + "/flaky-tried\" ]; then\n"
                                        "  touch \"" + out + "/flaky-tried\"; echo 'first run fails' >&2; exit 3\n"
                                        "fi\n"
                                        "cat > \"" + out + "/flaky-$ALIPAY_MSG_ID.json\"\n");
  const std::string fail = WriteScript(dir_ + "/fail.sh", "echo run >> \"" + out + "/fail-runs\"\nexit 1\n");
  const std::string sinks = "sinks:\n"
                            "  - match: test.exec.ok\n    exec: [\"" + ok + "\"]\n"
                            "  - match: test.exec.flaky\n    exec: [\"" + flaky + "\"]\n"
                            "  - match: test.exec.fail\n    exec: [\"" + fail + "\"]\n    timeout-ms: 5000\n"
                            "  - match: \"*\"\n    jsonl: " + jsonl_ + "\n";
  ASSERT_TRUE(Launch(Mode::kKey, false, sinks));

  const std::string content = R"({"order_id":"E1","note":"stdin \"quoted\""})";
  const std::string ok1 = sim_->AddMessage(kApp, "test.exec.ok", content);
  const std::string ok2 = sim_->AddMessage(kApp, "test.exec.ok", R"({"order_id":"E2"})");
  const std::string flaky_id = sim_->AddMessage(kApp, "test.exec.flaky", content);
  const std::string fail_id = sim_->AddMessage(kApp, "test.exec.fail", content);
  const std::string other = sim_->AddMessage(kApp, kApi, content);

  ASSERT_TRUE(WaitUntil([&] {
    auto m = daemon_->Metrics();
    return m[R"(alipaymsg_inbox_messages{state="done"})"] == 4 && m[R"(alipaymsg_inbox_messages{state="dead"})"] == 1;
  })) << daemon_->Admin("/metrics").body << daemon_->Log();

  // Message JSON on stdin, id and api in the environment.
  for (const std::string& id : {ok1, ok2}) {
    json::value body = json::parse(ReadFile(out + "/" + id + ".json"));
    EXPECT_EQ(body.at("msg_id"), json::value(id));
    EXPECT_EQ(body.at("msg_api"), json::value("test.exec.ok"));
  }
  EXPECT_EQ(json::parse(ReadFile(out + "/" + ok1 + ".json")).at("biz_content"), json::parse(content));
  const std::vector<std::string> env = Lines(ReadFile(out + "/env"));
  EXPECT_EQ(std::set<std::string>(env.begin(), env.end()),
            (std::set<std::string>{ok1 + " test.exec.ok", ok2 + " test.exec.ok"}));
  // Failing, then succeeding: retried, done.
  EXPECT_EQ(Lines(ReadFile(out + "/flaky-runs")).size(), 2u);
  EXPECT_EQ(json::parse(ReadFile(out + "/flaky-" + flaky_id + ".json")).at("msg_id"), json::value(flaky_id));
  // Always failing: max-attempts runs, then dead.
  EXPECT_EQ(Lines(ReadFile(out + "/fail-runs")).size(), 3u);
  auto m = daemon_->Metrics();
  EXPECT_EQ(m[R"(alipaymsg_dispatch_results_total{result="dead"})"], 1);
  EXPECT_EQ(m[R"(alipaymsg_dispatch_results_total{result="done"})"], 4);
  EXPECT_EQ(m[R"(alipaymsg_sink_deliveries_total{sink="sinks[1]",kind="exec",outcome="retry"})"], 1);
  EXPECT_EQ(m[R"(alipaymsg_sink_deliveries_total{sink="sinks[2]",kind="exec",outcome="retry"})"], 3);
  EXPECT_EQ(m[R"(alipaymsg_sink_deliveries_total{sink="sinks[0]",kind="exec",outcome="done"})"], 2);
  EXPECT_NE(daemon_->Log().find("dead: " + std::string(kApp) + " test.exec.fail msg_id=" + fail_id), std::string::npos)
      << daemon_->Log();
  // First match wins: only the unmatched message reached the catch-all jsonl.
  auto lines = JsonlLines(jsonl_);
  ASSERT_EQ(lines.size(), 1u) << ReadFile(jsonl_);
  EXPECT_EQ(lines[0].at("msg_id"), json::value(other));
  // Acks do not wait for sinks (ack: after-store): all five SUCCESS (a slow disk may earn one a
  // redelivery, acked SUCCESS again: messages are counted, not acks).
  EXPECT_TRUE(WaitUntil([&] { return sim_->Stat("acked_messages") == 5; })) << sim_->Stat("acked_messages");
  EXPECT_EQ(sim_->Stat("acked.FAIL"), 0);
  EXPECT_EQ(daemon_->Stop(), 0) << daemon_->Log();
}

TEST_F(DaemonE2ETest, WebhookSinkPostsWithIdHeaderAndRetriesNon2xx) {
  // Each message's first POST gets a 503, later ones a 200.
  std::mutex mu;
  std::map<std::string, int> posts;
  TestHttpServer server([&](const std::string& request) {
    static const std::regex id_header("\r\nX-Alipay-Msg-Id: ([^\r]+)\r\n");
    std::smatch m;
    const std::string id = std::regex_search(request, m, id_header) ? m[1].str() : "";
    std::lock_guard lock(mu);
    return ++posts[id] == 1 ? 503 : 200;
  });
  const std::string sinks = "sinks:\n  - match: \"*\"\n    webhook:\n      url: \"" + server.url("/alipay") +
                            "\"\n      headers:\n        Authorization: \"Bearer e2e\"\n";
  ASSERT_TRUE(Launch(Mode::kKey, false, sinks));
  const std::string content = R"({"order_id":"W1","amount":"9.90"})";
  std::vector<std::string> ids = {sim_->AddMessage(kApp, kApi, content), sim_->AddMessage(kApp, kApi, content)};

  ASSERT_TRUE(WaitUntil([&] { return daemon_->Metric(R"(alipaymsg_inbox_messages{state="done"})") == 2; }))
      << daemon_->Admin("/metrics").body << daemon_->Log();
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 4u);
  std::map<std::string, int> seen;
  for (const std::string& r : requests) {
    EXPECT_TRUE(r.starts_with("POST /alipay HTTP/1.1\r\n")) << r;
    EXPECT_NE(r.find("Authorization: Bearer e2e\r\n"), std::string::npos) << r;
    const std::string body = r.substr(r.find("\r\n\r\n") + 4);
    json::object message = json::parse(body).as_object();
    const std::string id(message.at("msg_id").as_string());
    EXPECT_NE(r.find("\r\nX-Alipay-Msg-Id: " + id + "\r\n"), std::string::npos) << r;
    EXPECT_EQ(message.at("biz_content"), json::parse(content));
    EXPECT_EQ(message.at("msg_api"), json::value(kApi));
    ++seen[id];
  }
  EXPECT_EQ(seen, (std::map<std::string, int>{{ids[0], 2}, {ids[1], 2}}));
  EXPECT_EQ(daemon_->Metric(R"(alipaymsg_dispatch_results_total{result="retry"})"), 2);
  EXPECT_EQ(daemon_->Stop(), 0) << daemon_->Log();
}

// ---- 4. restart with the inbox kept -----------------------------------------------------------

TEST_F(DaemonE2ETest, RestartKeepsTheInboxRedeliveryNotDispatchedAgainMessagesWhileDownArrive) {
  // --retain 0: the simulator forgets acked messages, so the same msg_id can be delivered again,
  // as Alipay does when an ack is lost.
  ASSERT_TRUE(Launch(Mode::kKey, false, "", {"--retain", "0"}));
  const std::string duplicates = std::string(R"(alipaymsg_duplicates_total{app_id=")") + kApp + "\"}";
  const std::string stored = std::string(R"(alipaymsg_messages_stored_total{app_id=")") + kApp + "\"}";

  // Run 1: one message, sent twice on the same connection.
  sim_->Fault(R"({"kind":"duplicate"})");
  const std::string content = R"({"order_id":"R1"})";
  const std::string first = sim_->AddMessage(kApp, kApi, content);
  // At least one duplicate: a slow ack under load can earn a further redelivery, which the inbox
  // absorbs the same way; what must hold exactly is one line per msg_id (checked at the end).
  ASSERT_TRUE(WaitUntil([&] { return LineCount(jsonl_) == 1 && daemon_->Metric(duplicates) >= 1; }))
      << ReadFile(jsonl_) << daemon_->Log();
  // Both copies acked SUCCESS (the second one after the simulator forgot the message: "unknown").
  EXPECT_GE(sim_->Stat("acked.SUCCESS") + sim_->Stat("acks_unknown"), 2);
  ASSERT_EQ(daemon_->Stop(), 0) << daemon_->Log();

  // While it is down: the first message again (same msg_id), and a new one.
  auto again = sim_->Post("/messages", std::string(R"({"app_id":")") + kApp + R"(","msg_api":")" + kApi +
                                          R"(","msg_id":")" + first + R"(","content":)" + content + "}");
  EXPECT_EQ(again.at("msg_id"), json::value(first));
  const std::string second = sim_->AddMessage(kApp, kApi, R"({"order_id":"R2"})");
  EXPECT_EQ(sim_->Stat("pending"), 2);

  daemon_ = StartDaemon(config_);
  ASSERT_TRUE(daemon_);
  ASSERT_TRUE(WaitUntil([&] {
    return sim_->Stat("acked_messages") == 3 && sim_->Stat("pending") == 0 && LineCount(jsonl_) >= 2 &&
           daemon_->Metric(duplicates) >= 1 && daemon_->Metric(R"(alipaymsg_inbox_messages{state="done"})") == 2;
  })) << ReadFile(jsonl_) << daemon_->Admin("/metrics").body << daemon_->Log();
  EXPECT_EQ(daemon_->Metric(stored), 1);  // only the new one
  EXPECT_EQ(daemon_->Stop(), 0) << daemon_->Log();

  auto counts = CountByMsgId(JsonlLines(jsonl_));
  EXPECT_EQ(counts, (std::map<std::string, int>{{first, 1}, {second, 1}})) << ReadFile(jsonl_);
  EXPECT_EQ(sim_->Stat("acked.FAIL"), 0);
}

// ---- 5. SIGKILL during a stream, jsonl exactly once -------------------------------------------

TEST_F(DaemonE2ETest, SigkillDuringAStreamJsonlHasEveryMessageExactlyOnce) {
  ASSERT_TRUE(Launch(Mode::kKey, false));
  const std::string content = R"({"order_id":"K","buyer":"张三","items":[1,2,3]})";
  constexpr int kChunks = 5, kChunk = 600, kKills = kChunks - 1;
  std::vector<std::string> ids;
  int kills_mid_stream = 0;
  for (int run = 0; run < kChunks; ++run) {
    if (!daemon_) daemon_ = StartDaemon(config_);
    ASSERT_TRUE(daemon_) << "run " << run;
    auto chunk = sim_->AddMessages(kApp, kApi, content, kChunk);
    ASSERT_EQ(chunk.size(), static_cast<size_t>(kChunk));
    ids.insert(ids.end(), chunk.begin(), chunk.end());
    if (run == kKills) {
      ASSERT_TRUE(WaitUntil(
          [&] {
            return sim_->Stat("acked_messages") == kChunks * kChunk && sim_->Stat("pending") == 0 &&
                   daemon_->Metric(R"(alipaymsg_inbox_messages{state="done"})") == kChunks * kChunk;
          },
          seconds(120)))
          << daemon_->Admin("/metrics").body << daemon_->Log();
      EXPECT_EQ(daemon_->Stop(), 0) << daemon_->Log();
      break;
    }
    // Kill once part of this chunk is written, while the rest is still arriving.
    const size_t trigger = static_cast<size_t>(run * kChunk + kChunk / 10);
    ASSERT_TRUE(WaitUntil([&] { return LineCount(jsonl_) >= trigger; }, seconds(60)))
        << "run " << run << ": " << LineCount(jsonl_) << " lines\n" << daemon_->Log();
    daemon_->Kill();
    daemon_.reset();
    const int posted = (run + 1) * kChunk;
    if (sim_->Stat("acked_messages") < posted || LineCount(jsonl_) < static_cast<size_t>(posted)) ++kills_mid_stream;
  }
  // The kills must have hit a stream in progress (acks or lines still to come), or the test proves nothing.
  EXPECT_GE(kills_mid_stream, 1);

  auto lines = JsonlLines(jsonl_);
  auto counts = CountByMsgId(lines);
  EXPECT_EQ(lines.size(), ids.size());
  size_t missing = 0, doubled = 0;
  for (const std::string& id : ids) {
    missing += counts[id] == 0 ? 1 : 0;
    doubled += counts[id] > 1 ? 1 : 0;
  }
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(doubled, 0u);
  EXPECT_EQ(counts.size(), ids.size());  // nothing else
  EXPECT_EQ(sim_->Stat("acked_messages"), kChunks * kChunk);
  EXPECT_EQ(sim_->Stat("acked.FAIL"), 0);
  EXPECT_EQ(sim_->Stat("given_up"), 0);
  std::cout << "[ info ] " << kills_mid_stream << " of " << kKills << " SIGKILLs landed mid-stream; "
            << sim_->Stat("redelivered") << " redeliveries\n";
}

// ---- 6. readiness -----------------------------------------------------------------------------

json::object ReadyBody(const DaemonProcess& daemon) {
  json::error_code ec;
  json::value v = json::parse(daemon.Admin("/readyz").body, ec);
  if (ec || !v.is_object()) return {};
  return v.as_object();
}

TEST_F(DaemonE2ETest, ReadinessFlipsOnConnectionLossAndRecovers) {
  ASSERT_TRUE(Launch(Mode::kKey, false));
  json::object ready = ReadyBody(*daemon_);
  EXPECT_EQ(ready["ready"], json::value(true)) << ready;
  ASSERT_EQ(ready["apps"].as_array().size(), 1u) << ready;
  EXPECT_EQ(ready["apps"].as_array()[0].at("app_id"), json::value(kApp));
  EXPECT_EQ(ready["apps"].as_array()[0].at("connected"), json::value(true));
  EXPECT_EQ(ready["apps"].as_array()[0].at("reconnects"), json::value(0));

  // Connection dropped and register refused: not ready, with the reason.
  sim_->Fault(R"({"kind":"register_error","count":1000,"code":"40004","sub_code":"isv.e2e-refused","sub_msg":"refused by the test"})");
  sim_->Fault(R"({"kind":"drop_connections"})");
  ASSERT_TRUE(WaitUntil([&] {
    json::object body = ReadyBody(*daemon_);
    return daemon_->Admin("/readyz").status == 503 && body.contains("apps") &&
           !body["apps"].as_array()[0].at("last_error").as_string().empty();
  })) << daemon_->Admin("/readyz").body;
  json::object down = ReadyBody(*daemon_);
  EXPECT_EQ(down["ready"], json::value(false)) << down;
  const json::object& app = down["apps"].as_array()[0].as_object();
  EXPECT_EQ(app.at("connected"), json::value(false)) << down;
  EXPECT_NE(app.at("state"), json::value("open")) << down;
  EXPECT_FALSE(app.at("last_error").as_string().empty()) << down;
  EXPECT_EQ(daemon_->Admin("/healthz").status, 200);

  // The simulator lets it in again: ready, one reconnect.
  sim_->Fault(R"({"kind":"clear"})");
  ASSERT_TRUE(WaitUntil([&] { return daemon_->Ready(); }, seconds(30))) << daemon_->Admin("/readyz").body;
  json::object back = ReadyBody(*daemon_);
  EXPECT_EQ(back["apps"].as_array()[0].at("reconnects"), json::value(1)) << back;
  EXPECT_EQ(daemon_->Metric(std::string(R"(alipaymsg_connected{app_id=")") + kApp + "\"}"), 1);

  // The simulator gone: not ready, still healthy.
  sim_.reset();
  ASSERT_TRUE(WaitUntil([&] { return daemon_->Admin("/readyz").status == 503; })) << daemon_->Admin("/readyz").body;
  EXPECT_EQ(ReadyBody(*daemon_)["apps"].as_array()[0].at("connected"), json::value(false));
  EXPECT_EQ(daemon_->Admin("/healthz").status, 200);
  EXPECT_EQ(daemon_->Metric(std::string(R"(alipaymsg_connected{app_id=")") + kApp + "\"}"), 0);
  EXPECT_EQ(daemon_->Stop(), 0) << daemon_->Log();
}

// heartbeat: from the config: a link whose pongs stop is found dead after pong-timeout-ms (1 s here,
// 10 s by default), replaced, and nothing sent meanwhile is lost or doubled.
TEST_F(DaemonE2ETest, ConfiguredPongTimeoutFindsADeadLinkAndNothingIsLost) {
  ASSERT_TRUE(Launch(Mode::kKey, false,
                     JsonlSinkYaml(jsonl_) + "heartbeat:\n  ping-interval-ms: 200\n  pong-timeout-ms: 1000\n"));
  std::vector<std::string> ids = sim_->AddMessages(kApp, kApi, R"({"n":1})", 20);
  ASSERT_TRUE(WaitUntil([&] { return LineCount(jsonl_) >= 20; })) << daemon_->Log();

  sim_->Fault(R"({"kind":"stop_pong"})");
  // Well inside the default 10 s: only the configured timeout can have found it.
  ASSERT_TRUE(WaitUntil([&] {
    json::object body = ReadyBody(*daemon_);
    return body.contains("apps") &&
           body["apps"].as_array()[0].at("last_error").as_string().find("no pong") != json::string::npos;
  }, seconds(6))) << daemon_->Admin("/readyz").body << daemon_->Log();
  for (auto& id : sim_->AddMessages(kApp, kApi, R"({"n":2})", 20)) ids.push_back(id);
  sim_->Fault(R"({"kind":"resume_pong"})");
  ASSERT_TRUE(WaitUntil([&] { return LineCount(jsonl_) >= 40 && daemon_->Ready(); }, seconds(30)))
      << daemon_->Admin("/readyz").body << daemon_->Log();
  EXPECT_GE(ReadyBody(*daemon_)["apps"].as_array()[0].at("reconnects").as_int64(), 1);
  EXPECT_EQ(daemon_->Stop(), 0) << daemon_->Log();
  std::set<std::string> seen;
  for (const auto& line : JsonlLines(jsonl_)) {
    EXPECT_TRUE(seen.insert(std::string(line.at("msg_id").as_string())).second) << line;
  }
  EXPECT_EQ(seen, std::set<std::string>(ids.begin(), ids.end()));
}

// ---- 7. metrics against the simulator's counts ------------------------------------------------

TEST_F(DaemonE2ETest, MetricsMatchWhatTheSimulatorReports) {
  ASSERT_TRUE(Launch(Mode::kKey, false));
  const std::string content = R"({"order_id":"M"})";
  // Five plain messages.
  ASSERT_EQ(sim_->AddMessages(kApp, kApi, content, 5).size(), 5u);
  ASSERT_TRUE(WaitUntil([&] { return sim_->Stat("acked_messages") == 5; }));
  // One sent twice.
  sim_->Fault(R"({"kind":"duplicate"})");
  const std::string doubled = sim_->AddMessage(kApp, kApi, content);
  ASSERT_TRUE(WaitUntil([&] {
    return sim_->Stat("acked_messages") == 6 && sim_->Get("/messages/" + doubled).at("acks").as_array().size() >= 2;
  })) << sim_->Get("/messages/" + doubled);
  // One badly signed (answered FAIL; the simulator redelivers it correctly signed).
  sim_->Fault(R"({"kind":"bad_signature"})");
  const std::string forged = sim_->AddMessage(kApp, kApi, content);
  ASSERT_TRUE(WaitUntil([&] { return sim_->Stat("acked_messages") == 7; }));
  // A malformed frame, then a dropped connection.
  sim_->Fault(R"({"kind":"malformed_frame"})");
  const std::string app = std::string("app_id=\"") + kApp + "\"";
  ASSERT_TRUE(WaitUntil([&] { return daemon_->Metric("alipaymsg_malformed_frames_total{" + app + "}") == 1; }));
  sim_->Fault(R"({"kind":"drop_connections"})");
  ASSERT_TRUE(WaitUntil([&] { return sim_->Stat("connections_total") == 2 && sim_->Stat("connections") == 1; }, seconds(30)));
  ASSERT_TRUE(WaitUntil([&] {
    auto m = daemon_->Metrics();
    return m["alipaymsg_connected{" + app + "}"] == 1 && m[R"(alipaymsg_inbox_messages{state="done"})"] == 7;
  })) << daemon_->Admin("/metrics").body;

  json::value stats = sim_->Get("/stats");
  auto stat = [&](const char* key) { return static_cast<double>(json::value_to<int64_t>(stats.at(key))); };
  const double success = static_cast<double>(json::value_to<int64_t>(stats.at("acked").at("SUCCESS")));
  const double fail = static_cast<double>(json::value_to<int64_t>(stats.at("acked").at("FAIL")));
  auto m = daemon_->Metrics();
  SCOPED_TRACE(json::serialize(stats) + "\n" + daemon_->Admin("/metrics").body);
  EXPECT_EQ(m["alipaymsg_messages_received_total{" + app + "}"], stat("delivered"));
  EXPECT_EQ(m["alipaymsg_messages_stored_total{" + app + "}"], stat("messages"));
  // A duplicate is a SUCCESS ack beyond the first of its message.
  EXPECT_EQ(m["alipaymsg_duplicates_total{" + app + "}"], success - stat("acked_messages"));
  EXPECT_EQ(m["alipaymsg_duplicates_total{" + app + "}"], 1);
  EXPECT_EQ(m["alipaymsg_signature_failures_total{" + app + "}"], fail);
  EXPECT_EQ(fail, 1);
  EXPECT_EQ(m["alipaymsg_acks_total{" + app + ",status=\"success\"}"], success);
  EXPECT_EQ(m["alipaymsg_acks_total{" + app + ",status=\"fail\"}"], fail);
  EXPECT_EQ(m["alipaymsg_acks_total{" + app + ",status=\"unsent\"}"], 0);
  EXPECT_EQ(m["alipaymsg_ack_latency_seconds_count{" + app + "}"], success + fail);
  EXPECT_EQ(m["alipaymsg_malformed_frames_total{" + app + "}"], stat("malformed_sent"));
  EXPECT_EQ(m["alipaymsg_connected{" + app + "}"], stat("connections"));
  EXPECT_EQ(m["alipaymsg_reconnects_total{" + app + "}"], stat("connections_total") - 1);
  EXPECT_EQ(m[R"(alipaymsg_inbox_messages{state="done"})"], stat("acked_messages"));
  EXPECT_EQ(m[R"(alipaymsg_inbox_messages{state="pending"})"] + m[R"(alipaymsg_inbox_messages{state="in_flight"})"], 0);
  EXPECT_EQ(m[R"(alipaymsg_inbox_messages{state="rejected"})"], fail);
  EXPECT_EQ(m[R"(alipaymsg_dispatch_results_total{result="done"})"], stat("acked_messages"));
  EXPECT_EQ(m[R"(alipaymsg_dispatch_results_total{result="dead"})"], 0);
  // The simulator's own view of the two special messages.
  json::value d = sim_->Get("/messages/" + doubled);
  EXPECT_EQ(d.at("deliveries").as_array()[0].at("duplicated"), json::value(true)) << d;
  json::value f = sim_->Get("/messages/" + forged);
  EXPECT_EQ(f.at("acks").as_array()[0].at("status"), json::value("FAIL")) << f;
  EXPECT_EQ(f.at("state"), json::value("acked")) << f;
  // And the jsonl has each message once, the forgery only as its correctly signed redelivery.
  auto counts = CountByMsgId(JsonlLines(jsonl_));
  EXPECT_EQ(counts.size(), 7u);
  EXPECT_EQ(counts[doubled], 1);
  EXPECT_EQ(counts[forged], 1);
  EXPECT_EQ(daemon_->Stop(), 0) << daemon_->Log();
}

// ---- logging ----------------------------------------------------------------------------------

TEST_F(DaemonE2ETest, JsonLogLinesToALogFileReopenedOnSighupWithoutSecrets) {
  ASSERT_TRUE(Launch(Mode::kKey, false));
  // Again, with JSON lines at debug level (per-message lines) to a file.
  ASSERT_EQ(daemon_->Stop(), 0) << daemon_->Log();
  const std::string log_file = dir_ + "/alipay-msgd.log";
  std::filesystem::remove(dir_ + "/daemon.log");
  daemon_ = StartDaemon(config_, {"--log-format", "json", "--log-file", log_file, "--log-level", "debug"},
                        log_file);
  ASSERT_TRUE(daemon_);
  // Rotated away, then SIGHUP: the daemon writes to a new file of the same name.
  std::filesystem::rename(log_file, log_file + ".1");
  daemon_->Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(log_file).find("log file reopened") != std::string::npos; }))
      << daemon_->Log();
  const std::string id = sim_->AddMessage(kApp, kApi, R"({"order_id":"L1"})");
  ASSERT_TRUE(WaitUntil([&] { return LineCount(jsonl_) == 1; })) << daemon_->Log();
  EXPECT_EQ(daemon_->Stop(), 0) << daemon_->Log();  // debug lines are flushed by the next info line or at exit

  const std::string rotated = ReadFile(log_file + ".1"), current = ReadFile(log_file);
  EXPECT_NE(rotated.find("admin on"), std::string::npos) << rotated;
  EXPECT_NE(current.find("delivered " + std::string(kApp) + " " + kApi + " msg_id=" + id), std::string::npos) << current;
  EXPECT_NE(current.find("stopped"), std::string::npos) << current;
  for (const std::string& text : {rotated, current}) {
    for (const std::string& line : Lines(text)) {
      json::error_code ec;
      json::value v = json::parse(line, ec);
      ASSERT_FALSE(ec) << "not a JSON log line: " << line;
      ASSERT_TRUE(v.is_object()) << line;
      EXPECT_TRUE(v.as_object().contains("time") && v.as_object().contains("level") && v.as_object().contains("msg"))
          << line;
    }
  }
  // Nothing on stderr; no line of the private key anywhere in the logs.
  EXPECT_EQ(ReadFile(dir_ + "/daemon.log"), "");
  for (const std::string& key_line : Lines(ReadFile(Keys().app_private_key))) {
    if (key_line.starts_with("-----") || key_line.size() < 16) continue;
    EXPECT_EQ((rotated + current).find(key_line), std::string::npos);
  }
}

}  // namespace
}  // namespace alipaymsg::daemontest
