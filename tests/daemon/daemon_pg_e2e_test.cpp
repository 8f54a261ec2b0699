// End to end with a shared PostgreSQL inbox: two real alipay-msgd processes, one simulator app, one
// PostgreSQL cluster started by the test. Every message lands in exactly one line across both
// instances' jsonl files, through duplicates, redeliveries to the other connection and SIGKILLs; a
// killed instance's claims are delivered by the other once their lease runs out; a database that is
// not there yet keeps the daemon unready and acking nothing.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <iostream>
#include <map>
#include <set>

#include "daemon/daemon_process.h"
#include "testing/postgres_server.h"
#include "testing/test_paths.h"

namespace alipaymsg {
namespace {

namespace json = boost::json;
using clienttest::ReadFile;
using clienttest::SimKeys;
using clienttest::SimProcess;
using clienttest::WaitUntil;
using daemontest::DaemonProcess;
using daemontest::Lines;
using daemontest::WriteFile;
using std::chrono::seconds;

constexpr const char* kApp = "2021000000000001";
constexpr const char* kApi = "alipay.open.mini.version.audit.passed";
constexpr int kLeaseMs = 2000;

const SimKeys& Keys() {
  static SimKeys keys = clienttest::Keygen(testing::MakeTempDir("daemon-pg-keys"), kApp);
  return keys;
}

// msg_id -> lines carrying it, over all `paths`.
std::map<std::string, int> CountByMsgId(const std::vector<std::string>& paths, size_t* lines = nullptr) {
  std::map<std::string, int> counts;
  size_t total = 0;
  for (const std::string& path : paths) {
    for (const std::string& line : Lines(ReadFile(path))) {
      ++total;
      json::error_code ec;
      json::value v = json::parse(line, ec);
      if (ec || !v.is_object() || !v.as_object().contains("msg_id")) {
        ADD_FAILURE() << "not a message line in " << path << ": " << line;
        continue;
      }
      ++counts[std::string(v.as_object().at("msg_id").as_string())];
    }
  }
  if (lines) *lines = total;
  return counts;
}

size_t LineCount(const std::string& path) { return Lines(ReadFile(path)).size(); }

// The sample of `name` whose labels include `label` (e.g. state="in_flight"); -1 when none.
double MetricWith(const DaemonProcess& daemon, const std::string& name, const std::string& label) {
  for (const auto& [key, value] : daemon.Metrics()) {
    if (key.starts_with(name + "{") && key.find(label) != std::string::npos) return value;
  }
  return -1;
}

class DaemonPostgresE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Keys().app_private_key.empty());
    dir_ = testing::MakeTempDir("daemon-pg-e2e");
    server_ = testing::SharedPostgres();
    ASSERT_NE(server_, nullptr);
    url_ = server_->FreshDatabaseUrl("e2e");
    ASSERT_FALSE(url_.empty());
  }

  bool StartSim() {
    sim_ = SimProcess::Start(dir_, clienttest::SimArgsForApp(Keys(), kApp, /*cert_mode=*/false, nullptr));
    return sim_ != nullptr;
  }

  // A config for instance `name` on the shared inbox; its sinks (default: everything to its own jsonl).
  std::string Config(const std::string& name, const std::string& sinks = "") {
    const SimKeys& k = Keys();
    std::string y = std::string("alipay:\n  app-id: \"") + kApp + "\"\n  server-host: \"" + sim_->listen() +
                    "\"\n  ssl: false\n  sign-type: RSA2\n  app-private-key-path: " + k.app_private_key +
                    "\n  alipay-public-key-path: " + k.alipay_public_key + "\n";
    y += "instance-id: " + name + "\ninbox:\n  url: \"" + url_ + "\"\n  lease-ms: " + std::to_string(kLeaseMs) +
         "\nadmin:\n  listen: 127.0.0.1:0\nretry:\n  max-attempts: 10\n  initial-backoff-ms: 20\n"
         "  max-backoff-ms: 100\nshutdown-timeout-ms: 5000\n";
    y += sinks.empty() ? "sinks:\n  - match: \"*\"\n    jsonl: " + Jsonl(name) + "\n" : sinks;
    const std::string path = dir_ + "/" + name + ".yaml";
    WriteFile(path, y);
    return path;
  }
  std::string Jsonl(const std::string& name) const { return dir_ + "/" + name + "/messages.jsonl"; }

  std::unique_ptr<DaemonProcess> StartDaemon(const std::string& config, const std::string& name) {
    auto daemon = DaemonProcess::Start(config, dir_ + "/" + name + ".log");
    if (!daemon) return nullptr;
    if (!WaitUntil([&] { return daemon->Ready(); }, seconds(30))) {
      ADD_FAILURE() << name << " never became ready: " << daemon->Admin("/readyz").body << "\n" << daemon->Log();
      return nullptr;
    }
    return daemon;
  }

  std::string dir_, url_;
  testing::PostgresServer* server_ = nullptr;
  std::unique_ptr<SimProcess> sim_;
};

