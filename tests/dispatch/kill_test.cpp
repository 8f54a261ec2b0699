// SIGKILL at random moments while a child process stores and dispatches a stream of messages; after
// every kill the child is started again. In the end every message must have been handled exactly
// once (its effect recorded in the inbox's own transaction), and every message whose store was
// reported committed before a kill must be in the inbox right after that kill.
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "inbox/scoped_temp_dir.h"
#include "testing/test_paths.h"

namespace alipaymsg {
namespace {

using namespace std::chrono_literals;

constexpr int kMessages = 3000;
constexpr int kKills = 20;

struct ChildRun {
  bool killed = false;
  int exit_code = -1;
  std::string out;
};

// When to kill a run. Triggers count the child's progress rather than time, so that kills land in
// every phase however fast or slow the machine: from the start (opening, recovery), after some
// stores were acked, or after some messages were handled; then `delay` more. nullopt: let it finish.
struct KillPlan {
  enum class Trigger { kStart, kAcked, kHandled } trigger = Trigger::kStart;
  int count = 0;
  std::chrono::microseconds delay{0};
};

ChildRun RunChild(const std::string& db, std::optional<KillPlan> plan) {
  ChildRun run;
  const std::string binary = testing::BinDir() + "/inbox_kill_child";
  int out_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe failed";
    return run;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_pipe[1], 1);
    const std::string count = std::to_string(kMessages);
    const char* argv[] = {binary.c_str(), db.c_str(), count.c_str(), "1000", nullptr};
    ::execv(binary.c_str(), const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  // Read everything the child prints while it runs (so that it never blocks on a full pipe),
  // counting "A" and "H" lines as they come.
  std::atomic<int> acked{0}, handled{0};
  std::thread reader([&] {
    char buf[65536];
    ssize_t n;
    bool at_line_start = true;
    while ((n = ::read(out_pipe[0], buf, sizeof buf)) > 0) {
      for (ssize_t i = 0; i < n; ++i) {
        if (at_line_start && buf[i] == 'A') acked.fetch_add(1);
        if (at_line_start && buf[i] == 'H') handled.fetch_add(1);
        at_line_start = buf[i] == '\n';
      }
      run.out.append(buf, static_cast<size_t>(n));
    }
  });
  auto finish = [&](int status) {
    reader.join();
    ::close(out_pipe[0]);
    run.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
  };
  int status = 0;
  if (plan) {
    auto triggered = [&] {
      switch (plan->trigger) {
        case KillPlan::Trigger::kStart: return true;
        case KillPlan::Trigger::kAcked: return acked.load() >= plan->count;
        case KillPlan::Trigger::kHandled: return handled.load() >= plan->count;
      }
      return true;
    };
    std::optional<std::chrono::steady_clock::time_point> deadline;
    while (!deadline || std::chrono::steady_clock::now() < *deadline) {
      if (::waitpid(pid, &status, WNOHANG) == pid) return finish(status);
      if (!deadline && triggered()) deadline = std::chrono::steady_clock::now() + plan->delay;
      std::this_thread::sleep_for(100us);
    }
    ::kill(pid, SIGKILL);
  }
  ::waitpid(pid, &status, 0);
  return finish(status);
}

// (app_id, msg_id) of every "A app msg" line.
std::set<std::pair<std::string, std::string>> Acked(const std::string& out) {
  std::set<std::pair<std::string, std::string>> acked;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string tag, app, msg;
    if (fields >> tag >> app >> msg && tag == "A") acked.emplace(app, msg);
  }
  return acked;
}

class Db {
 public:
  explicit Db(const std::string& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Db() { sqlite3_close(db_); }
  int64_t Int(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    int64_t value = -1;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    } else {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_finalize(stmt);
    return value;
  }
  bool Has(const std::string& app, const std::string& msg) {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db_, "SELECT 1 FROM messages WHERE app_id = ? AND msg_id = ?", -1, &stmt,
                       nullptr);
    sqlite3_bind_text(stmt, 1, app.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, msg.c_str(), -1, SQLITE_TRANSIENT);
    bool found = sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_finalize(stmt);
    return found;
  }

