// examples/quickstart as a user runs it: configured by ALIPAY_* variables, against the simulator,
// stopped with SIGTERM. $ALIPAYMSG_QUICKSTART names the binary to run (the install test builds one
// against an installed alipaymsg); else the one built in the tree.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <sstream>

#include "alipaymsg/inbox.h"
#include "client/sim_process.h"
#include "testing/test_paths.h"

namespace alipaymsg {
namespace {

using clienttest::ReadFile;
using clienttest::WaitUntil;
constexpr const char* kApp = "2021000000000001";
constexpr const char* kApi = "alipay.open.mini.version.audit.passed";

std::string QuickstartBinary() {
  const char* given = std::getenv("ALIPAYMSG_QUICKSTART");
  return given && *given ? given : testing::BinDir() + "/alipaymsg-quickstart";
}

TEST(QuickstartTest, PrintsEachMessageOnceAndStopsOnSigterm) {
  for (bool cert_mode : {false, true}) {
    SCOPED_TRACE(cert_mode ? "cert mode" : "key mode");
    const std::string dir = testing::MakeTempDir("quickstart");
    const clienttest::SimKeys keys = clienttest::Keygen(dir + "/keys", kApp);
    auto sim = clienttest::SimProcess::Start(dir, clienttest::SimArgsForApp(keys, kApp, cert_mode, nullptr));
    ASSERT_TRUE(sim);
    std::vector<std::string> argv = {"/usr/bin/env", std::string("ALIPAY_APP_ID=") + kApp,
                                     "ALIPAY_APP_PRIVATE_KEY_PATH=" + keys.app_private_key,
                                     "ALIPAY_SERVER_HOST=" + sim->listen(), "ALIPAY_SSL=false",
                                     "ALIPAY_INBOX_PATH=" + dir + "/inbox/quickstart.db"};
    if (cert_mode) {
      argv.push_back("ALIPAY_APP_CERT_PUBLIC_KEY_PATH=" + keys.app_cert);
      argv.push_back("ALIPAY_ALIPAY_CERT_PUBLIC_KEY_PATH=" + keys.alipay_cert);
      argv.push_back("ALIPAY_ALIPAY_ROOT_CERT_PATH=" + keys.root_cert);
    } else {
      argv.push_back("ALIPAY_ALIPAY_PUBLIC_KEY_PATH=" + keys.alipay_public_key);
    }
    argv.push_back(QuickstartBinary());
    const std::string log = dir + "/quickstart.log";
    auto quickstart = clienttest::ChildProcess::Start(argv, log);
    ASSERT_TRUE(quickstart);
    ASSERT_TRUE(WaitUntil([&] { return sim->Stat("connections") == 1 || !quickstart->running(); }))
        << ReadFile(log);
    ASSERT_TRUE(quickstart->running()) << ReadFile(log);

    sim->Fault(R"({"kind":"duplicate","count":3})");
    std::vector<std::string> ids = sim->AddMessages(kApp, kApi, R"({"audit":"passed"})", 10);
    // A msgApi without a handler: stored and acked, kept as unhandled, not printed.
    const std::string other = sim->AddMessage(kApp, "alipay.open.mini.version.audit.rejected", R"({"x":1})");
    ASSERT_TRUE(WaitUntil([&] { return sim->Stat("acked_messages") == 11; })) << ReadFile(log);
    EXPECT_EQ(sim->Stat("acked.FAIL"), 0);
    // Handled means done in the inbox; the quickstart's own inbox, read beside it.
    ASSERT_TRUE(WaitUntil([&] {
      SqliteInboxOptions read_only;
      read_only.read_only = true;
      auto inbox = OpenSqliteInbox(dir + "/inbox/quickstart.db", read_only);
      if (!inbox.ok()) return false;
      auto stats = (*inbox)->Stats();
      return stats.ok() && stats->done == 10 && stats->unhandled == 1;
    })) << ReadFile(log);

    quickstart->Signal(SIGTERM);
    int status = 0;
    ASSERT_TRUE(quickstart->WaitFor(std::chrono::seconds(15), &status)) << ReadFile(log);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << ReadFile(log);
    EXPECT_TRUE(WaitUntil([&] { return sim->Stat("connections") == 0; }));

    std::map<std::string, int> printed;
    std::istringstream lines(ReadFile(log));
    for (std::string line; std::getline(lines, line);) {
      if (line.ends_with(R"( {"audit":"passed"})")) ++printed[line.substr(0, line.find(' '))];
    }
    EXPECT_EQ(printed.size(), ids.size()) << ReadFile(log);
    for (const std::string& id : ids) EXPECT_EQ(printed[id], 1) << id << "\n" << ReadFile(log);
    EXPECT_EQ(ReadFile(log).find(other), std::string::npos) << ReadFile(log);
  }
}

TEST(QuickstartTest, MissingKeyIsAClearErrorAndExitStatus2) {
  const std::string dir = testing::MakeTempDir("quickstart");
  const std::string log = dir + "/quickstart.log";
  auto quickstart = clienttest::ChildProcess::Start(
      {"/usr/bin/env", std::string("ALIPAY_APP_ID=") + kApp, "ALIPAY_APP_PRIVATE_KEY_PATH=" + dir + "/nope.pem",
       "ALIPAY_ALIPAY_PUBLIC_KEY_PATH=" + dir + "/nope2.pem", "ALIPAY_INBOX_PATH=" + dir + "/q.db",
       QuickstartBinary()},
      log);
  ASSERT_TRUE(quickstart);
  int status = 0;
  ASSERT_TRUE(quickstart->WaitFor(std::chrono::seconds(10), &status));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;
  EXPECT_NE(ReadFile(log).find("nope.pem"), std::string::npos) << ReadFile(log);
}

// The README opens its library section with this program: the copy there is the file, verbatim.
TEST(QuickstartTest, ReadmeShowsTheQuickstartAsItIs) {
  const std::string source = testing::ReadFileOrFail(testing::SourceDir() + "/examples/quickstart/main.cpp");
  const std::string program = source.substr(source.find("#include <cstdio>"));
  ASSERT_GT(program.size(), 100u);
  const std::string readme = testing::ReadFileOrFail(testing::SourceDir() + "/README.md");
  EXPECT_NE(readme.find("```cpp\n" + program + "```"), std::string::npos)
      << "README.md's library section must show examples/quickstart/main.cpp from #include <cstdio> on";
}

}  // namespace
}  // namespace alipaymsg