TEST_F(DaemonPostgresE2ETest, TwoInstancesSigkilledInTurnWriteEveryMessageExactlyOnceAcrossBothFiles) {
  ASSERT_TRUE(StartSim());
  const std::vector<std::string> names = {"a", "b"};
  std::map<std::string, std::string> configs;
  std::map<std::string, std::unique_ptr<DaemonProcess>> daemons;
  for (const std::string& name : names) {
    configs[name] = Config(name);
    daemons[name] = StartDaemon(configs[name], name);
    ASSERT_TRUE(daemons[name]) << name;
  }
  ASSERT_TRUE(WaitUntil([&] { return sim_->Get("/connections").at("connections").as_array().size() == 2; }))
      << sim_->Get("/connections");
  // Every delivery goes out twice on its connection; what a killed instance had unacked is
  // redelivered to the other one (the only connection left).
  sim_->Fault(R"({"kind":"duplicate","count":100000})");

  const std::string content = R"({"order_id":"K","buyer":"张三","items":[1,2,3]})";
  constexpr int kChunks = 5, kChunk = 4000;  // 20,000 messages
  auto total_lines = [&] { return LineCount(Jsonl("a")) + LineCount(Jsonl("b")); };
  std::vector<std::string> ids;
  int kills_mid_stream = 0;
  for (int run = 0; run < kChunks; ++run) {
    auto chunk = sim_->AddMessages(kApp, kApi, content, kChunk);
    ASSERT_EQ(chunk.size(), static_cast<size_t>(kChunk));
    ids.insert(ids.end(), chunk.begin(), chunk.end());
    // SIGKILL one instance (in turn) once part of this chunk is written, then restart it.
    const std::string victim = names[run % 2];
    const size_t trigger = static_cast<size_t>(run * kChunk + kChunk / 5);
    ASSERT_TRUE(WaitUntil([&] { return total_lines() >= trigger; }, seconds(60)))
        << "run " << run << ": " << total_lines() << " lines\n" << daemons[victim]->Log();
    daemons[victim]->Kill();
    const int posted = (run + 1) * kChunk;
    if (sim_->Stat("acked_messages") < posted || total_lines() < static_cast<size_t>(posted)) ++kills_mid_stream;
    daemons[victim] = StartDaemon(configs[victim], victim);
    ASSERT_TRUE(daemons[victim]) << "restart " << run;
  }
  const size_t n = ids.size();
  ASSERT_TRUE(WaitUntil([&] { return sim_->Stat("acked_messages") == static_cast<int64_t>(n) && total_lines() >= n; },
                        seconds(120)))
      << "acked " << sim_->Stat("acked_messages") << ", lines " << total_lines() << "\n"
      << daemons["a"]->Log() << daemons["b"]->Log();
  for (const std::string& name : names) EXPECT_EQ(daemons[name]->Stop(), 0) << daemons[name]->Log();
  EXPECT_GE(kills_mid_stream, 1) << "the kills must hit a stream in progress, or the test proves nothing";

  // Recomputed from the files alone.
  size_t lines = 0;
  auto counts = CountByMsgId({Jsonl("a"), Jsonl("b")}, &lines);
  size_t missing = 0, doubled = 0;
  for (const std::string& id : ids) {
    missing += counts[id] == 0 ? 1 : 0;
    doubled += counts[id] > 1 ? 1 : 0;
  }
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(doubled, 0u);
  EXPECT_EQ(lines, n);
  EXPECT_EQ(counts.size(), n) << "nothing else in the files";
  const size_t in_a = LineCount(Jsonl("a")), in_b = LineCount(Jsonl("b"));
  EXPECT_GT(in_a, 0u);
  EXPECT_GT(in_b, 0u);
  EXPECT_EQ(sim_->Stat("given_up"), 0);
  std::cout << "[ info ] " << n << " messages: " << in_a << " lines in a, " << in_b << " in b; " << kills_mid_stream
            << " of " << kChunks << " SIGKILLs mid-stream; " << sim_->Stat("redelivered") << " redeliveries, "
            << sim_->Stat("delivered") << " deliveries (each sent twice)\n";
}