 private:
  sqlite3* db_ = nullptr;
};

TEST(KillTest, EveryMessageIsHandledExactlyOnceAcrossSigkills) {
  testing::ScopedTempDir dir("kill-test");
  const std::string db = dir.path() + "/inbox.db";
  std::mt19937_64 rng(std::random_device{}());
  // A quarter of the kills from the start (opening, recovery, first stores), a quarter once some
  // stores were acked, half once some messages were handled; each a few milliseconds after that.
  std::uniform_int_distribution<int> start_delay_us(0, 50'000);
  std::uniform_int_distribution<int> acked_count(1, kMessages);
  std::uniform_int_distribution<int> handled_count(1, 200);
  std::uniform_int_distribution<int> delay_us(0, 5'000);

  int kills = 0, mid_stream_kills = 0, runs = 0;
  int64_t last_done = 0;
  while (kills < kKills && runs < 200) {
    ++runs;
    KillPlan plan;
    switch (runs % 4) {
      case 0:
        plan.trigger = KillPlan::Trigger::kStart;
        plan.delay = std::chrono::microseconds(start_delay_us(rng));
        break;
      case 1:
        plan.trigger = KillPlan::Trigger::kAcked;
        plan.count = acked_count(rng);
        plan.delay = std::chrono::microseconds(delay_us(rng));
        break;
      default:
        plan.trigger = KillPlan::Trigger::kHandled;
        plan.count = handled_count(rng);
        plan.delay = std::chrono::microseconds(delay_us(rng));
        break;
    }
    ChildRun run = RunChild(db, plan);
    if (!run.killed) {
      ASSERT_EQ(run.exit_code, 0) << "child failed on its own";
      continue;  // finished before the kill; still counts as a restart
    }
    ++kills;
    // Whatever was acked before the kill is durable.
    const auto acked = Acked(run.out);
    if (!std::filesystem::exists(db)) {
      EXPECT_TRUE(acked.empty()) << "acked before the inbox existed";
      continue;
    }
    Db check(db);
    int64_t done = 0;
    if (check.Int("SELECT COUNT(*) FROM sqlite_master WHERE name = 'messages'") == 1) {
      for (const auto& [app, msg] : acked) {
        ASSERT_TRUE(check.Has(app, msg)) << msg << " was acked, then lost by a kill";
      }
      done = check.Int("SELECT COUNT(*) FROM messages WHERE state = 'done'");
      EXPECT_EQ(check.Int("SELECT COUNT(*) FROM effects"), done)
          << "an effect without its done (or the reverse) after a kill";
    }
    if (std::getenv("KILL_TEST_VERBOSE") != nullptr) {
      std::cout << "kill " << kills << ": acked " << acked.size() << ", done " << done << "\n";
    }
    EXPECT_GE(done, last_done);
    last_done = done;
    if (done > 0 && done < kMessages) ++mid_stream_kills;
  }
  EXPECT_EQ(kills, kKills);

  ChildRun last = RunChild(db, std::nullopt);
  ASSERT_EQ(last.exit_code, 0);
  EXPECT_NE(last.out.find("COMPLETE"), std::string::npos);

  Db check(db);
  EXPECT_EQ(check.Int("SELECT COUNT(*) FROM messages"), kMessages);
  EXPECT_EQ(check.Int("SELECT COUNT(*) FROM messages WHERE state = 'done'"), kMessages);
  EXPECT_EQ(check.Int("SELECT COUNT(*) FROM effects"), kMessages) << "handled more than once";
  EXPECT_EQ(check.Int("SELECT COUNT(*) FROM (SELECT DISTINCT app_id, msg_id FROM effects)"),
            kMessages);
  EXPECT_EQ(check.Int("SELECT COUNT(*) FROM messages m WHERE (SELECT COUNT(*) FROM effects e "
                      "WHERE e.app_id = m.app_id AND e.msg_id = m.msg_id) != 1"),
            0);
  // Retries and redeliveries really happened.
  EXPECT_GT(check.Int("SELECT COUNT(*) FROM effects WHERE attempt > 1"), 0);
  EXPECT_GT(check.Int("SELECT value FROM counters WHERE name = 'duplicates'"), 0);
  // The kills landed while the stream was being handled, not only before or after it.
  EXPECT_GE(mid_stream_kills, kKills / 4) << "kills " << kills << ", runs " << runs;
  std::cout << "[kill test] " << kills << " SIGKILLs over " << runs << " runs, " << mid_stream_kills
            << " mid-stream\n";
}

}  // namespace
}  // namespace alipaymsg
