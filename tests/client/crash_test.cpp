// SIGKILL the receiving process at random moments during a stream of thousands of messages; after a
// final restart every message has been dispatched exactly once (the handler's effect commits in the
// inbox's own transaction).
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <random>
#include <thread>

#include "sim_process.h"
#include "testing/sanitizers.h"
#include "testing/test_paths.h"

namespace alipaymsg::clienttest {
namespace {

constexpr const char* kApp = "2021000000000001";

// msg_id → how many effect rows; empty when the table does not exist yet.
std::map<std::string, int> Effects(const std::string& db_path) {
  std::map<std::string, int> effects;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return effects;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* query = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT msg_id, COUNT(*) FROM effects GROUP BY msg_id", -1, &query,
                         nullptr) == SQLITE_OK) {
    while (sqlite3_step(query) == SQLITE_ROW)
      effects[reinterpret_cast<const char*>(sqlite3_column_text(query, 0))] = sqlite3_column_int(query, 1);
  }
  sqlite3_finalize(query);
  sqlite3_close(db);
  return effects;
}

TEST(CrashTest, SigkillAtRandomMomentsLosesNothingAndDoublesNothing) {
  const std::string dir = testing::MakeTempDir("client-crash");
  const SimKeys keys = Keygen(dir + "/keys", kApp);
  // A long, fast redelivery schedule: a message interrupted by several kills in a row is not given up.
  auto sim = SimProcess::Start(
      dir, {"--alipay-private-key", keys.alipay_private_key, "--app",
            std::string(kApp) + "=" + keys.app_public_key, "--log-level", "warn", "--redelivery",
            "0,100ms,200ms,300ms,500ms,1s,1s,1s,1s,1s,2s,2s,2s,3s,5s,5s,5s,10s,10s,10s"});
  ASSERT_TRUE(sim);
  const std::string db = dir + "/inbox.db";
  const std::vector<std::string> worker = {testing::BinDir() + "/client_crash_worker", db,
                                           sim->listen(), kApp, keys.app_private_key,
                                           keys.alipay_public_key};
  const std::string log = dir + "/worker.log";

  std::mt19937 rng(std::random_device{}());
  // Windows in which the worker starts, registers, connects, idles / reads frames, not all acked;
  // stretched under ASan, whose start-up alone can exceed them.
  std::uniform_int_distribution<int> before_post_ms(0, 150 * testing::kSanitizerSlowdown);
  std::uniform_int_distribution<int> after_post_ms(0, 80 * testing::kSanitizerSlowdown);
  std::vector<std::string> ids;
  constexpr int kKills = 22;
  constexpr int kPerRound = 300;
  int killed_while_running = 0;
  for (int round = 0; round < kKills; ++round) {
    auto process = ChildProcess::Start(worker, log);
    ASSERT_TRUE(process);
    std::this_thread::sleep_for(std::chrono::milliseconds(before_post_ms(rng)));
    for (auto& id : sim->AddMessages(kApp, "alipay.trade.refund.depositback.completed",
                                     R"({"refund_no":")" + std::to_string(round) + R"("})", kPerRound))
      ids.push_back(id);
    std::this_thread::sleep_for(std::chrono::milliseconds(after_post_ms(rng)));
    if (process->running()) ++killed_while_running;
    process->Signal(SIGKILL);
    const int status = process->Wait();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "worker exited on its own (status " << status << "):\n" << ReadFile(log);
  }
  EXPECT_EQ(killed_while_running, kKills);
  ASSERT_EQ(ids.size(), static_cast<size_t>(kKills * kPerRound));
  const size_t before_final = Effects(db).size();
  EXPECT_GT(before_final, 0u) << "no progress between kills:\n" << ReadFile(log);

  // The last run drains everything, then stops gracefully.
  const int64_t connections_before = sim->Stat("connections_total");
  auto process = ChildProcess::Start(worker, log);
  ASSERT_TRUE(process);
  // Connected means it is past start-up (its SIGTERM handling is in place).
  ASSERT_TRUE(WaitUntil([&] { return sim->Stat("connections_total") > connections_before; }))
      << ReadFile(log);
  ASSERT_TRUE(WaitUntil([&] { return sim->Stat("pending") == 0 && Effects(db).size() == ids.size(); },
                        std::chrono::seconds(60)))
      << "pending " << sim->Stat("pending") << ", effects " << Effects(db).size() << " of "
      << ids.size() << "\n" << ReadFile(log);
  process->Signal(SIGTERM);
  int status = 0;
  ASSERT_TRUE(process->WaitFor(std::chrono::seconds(15), &status)) << "graceful stop hung";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "wait status " << status << " (signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0)
      << ")\n" << ReadFile(log);

  const auto effects = Effects(db);
  EXPECT_EQ(effects.size(), ids.size());
  for (const auto& id : ids) {
    auto it = effects.find(id);
    ASSERT_NE(it, effects.end()) << "message " << id << " was never dispatched";
    EXPECT_EQ(it->second, 1) << "message " << id << " was dispatched " << it->second << " times";
  }
  EXPECT_EQ(sim->Stat("given_up"), 0);
  EXPECT_GT(sim->Stat("redelivered"), 0);  // the kills really interrupted deliveries
  std::cout << "[ info ] " << ids.size() << " messages, " << kKills << " kills, "
            << sim->Stat("redelivered") << " redeliveries, " << before_final
            << " dispatched before the final run\n";
}

}  // namespace
}  // namespace alipaymsg::clienttest