TEST_F(DaemonPostgresE2ETest, AKilledInstancesClaimsAreDeliveredByTheOtherAfterTheLease) {
  ASSERT_TRUE(StartSim());
  // Instance a hands everything to a program that never finishes: its messages stay claimed.
  const std::string hang = dir_ + "/hang.sh";
  daemontest::WriteScript(hang, "exec sleep 600\n");
  auto a = StartDaemon(Config("a", "sinks:\n  - match: \"*\"\n    exec: [\"" + hang + "\"]\n    timeout-ms: 600000\n"),
                       "a");
  ASSERT_TRUE(a);
  constexpr int kMessages = 20;
  auto ids = sim_->AddMessages(kApp, kApi, R"({"n":1})", kMessages);
  ASSERT_EQ(ids.size(), static_cast<size_t>(kMessages));
  const std::string in_flight = R"(state="in_flight")";
  ASSERT_TRUE(WaitUntil([&] { return MetricWith(*a, "alipaymsg_inbox_messages", in_flight) > 0; }))
      << a->Admin("/metrics").body;
  const double held = MetricWith(*a, "alipaymsg_inbox_messages", in_flight);
  EXPECT_NE(a->Admin("/metrics").body.find(R"(instance="a")"), std::string::npos);
  a->Kill();
  const auto killed_at = std::chrono::steady_clock::now();

  auto b = StartDaemon(Config("b"), "b");
  ASSERT_TRUE(b);
  ASSERT_TRUE(WaitUntil([&] { return LineCount(Jsonl("b")) >= static_cast<size_t>(kMessages); }, seconds(60)))
      << LineCount(Jsonl("b")) << " lines\n" << b->Log();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed_at);
  EXPECT_GE(took.count(), kLeaseMs / 2) << "claims of a live-looking instance must wait for its lease";
  EXPECT_EQ(b->Stop(), 0) << b->Log();
  auto counts = CountByMsgId({Jsonl("b")});
  for (const std::string& id : ids) EXPECT_EQ(counts[id], 1) << id;
  std::cout << "[ info ] " << held << " claims held by the killed instance, delivered by the other after "
            << took.count() << " ms (lease " << kLeaseMs << " ms)\n";
}

