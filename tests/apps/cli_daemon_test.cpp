// Drives the built `alipay-msg` binary's daemon-facing commands (check-config, inbox, send) against
// the real alipay-msg-sim and alipay-msgd, all as child processes on ephemeral ports.
#include <signal.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "client/sim_process.h"
#include "testing/run_process.h"
#include "testing/test_paths.h"

namespace alipaymsg::testing {
namespace {

namespace json = boost::json;
using clienttest::ChildProcess;
using clienttest::SimKeys;
using clienttest::SimProcess;
using clienttest::WaitUntil;

constexpr const char* kApp = "2021000000000001";
constexpr const char* kMiniApi = "alipay.open.mini.version.audit.passed";
constexpr const char* kTradeApi = "alipay.trade.refund.depositback.completed";

std::string Cli() { return BinDir() + "/alipay-msg"; }

ProcessResult RunCli(std::vector<std::string> args, const std::string& in = "") {
  args.insert(args.begin(), Cli());
  return RunProcess(args, in);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

const SimKeys& Keys() {
  static const SimKeys keys = clienttest::Keygen(MakeTempDir("cli-daemon-keys"), kApp);
  return keys;
}

enum class Mode { kKey, kCert };

// The `alipay:` block for the sim's keys; `server` "" = a port nothing listens on.
std::string AppBlock(Mode mode, const std::string& server) {
  const SimKeys& k = Keys();
  std::string y = "alipay:\n  app-id: \"" + std::string(kApp) + "\"\n  server-host: \"" +
                  (server.empty() ? "127.0.0.1:9" : server) + "\"\n  ssl: false\n  sign-type: RSA2\n" +
                  "  app-private-key-path: " + k.app_private_key + "\n";
  if (mode == Mode::kKey) {
    y += "  alipay-public-key-path: " + k.alipay_public_key + "\n";
  } else {
    y += "  app-cert-public-key-path: " + k.app_cert + "\n  alipay-cert-public-key-path: " + k.alipay_cert +
         "\n  alipay-root-cert-path: " + k.root_cert + "\n";
  }
  return y;
}

// A config in `dir`: inbox var/inbox.db, jsonl sink(s) as given ("" = none matching).
std::string WriteConfig(const std::string& dir, const std::string& name, Mode mode, const std::string& server,
                        const std::string& sinks) {
  const std::string path = dir + "/" + name;
  WriteFile(path, AppBlock(mode, server) + "inbox:\n  path: var/inbox.db\nack: after-store\n" + sinks);
  return path;
}

std::vector<std::string> SimArgs(Mode mode) {
  const SimKeys& k = Keys();
  std::vector<std::string> args = {"--alipay-private-key", k.alipay_private_key, "--log-level", "warn"};
  if (mode == Mode::kCert) {
    args.insert(args.end(), {"--alipay-cert", k.alipay_cert, "--root-cert", k.root_cert, "--app",
                             std::string(kApp) + "=" + k.app_cert});
  } else {
    args.insert(args.end(), {"--app", std::string(kApp) + "=" + k.app_public_key});
  }
  return args;
}

size_t LineCount(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

json::value ParseJson(const ProcessResult& r) {
  json::error_code ec;
  json::value v = json::parse(r.out, ec);
  EXPECT_FALSE(ec) << "not JSON: " << r.out << "\nstderr: " << r.err;
  return v;
}

// alipay-msgd as a child process; SIGTERM and a clean exit checked on Stop.
class Daemon {
 public:
  Daemon(const std::string& config, const std::string& log) : log_(log) {
    process_ = ChildProcess::Start({BinDir() + "/alipay-msgd", "--config", config, "--log-level", "info"}, log);
  }
  bool running() { return process_ && process_->running(); }
  void Stop() {
    ASSERT_TRUE(process_);
    process_->Signal(SIGTERM);
    int status = 0;
    ASSERT_TRUE(process_->WaitFor(std::chrono::seconds(20), &status)) << clienttest::ReadFile(log_);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << clienttest::ReadFile(log_);
  }
  std::string Log() const { return clienttest::ReadFile(log_); }

 private:
  std::string log_;
  std::unique_ptr<ChildProcess> process_;
};

// ---- check-config ------------------------------------------------------------------------------

TEST(CliCheckConfig, KeyModeIsOk) {
  const std::string dir = MakeTempDir("cli-check");
  const std::string config = WriteConfig(dir, "c.yaml", Mode::kKey, "", "sinks:\n  - match: \"*\"\n    jsonl: out.jsonl\n");
  auto r = RunCli({"check-config", config});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("key mode"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("config OK"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("error: "), std::string::npos) << r.out;

  auto j = RunCli({"check-config", "--json", config});
  EXPECT_EQ(j.exit_code, 0) << j.err;
  json::value v = ParseJson(j);
  ASSERT_TRUE(v.is_object());
  EXPECT_TRUE(v.at("ok").as_bool());
  EXPECT_FALSE(v.at("findings").as_array().empty());
}

TEST(CliCheckConfig, CertModeShowsTheSns) {
  const std::string dir = MakeTempDir("cli-check");
  const std::string config = WriteConfig(dir, "c.yaml", Mode::kCert, "", "");
  auto r = RunCli({"check-config", config});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("certificate mode"), std::string::npos) << r.out;
  auto sn = RunCli({"cert-sn", Keys().app_cert});
  ASSERT_EQ(sn.exit_code, 0);
  EXPECT_NE(r.out.find("app_cert_sn " + sn.out.substr(0, sn.out.find('\n'))), std::string::npos) << r.out;
}

struct BrokenCase {
  const char* name;
  std::string yaml;              // the whole file
  std::vector<std::string> expect;  // each must appear on one "error:" line
};

TEST(CliCheckConfig, EachKindOfBrokenConfigIsAnErrorNamingFileLineAndKey) {
  const std::string dir = MakeTempDir("cli-check");
  const SimKeys& k = Keys();
  const SimKeys other = clienttest::Keygen(dir + "/other", kApp);
  const std::string key_mode = AppBlock(Mode::kKey, "");
  const std::string tail = "inbox:\n  path: var/inbox.db\n";
  auto replace = [](std::string s, const std::string& from, const std::string& to) {
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  std::ofstream(dir + "/not-a-dir") << "x";
  const std::vector<BrokenCase> cases = {
      {"sign type", replace(key_mode, "sign-type: RSA2", "sign-type: RSA3") + tail,
       {"b.yaml:5", "sign-type", "RSA3"}},
      {"missing key file", replace(key_mode, k.app_private_key, dir + "/nope.pem") + tail,
       {"b.yaml", "nope.pem"}},
      {"no app id", replace(key_mode, "  app-id: \"" + std::string(kApp) + "\"\n", "") + tail, {"b.yaml", "app-id"}},
      {"yaml syntax", key_mode + "inbox: [unclosed\n", {"b.yaml:"}},
      {"app cert of another key", replace(AppBlock(Mode::kCert, ""), k.app_cert, other.app_cert) + tail,
       {"b.yaml:1", "alipay (app " + std::string(kApp) + ")"}},
      {"bad ack", key_mode + tail + "ack: sometimes\n", {"b.yaml:10", "ack", "sometimes"}},
      {"inbox not writable", key_mode + "inbox:\n  path: not-a-dir/inbox.db\n", {"inbox.path", "not-a-dir"}},
  };
  for (const BrokenCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir + "/b.yaml";
    WriteFile(path, c.yaml);
    auto r = RunCli({"check-config", path});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("alipay-msgd would not start"), std::string::npos) << r.out;
    bool found = false;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      if (!line.starts_with("error: ")) continue;
      bool all = true;
      for (const std::string& e : c.expect) all = all && line.find(e) != std::string::npos;
      found = found || all;
    }
    EXPECT_TRUE(found) << "no error line with all of the expected parts in:\n" << r.out;
    auto j = RunCli({"check-config", "--json", path});
    EXPECT_EQ(j.exit_code, 1);
    EXPECT_FALSE(ParseJson(j).at("ok").as_bool());
  }
}

TEST(CliCheckConfig, UnreadableFileIsExit2) {
  const std::string dir = MakeTempDir("cli-check");
  auto r = RunCli({"check-config", dir + "/missing.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing.yaml"), std::string::npos) << r.err;
  r = RunCli({"check-config", dir});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is a directory"), std::string::npos) << r.err;
}

// ---- inbox ---------------------------------------------------------------------------------------

TEST(CliInbox, MissingInboxIsSaidClearly) {
  const std::string dir = MakeTempDir("cli-inbox");
  const std::string config = WriteConfig(dir, "c.yaml", Mode::kKey, "", "");
  for (const char* sub : {"list", "stats"}) {
    auto r = RunCli({"inbox", sub, "--config", config});
    EXPECT_EQ(r.exit_code, 2) << sub;
    EXPECT_NE(r.err.find("no inbox at " + dir + "/var/inbox.db"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/var/inbox.db")) << "inspection must not create the inbox";
}

// A daemon run fills the inbox: two messages a sink takes (done), one no sink matches (unhandled).
// The CLI inspects it while the daemon runs; then a second daemon with a catch-all sink runs, and a
// replay from the CLI makes that running daemon deliver the unhandled message.
TEST(CliInbox, ListShowStatsReplayBesideARunningDaemon) {
  const std::string dir = MakeTempDir("cli-inbox");
  auto sim = SimProcess::Start(dir, SimArgs(Mode::kKey));
  ASSERT_TRUE(sim);
  const std::string config = WriteConfig(dir, "c.yaml", Mode::kKey, sim->listen(),
                                         "sinks:\n  - match: \"alipay.open.mini.*\"\n    jsonl: mini.jsonl\n");
  auto daemon = std::make_unique<Daemon>(config, dir + "/daemon1.log");
  const std::string m1 = sim->AddMessage(kApp, kMiniApi, R"({"mini_app_id":"2021","version":"0.0.1"})");
  const std::string m2 = sim->AddMessage(kApp, kMiniApi, R"({"mini_app_id":"2021","version":"0.0.2"})");
  // t1 only after m1 and m2 are stored, so "most recent first" has one answer: the client verifies
  // on a pool, and messages that arrive together may be stored in either order.
  ASSERT_TRUE(WaitUntil([&] { return sim->Stat("acked_messages") == 2; }, std::chrono::seconds(30))) << daemon->Log();
  const std::string t1 = sim->AddMessage(kApp, kTradeApi, R"({"out_trade_no":"T1","amount":"1.00"})");
  ASSERT_TRUE(WaitUntil([&] { return sim->Stat("acked_messages") == 3; }, std::chrono::seconds(30))) << daemon->Log();

  // Inspection while the daemon holds the inbox.
  json::value stats;
  ASSERT_TRUE(WaitUntil([&] {
    auto r = RunCli({"inbox", "stats", "--json", "--config", config});
    if (r.exit_code != 0) return false;
    stats = ParseJson(r);
    return stats.at("done").as_int64() == 2 && stats.at("unhandled").as_int64() == 1;
  }, std::chrono::seconds(30))) << json::serialize(stats) << daemon->Log();
  EXPECT_EQ(stats.at("total").as_int64(), 3);
  EXPECT_EQ(stats.at("pending").as_int64(), 0);
  ASSERT_TRUE(daemon->running());

  auto list = RunCli({"inbox", "list", "--json", "--config", config});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto all = ParseJson(list).as_array();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].at("msg_id").as_string(), t1) << "most recent first";
  auto count = [&](std::vector<std::string> filter) {
    std::vector<std::string> args = {"inbox", "list", "--json", "--config", config};
    args.insert(args.end(), filter.begin(), filter.end());
    auto r = RunCli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return ParseJson(r).as_array().size();
  };
  EXPECT_EQ(count({"--state", "unhandled"}), 1u);
  EXPECT_EQ(count({"--state", "done"}), 2u);
  EXPECT_EQ(count({"--msg-api", "alipay.open.mini.*"}), 2u);
  EXPECT_EQ(count({"--msg-api", kTradeApi}), 1u);
  EXPECT_EQ(count({"--app-id", "2021000000000009"}), 0u);
  EXPECT_EQ(count({"--limit", "1"}), 1u);
  auto bad = RunCli({"inbox", "list", "--state", "lost", "--config", config});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("\"lost\""), std::string::npos) << bad.err;

  auto table = RunCli({"inbox", "list", "--config", config});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_TRUE(table.out.starts_with("RECEIVED")) << table.out;
  for (const auto& id : {m1, m2, t1}) EXPECT_NE(table.out.find(id), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("unhandled"), std::string::npos) << table.out;

  auto show = RunCli({"inbox", "show", t1, "--config", config});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  json::value shown = ParseJson(show);
  EXPECT_EQ(shown.at("msg_api").as_string(), kTradeApi);
  EXPECT_EQ(shown.at("state").as_string(), "unhandled");
  EXPECT_EQ(shown.at("biz_content").at("out_trade_no").as_string(), "T1");
  EXPECT_EQ(shown.at("delivery_count").as_int64(), 1);
  EXPECT_EQ(shown.at("attempts").as_int64(), 1);
  EXPECT_FALSE(shown.at("last_error").as_string().empty());
  EXPECT_EQ(ParseJson(RunCli({"inbox", "show", m1, "--json", "--app-id", kApp, "--config", config}))
                .at("state")
                .as_string(),
            "done");
  auto absent = RunCli({"inbox", "show", "no-such-id", "--config", config});
  EXPECT_EQ(absent.exit_code, 1);
  EXPECT_NE(absent.err.find("no-such-id is not in the inbox"), std::string::npos) << absent.err;

  // --inbox PATH: the file itself, without a (valid) config.
  const std::string inbox_path = dir + "/var/inbox.db";
  auto by_path = RunCli({"inbox", "stats", "--json", "--inbox", inbox_path});
  ASSERT_EQ(by_path.exit_code, 0) << by_path.err;
  EXPECT_EQ(ParseJson(by_path).at("total").as_int64(), 3);
  EXPECT_EQ(RunCli({"inbox", "show", t1, "--inbox", inbox_path}).exit_code, 2) << "needs --app-id";
  EXPECT_EQ(RunCli({"inbox", "show", t1, "--app-id", kApp, "--inbox", inbox_path}).exit_code, 0);
  EXPECT_EQ(RunCli({"inbox", "stats"}).exit_code, 2);

  // Replay refusals: no target, a done message, an unknown one.
  EXPECT_EQ(RunCli({"inbox", "replay", "--config", config}).exit_code, 2);
  auto done_replay = RunCli({"inbox", "replay", m1, "--config", config});
  EXPECT_EQ(done_replay.exit_code, 1);
  EXPECT_NE(done_replay.err.find("in state done"), std::string::npos) << done_replay.err;
  EXPECT_EQ(RunCli({"inbox", "replay", "no-such-id", "--config", config}).exit_code, 1);

  daemon->Stop();
  // A second daemon on the same inbox with a catch-all sink; the replay reaches it while it runs.
  const std::string config2 = WriteConfig(dir, "c2.yaml", Mode::kKey, sim->listen(),
                                          "sinks:\n  - match: \"*\"\n    jsonl: all.jsonl\n");
  daemon = std::make_unique<Daemon>(config2, dir + "/daemon2.log");
  ASSERT_TRUE(WaitUntil([&] { return sim->Get("/connections").at("connections").as_array().size() == 1; }))
      << daemon->Log();
  EXPECT_EQ(LineCount(dir + "/all.jsonl"), 0u) << "nothing pending: the second daemon delivers nothing yet";
  auto replay = RunCli({"inbox", "replay", "--all", "--json", "--config", config2});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  EXPECT_EQ(ParseJson(replay).at("replayed").as_int64(), 1);
  ASSERT_TRUE(WaitUntil([&] { return LineCount(dir + "/all.jsonl") == 1; }, std::chrono::seconds(30)))
      << daemon->Log();
  const std::string line = clienttest::ReadFile(dir + "/all.jsonl");
  EXPECT_NE(line.find(t1), std::string::npos) << line;
  ASSERT_TRUE(WaitUntil([&] {
    auto r = RunCli({"inbox", "show", t1, "--json", "--config", config2});
    return r.exit_code == 0 && ParseJson(r).at("state").as_string() == "done";
  }));
  auto text = RunCli({"inbox", "stats", "--config", config2});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("done"), std::string::npos) << text.out;
  daemon->Stop();
  EXPECT_EQ(LineCount(dir + "/mini.jsonl"), 2u);
  EXPECT_EQ(LineCount(dir + "/all.jsonl"), 1u);
}

// ---- send ----------------------------------------------------------------------------------------

class CliSend : public ::testing::TestWithParam<Mode> {};

TEST_P(CliSend, ProducesThroughItsOwnConnectionAndTheSimReceivesIt) {
  const std::string dir = MakeTempDir("cli-send");
  auto sim = SimProcess::Start(dir, SimArgs(GetParam()));
  ASSERT_TRUE(sim);
  const std::string config = WriteConfig(dir, "c.yaml", GetParam(), sim->listen(), "");
  const std::string content = R"({"shop_id":"1001","status":"中文"})";
  auto r = RunCli({"send", "--config", config, "--msg-api", "alipay.open.app.openbizmock.message.send", "--content",
                   content, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json::value ack = ParseJson(r);
  EXPECT_TRUE(ack.at("success").as_bool());
  EXPECT_EQ(ack.at("status").as_string(), "SUCCESS");
  auto produced = sim->Get("/produced").at("produced").as_array();
  ASSERT_EQ(produced.size(), 1u);
  EXPECT_EQ(produced[0].at("msg_api").as_string(), "alipay.open.app.openbizmock.message.send");
  EXPECT_EQ(produced[0].at("content").as_string(), content);
  EXPECT_TRUE(produced[0].at("signature_ok").as_bool()) << produced[0].at("error").as_string();
  EXPECT_EQ(produced[0].at("msg_id").as_string(), ack.at("msg_id").as_string());
  EXPECT_EQ(produced[0].at("app_id").as_string(), kApp);

  auto text = RunCli({"send", "--config", config, "--msg-api", "x.y", "--content", "-"}, R"({"a":1})");
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(text.out.starts_with("SUCCESS: PRODUCE x.y acked, msg_id ")) << text.out;
}

INSTANTIATE_TEST_SUITE_P(KeyAndCert, CliSend, ::testing::Values(Mode::kKey, Mode::kCert),
                         [](const auto& info) { return info.param == Mode::kKey ? "Key" : "Cert"; });

TEST(CliSendErrors, BadArgumentsAndNoServer) {
  const std::string dir = MakeTempDir("cli-send");
  const std::string config = WriteConfig(dir, "c.yaml", Mode::kKey, "", "");
  auto r = RunCli({"send", "--config", config, "--msg-api", "a.b", "--content", "[1,2]"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--content must be a JSON object"), std::string::npos) << r.err;
  r = RunCli({"send", "--config", config, "--msg-api", "a.b", "--content", "{}", "--app-id", "2021000000000009"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("app 2021000000000009 is not in"), std::string::npos) << r.err;
  r = RunCli({"send", "--config", dir + "/none.yaml", "--msg-api", "a.b", "--content", "{}"});
  EXPECT_EQ(r.exit_code, 2);
  // Nothing listens on 127.0.0.1:9: a clear "not sent" after the connect timeout, exit 1.
  r = RunCli({"send", "--config", config, "--msg-api", "a.b", "--content", "{}", "--connect-timeout", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("not sent: could not connect to 127.0.0.1:9"), std::string::npos) << r.err;
}

// Messages waiting for the app while only the sending connection is up land on it (the sim spreads
// an app's CONSUMEs over its connections). They go into the daemon's inbox, acked after the commit,
// and the daemon delivers them once when it runs: nothing lost, nothing doubled.
TEST(CliSendInbox, MessagesArrivingOnTheSendConnectionGoToTheDaemonsInbox) {
  const std::string dir = MakeTempDir("cli-send");
  auto sim = SimProcess::Start(dir, SimArgs(Mode::kKey));
  ASSERT_TRUE(sim);
  const std::string config = WriteConfig(dir, "c.yaml", Mode::kKey, sim->listen(),
                                         "sinks:\n  - match: \"*\"\n    jsonl: out.jsonl\n");
  std::vector<std::string> waiting;
  for (int i = 0; i < 3; ++i) waiting.push_back(sim->AddMessage(kApp, kMiniApi, R"({"n":)" + std::to_string(i) + "}"));
  auto r = RunCli({"send", "--config", config, "--msg-api", "x.y", "--content", "{}"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("3 message(s) for " + std::string(kApp) + " arrived on this connection: 3 stored new"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(WaitUntil([&] { return sim->Stat("acked_messages") == 3; })) << sim->Stat("acked_messages");
  auto pending = RunCli({"inbox", "list", "--json", "--state", "pending", "--config", config});
  ASSERT_EQ(pending.exit_code, 0) << pending.err;
  EXPECT_EQ(ParseJson(pending).as_array().size(), 3u);

  Daemon daemon(config, dir + "/daemon.log");
  ASSERT_TRUE(WaitUntil([&] { return LineCount(dir + "/out.jsonl") == 3; }, std::chrono::seconds(30))) << daemon.Log();
  daemon.Stop();
  const std::string out = clienttest::ReadFile(dir + "/out.jsonl");
  for (const auto& id : waiting) EXPECT_EQ(out.find(id), out.rfind(id)) << "once: " << id;
  EXPECT_EQ(LineCount(dir + "/out.jsonl"), 3u);
}

}  // namespace
}  // namespace alipaymsg::testing
