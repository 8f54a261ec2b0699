// The built alipay-msg-sim binary, run as a user would: keygen, then serve; driven over the wire.
#include <gtest/gtest.h>
#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "sim_harness.h"
#include "testing/run_process.h"

extern char** environ;

namespace alipaymsg::simtest {
namespace {

namespace json = boost::json;

std::string Bin() { return testing::BinDir() + "/alipay-msg-sim"; }

class Server {
 public:
  Server(std::vector<std::string> args, const std::string& log) {
    args.insert(args.begin(), Bin());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Server() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // SIGTERM and the exit code (-1: did not exit normally).
  int Terminate() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

TEST(SimBinary, KeygenThenServeKeyAndCertModeOverTheWire) {
  std::string dir = testing::MakeTempDir("sim-bin");
  auto keygen = testing::RunProcess({Bin(), "keygen", dir + "/keys", "--app-id", "2021000000000077"});
  ASSERT_EQ(keygen.exit_code, 0) << keygen.err;
  EXPECT_NE(keygen.out.find("alipayRootCert.crt"), std::string::npos) << keygen.out;
  auto tls = testing::RunProcess({Bin(), "tls-keygen", dir + "/tls"});
  ASSERT_EQ(tls.exit_code, 0) << tls.err;
  const std::string k = dir + "/keys/";
  std::string ready = dir + "/ready.json", log = dir + "/sim.log";
  Server server({"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--alipay-private-key", k + "alipay_private_key.pem",
                 "--alipay-cert", k + "alipayCertPublicKey_RSA2.crt", "--root-cert", k + "alipayRootCert.crt", "--app",
                 "2021000000000077=" + k + "appCertPublicKey_2021000000000077.crt", "--app",
                 "2021000000000078=" + k + "app_public_key.pem", "--redelivery-scale", "0.001", "--tls-cert",
                 dir + "/tls/server.crt", "--tls-key", dir + "/tls/server.key", "--ready-file", ready},
                log);
  ASSERT_GT(server.pid(), 0);
  for (int i = 0; i < 300 && !std::filesystem::exists(ready); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(std::filesystem::exists(ready)) << testing::ReadFileOrFail(log);
  json::value ports = json::parse(testing::ReadFileOrFail(ready));
  Endpoint main{"127.0.0.1", static_cast<uint16_t>(ports.at("port").to_number<int64_t>()), dir + "/tls/ca.crt"};
  Admin admin{Endpoint{"127.0.0.1", static_cast<uint16_t>(ports.at("admin_port").to_number<int64_t>()), ""}};

  auto app_key = PrivateKey::FromFile(k + "app_private_key.pem");
  ASSERT_TRUE(app_key.ok());
  auto app_sn = CertSnOfFile(k + "appCertPublicKey_2021000000000077.crt");
  auto root_sn = RootCertSn(testing::ReadFileOrFail(k + "alipayRootCert.crt"), SignType::kRsa2);
  ASSERT_TRUE(app_sn.ok() && root_sn.ok() && root_sn->has_value());
  auto now = [] { return WallMs(); };
  for (TestApp app : {TestApp{"2021000000000077", &*app_key, *app_sn, **root_sn}, TestApp{"2021000000000078", &*app_key}}) {
    RegisterReply reg = Register(main, SignedQuery(RegisterParams(app, now()), *app.key));
    ASSERT_EQ(reg.code, "10000") << reg.http.body << reg.http.error;
    EXPECT_EQ(reg.alipay_cert_sn.has_value(), !app.app_cert_sn.empty());
    auto ws = ConnectWs(main, SignedQuery(ConnectParams(app, reg.link_token, now()), *app.key), reg.zone);
    ASSERT_TRUE(ws.client) << ws.body << ws.error;
    std::string id = admin.AddMessage(app.app_id);
    auto text = ws.client->NextText();
    ASSERT_TRUE(text);
    WireFrame f;
    ASSERT_TRUE(SplitFrame(*text, &f));
    EXPECT_EQ(f.protocol["x-msgId"], id);
    ws.client->Send(ConsumeAck(f, "FAIL"));  // redelivered 120 ms later (2m scaled by 0.001)
    text = ws.client->NextText();
    ASSERT_TRUE(text);
    WireFrame g;
    ASSERT_TRUE(SplitFrame(*text, &g));
    EXPECT_EQ(g.protocol["x-msgId"], id);
    ws.client->Send(ConsumeAck(g, "SUCCESS"));
    admin.WaitMessage(id, [](const json::value& v) { return State(v) == "acked"; });
    ws.client->Close();
  }
  // Logs tell what a client did wrong.
  TestApp key_app{"2021000000000078", &*app_key};
  std::string bad = SignedQuery(RegisterParams(key_app, now()), *app_key);
  bad.replace(bad.find("nonce=") + 6, 4, "ffff");
  EXPECT_EQ(Register(main, bad).sub_code, "isv.invalid-signature");
  EXPECT_EQ(server.Terminate(), 0);
  std::string logs = testing::ReadFileOrFail(log);
  EXPECT_NE(logs.find("isv.invalid-signature"), std::string::npos);
  EXPECT_NE(logs.find("the server verified the client's sign against this content"), std::string::npos) << logs;
  EXPECT_EQ(logs.find("PRIVATE KEY"), std::string::npos);
}

TEST(SimBinary, BadArgumentsSayWhatIsWrong) {
  auto none = testing::RunProcess({Bin(), "--app", "1=/nonexistent"});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("--alipay-private-key"), std::string::npos) << none.err;
  std::string dir = testing::MakeTempDir("sim-bin-args");
  ASSERT_EQ(testing::RunProcess({Bin(), "keygen", dir}).exit_code, 0);
  auto bad_app = testing::RunProcess({Bin(), "--alipay-private-key", dir + "/alipay_private_key.pem", "--app", "nofile"});
  EXPECT_NE(bad_app.exit_code, 0);
  EXPECT_NE(bad_app.err.find("APP_ID=FILE"), std::string::npos) << bad_app.err;
  auto missing = testing::RunProcess({Bin(), "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--alipay-private-key",
                                      dir + "/alipay_private_key.pem", "--app", "2021=" + dir + "/missing.pem"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("missing.pem"), std::string::npos) << missing.err;
  auto schedule = testing::RunProcess({Bin(), "--alipay-private-key", dir + "/alipay_private_key.pem", "--redelivery", "1,2x"});
  EXPECT_NE(schedule.exit_code, 0);
  EXPECT_NE(schedule.err.find("2x"), std::string::npos) << schedule.err;
}

}  // namespace
}  // namespace alipaymsg::simtest