TEST_F(DaemonPostgresE2ETest, AnUnreachableDatabaseKeepsTheDaemonUnreadyAndAckingNothingUntilItComesUp) {
  std::string error;
  auto own = testing::PostgresServer::Start(error);  // its own: it is stopped and started here
  ASSERT_TRUE(own) << "PostgreSQL test cluster: " << error;
  url_ = own->FreshDatabaseUrl("down");
  ASSERT_EQ(own->Stop(), "");
  ASSERT_TRUE(StartSim());
  auto ids = sim_->AddMessages(kApp, kApi, R"({"n":2})", 5);
  auto daemon = DaemonProcess::Start(Config("a"), dir_ + "/a.log");
  ASSERT_TRUE(daemon);
  ASSERT_TRUE(WaitUntil([&] { return daemon->Admin("/readyz").status == 503; })) << daemon->Log();
  const std::string body = daemon->Admin("/readyz").body;
  EXPECT_NE(body.find("waiting-for-inbox"), std::string::npos) << body;
  EXPECT_NE(body.find("PostgreSQL"), std::string::npos) << body;
  EXPECT_EQ(sim_->Stat("acked_messages"), 0) << "nothing may be acked without an inbox";

  ASSERT_EQ(own->Restart(), "");
  ASSERT_TRUE(WaitUntil([&] { return LineCount(Jsonl("a")) >= ids.size(); }, seconds(60))) << daemon->Log();
  EXPECT_TRUE(daemon->Ready());
  EXPECT_EQ(daemon->Stop(), 0) << daemon->Log();
  auto counts = CountByMsgId({Jsonl("a")});
  for (const std::string& id : ids) EXPECT_EQ(counts[id], 1) << id;
}

// Also: /readyz flips to not ready (the inbox cannot commit) while the database is down, and back.
TEST_F(DaemonPostgresE2ETest, APostgresRestartMidStreamLosesAndDoublesNothing) {
  std::string error;
  auto own = testing::PostgresServer::Start(error);  // its own: restarted here
  ASSERT_TRUE(own) << "PostgreSQL test cluster: " << error;
  url_ = own->FreshDatabaseUrl("restart");
  ASSERT_TRUE(StartSim());
  auto daemon = StartDaemon(Config("a"), "a");
  ASSERT_TRUE(daemon);
  // Enough that the restart lands while acks are still going out (the inbox stores ~4x faster since
  // completions share one statement per group): 1,500 were all acked before the 150th line.
  constexpr int kMessages = 6000;
  auto ids = sim_->AddMessages(kApp, kApi, R"({"n":3})", kMessages);
  ASSERT_EQ(ids.size(), static_cast<size_t>(kMessages));
  ASSERT_TRUE(WaitUntil([&] { return LineCount(Jsonl("a")) >= kMessages / 40; }, seconds(60))) << daemon->Log();
  ASSERT_EQ(own->Stop(), "");  // immediate shutdown: connections cut mid-transaction
  const bool mid_stream = sim_->Stat("acked_messages") < kMessages;
  // While the database is away, /readyz says that the inbox cannot commit; once it is back, ready again.
  std::string not_ready;
  EXPECT_TRUE(WaitUntil([&] {
    auto readyz = daemon->Admin("/readyz");
    not_ready = readyz.body;
    return readyz.status == 503 && not_ready.find("cannot commit") != std::string::npos;
  }, seconds(30))) << not_ready << "\n" << daemon->Log();
  ASSERT_EQ(own->Restart(), "");
  EXPECT_TRUE(WaitUntil([&] { return daemon->Ready(); }, seconds(60))) << daemon->Admin("/readyz").body;
  // A SUCCESS for a message whose commit was lost would make the simulator forget it: it would be
  // missing below. Every ack answered FAIL is redelivered and must land once.
  ASSERT_TRUE(WaitUntil([&] { return sim_->Stat("acked_messages") == kMessages && LineCount(Jsonl("a")) >= kMessages; },
                        seconds(120)))
      << "acked " << sim_->Stat("acked_messages") << ", lines " << LineCount(Jsonl("a")) << "\n" << daemon->Log();
  EXPECT_EQ(daemon->Stop(), 0) << daemon->Log();
  EXPECT_TRUE(mid_stream) << "the restart must hit a stream in progress";
  size_t lines = 0;
  auto counts = CountByMsgId({Jsonl("a")}, &lines);
  EXPECT_EQ(lines, static_cast<size_t>(kMessages));
  for (const std::string& id : ids) EXPECT_EQ(counts[id], 1) << id;
  std::cout << "[ info ] " << sim_->Stat("acked.FAIL") << " acks answered FAIL during the restart, "
            << sim_->Stat("redelivered") << " redeliveries\n";
}

}  // namespace
}  // namespace alipaymsg
