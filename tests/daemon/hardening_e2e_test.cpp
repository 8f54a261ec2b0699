// alipay-msgd under attack and under storage faults, end to end (the real daemon and simulator):
// a flood of forged CONSUMEs stays within the audit and log bounds, a corrupt inbox is refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "daemon_process.h"
#include "e2e_support.h"
#include "testing/run_process.h"
#include "testing/test_paths.h"

namespace alipaymsg::daemontest {
namespace {

using clienttest::WaitUntil;
using std::chrono::seconds;

int64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

int64_t InboxBytes(const std::string& db) { return FileSize(db) + FileSize(db + "-wal") + FileSize(db + "-shm"); }

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

class HardeningE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Keys().app_private_key.empty());
    dir_ = testing::MakeTempDir("hardening-e2e");
    jsonl_ = dir_ + "/out/messages.jsonl";
    log_ = dir_ + "/daemon.log";
  }

  std::unique_ptr<DaemonProcess> StartDaemon(const std::string& config) {
    auto daemon = DaemonProcess::Start(config, log_);
    if (!daemon) return nullptr;
    if (!WaitUntil([&] { return daemon->Ready(); }, seconds(20))) {
      ADD_FAILURE() << "alipay-msgd never became ready: " << daemon->Admin("/readyz").body << "\n" << daemon->Log();
      return nullptr;
    }
    return daemon;
  }

  std::string dir_, jsonl_, log_;
};

// The issue's target: a 10-second flood of forged CONSUMEs at full speed grows the inbox and the
// daemon's log by at most 16 MB together, every forgery is answered FAIL and counted exactly, and
// the next genuine message is delivered within a minute.
TEST_F(HardeningE2ETest, ForgeryFloodStaysWithinDiskAndLogBounds) {
  auto sim = SimProcess::Start(dir_, clienttest::SimArgsForApp(Keys(), kApp, /*cert_mode=*/false, nullptr));
  ASSERT_TRUE(sim);
  WriteFile(dir_ + "/alipay-msgd.yaml", AppYaml(Mode::kKey, *sim, false) + CommonYaml(dir_) + JsonlSinkYaml(jsonl_));
  auto daemon = StartDaemon(dir_ + "/alipay-msgd.yaml");
  ASSERT_TRUE(daemon);
  const std::string inbox = dir_ + "/inbox.db";
  const int64_t inbox_before = InboxBytes(inbox);
  const int64_t log_before = FileSize(log_);

  const auto flood_start = std::chrono::steady_clock::now();
  sim->Fault(std::string(R"({"kind":"forge_flood","ms":10000,"app_id":")") + kApp + "\"}");
  // The flood runs for its 10 s; meanwhile the daemon must keep answering.
  while (std::chrono::steady_clock::now() < flood_start + seconds(10)) {
    EXPECT_EQ(daemon->Admin("/healthz").status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  const int64_t forged = sim->Stat("forged_sent");
  EXPECT_GT(forged, 10000) << "the flood was too small to show anything";

  // The next genuine message arrives within a minute (the flood over).
  const std::string genuine = sim->AddMessage(kApp, kApi, R"({"after":"the flood"})");
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(jsonl_).find(genuine) != std::string::npos; }, seconds(60)))
      << "genuine message " << genuine << " not delivered within a minute\n" << daemon->Log().substr(0, 20000);
  EXPECT_EQ(LineCount(jsonl_), 1u);
  EXPECT_EQ(sim->Stat("forged_acked.SUCCESS"), 0) << "a forgery was acked SUCCESS";

  // Every rejection counted exactly, although the audit keeps only the newest.
  const std::string failures = std::string("alipaymsg_signature_failures_total{app_id=\"") + kApp + "\"}";
  EXPECT_TRUE(WaitUntil([&] { return daemon->Metric("alipaymsg_rejected_total") == daemon->Metric(failures); }))
      << daemon->Metric("alipaymsg_rejected_total") << " vs " << daemon->Metric(failures);
  const double rejected = daemon->Metric("alipaymsg_rejected_total");
  EXPECT_GT(rejected, 5000);
  EXPECT_LE(daemon->Metric("alipaymsg_inbox_messages{state=\"rejected\"}"), 10000);

  const int64_t inbox_growth = InboxBytes(inbox) - inbox_before;
  const int64_t log_growth = FileSize(log_) - log_before;
  std::printf("flood: %lld forged sent, %.0f rejected; inbox grew %lld bytes, log %lld bytes\n",
              static_cast<long long>(forged), rejected, static_cast<long long>(inbox_growth),
              static_cast<long long>(log_growth));
  EXPECT_LE(inbox_growth + log_growth, 16 << 20) << "inbox +" << inbox_growth << ", log +" << log_growth;

  // The log says what happened, rate-limited: a line now and then, with how many it held back.
  const std::string log = daemon->Log();
  EXPECT_LT(CountOf(log, "rejected, answered FAIL"), 200u);
  EXPECT_NE(log.find("more such lines suppressed"), std::string::npos) << log.substr(0, 5000);
  EXPECT_EQ(daemon->Stop(), 0) << daemon->Log().substr(0, 20000);
}

// A small tmpfs mounted at `dir` for the test's life: a disk that really fills up (needs root).
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, const std::string& size) : dir_(dir) {
    auto mounted = testing::RunProcess({"/bin/mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", dir});
    ok_ = mounted.exit_code == 0;
    error_ = mounted.err + mounted.out;
  }
  ~TmpfsMount() {
    if (ok_) (void)testing::RunProcess({"/bin/umount", "-l", dir_});
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool ok_ = false;
  std::string error_;
};

// A 16 MB tmpfs at `dir` (created).
std::unique_ptr<TmpfsMount> MountSmallDisk(const std::string& dir) {
  std::filesystem::create_directories(dir);
  return std::make_unique<TmpfsMount>(dir, "16m");
}

// Writes `path` until the file system is full; the bytes written.
int64_t FillDisk(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return -1;
  const std::string chunk(64 * 1024, 'b');
  int64_t written = 0;
  while (true) {
    const ssize_t n = ::write(fd, chunk.data(), chunk.size());
    if (n <= 0) break;
    written += n;
  }
  ::close(fd);
  return written;
}

// The issue's storage fault: the inbox's disk fills while messages arrive, then space comes back.
// Without a restart: nothing is acked SUCCESS that is not committed, /readyz says why it is not
// ready while commits fail and is ready again after, and every message is delivered exactly once.
TEST_F(HardeningE2ETest, DiskFullThenFreedDeliversEverythingOnceWithoutRestartAndReadyzFlips) {
  const std::string disk = dir_ + "/disk";
  auto mount = MountSmallDisk(disk);
  ASSERT_TRUE(mount->ok()) << "this test needs a small tmpfs to fill (mount -t tmpfs, as root): " << mount->error();
  auto sim = SimProcess::Start(dir_, clienttest::SimArgsForApp(Keys(), kApp, /*cert_mode=*/false, nullptr));
  ASSERT_TRUE(sim);
  const std::string config = dir_ + "/alipay-msgd.yaml";
  WriteFile(config, AppYaml(Mode::kKey, *sim, false) + "inbox:\n  path: " + disk +
                        "/inbox.db\nadmin:\n  listen: 127.0.0.1:0\n"
                        "retry:\n  max-attempts: 1000\n  initial-backoff-ms: 20\n  max-backoff-ms: 200\n" +
                        JsonlSinkYaml(jsonl_));
  auto daemon = StartDaemon(config);
  ASSERT_TRUE(daemon);

  std::vector<std::string> ids;
  const std::string content = R"({"mini_app_id":"2021","padding":")" + std::string(2000, 'p') + "\"}";
  for (int i = 0; i < 20; ++i) ids.push_back(sim->AddMessage(kApp, kApi, content));
  ASSERT_TRUE(WaitUntil([&] { return LineCount(jsonl_) == ids.size(); }, seconds(30)));

  const std::string ballast = disk + "/ballast";
  ASSERT_GT(FillDisk(ballast), 0);
  // Messages keep coming; soon a commit needs space that is not there.
  std::string not_ready;
  const auto give_up = std::chrono::steady_clock::now() + seconds(60);
  while (std::chrono::steady_clock::now() < give_up) {
    for (int i = 0; i < 20; ++i) ids.push_back(sim->AddMessage(kApp, kApi, content));
    auto readyz = daemon->Admin("/readyz");
    if (readyz.status == 503) {
      not_ready = readyz.body;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(not_ready.empty()) << "the inbox never reported that it cannot commit\n" << daemon->Log().substr(0, 20000);
  EXPECT_NE(not_ready.find("cannot commit"), std::string::npos) << not_ready;
  EXPECT_NE(not_ready.find("full"), std::string::npos) << not_ready;
  EXPECT_TRUE(WaitUntil([&] { return sim->Stat("acked.FAIL") > 0; }, seconds(30))) << "no store failed";

  ASSERT_EQ(::unlink(ballast.c_str()), 0);
  EXPECT_TRUE(WaitUntil([&] { return daemon->Ready(); }, seconds(30))) << daemon->Admin("/readyz").body;
  EXPECT_TRUE(WaitUntil([&] { return LineCount(jsonl_) >= ids.size(); }, seconds(60)))
      << LineCount(jsonl_) << " of " << ids.size() << " delivered\n" << daemon->Log().substr(0, 20000);
  std::map<std::string, int> seen;
  for (const json::object& line : JsonlLines(jsonl_)) ++seen[std::string(line.at("msg_id").as_string())];
  for (const std::string& id : ids) EXPECT_EQ(seen[id], 1) << id;
  EXPECT_EQ(seen.size(), ids.size());
  EXPECT_TRUE(WaitUntil([&] {
    return daemon->Metric("alipaymsg_inbox_messages{state=\"in_flight\"}") == 0 &&
           daemon->Metric("alipaymsg_inbox_messages{state=\"pending\"}") == 0;
  }));
  EXPECT_EQ(sim->Stat("acked_messages"), static_cast<int64_t>(ids.size()));
  EXPECT_EQ(daemon->Stop(), 0) << daemon->Log().substr(0, 20000);
}

// The other half of the storage fault: results that cannot be recorded. Messages are stored and
// being handled when the disk fills; their results fail to commit and are recorded again, without a
// restart and without running the handler twice, once space comes back.
TEST_F(HardeningE2ETest, ResultsThatFailToCommitAreRecordedOnceSpaceReturns) {
  const std::string disk = dir_ + "/disk";
  auto mount = MountSmallDisk(disk);
  ASSERT_TRUE(mount->ok()) << "this test needs a small tmpfs to fill (mount -t tmpfs, as root): " << mount->error();
  auto sim = SimProcess::Start(dir_, clienttest::SimArgsForApp(Keys(), kApp, /*cert_mode=*/false, nullptr));
  ASSERT_TRUE(sim);
  // A handler held at a gate that records each run outside the inbox's disk.
  const std::string handled = dir_ + "/handled.txt";
  const std::string gate = dir_ + "/slow";
  WriteFile(gate, "");
  const std::string script =
      WriteScript(dir_ + "/sink.sh", "while [ -e '" + gate + "' ]; do sleep 0.05; done\necho \"$ALIPAY_MSG_ID\" >> '" +
                                         handled + "'\n");
  const std::string config = dir_ + "/alipay-msgd.yaml";
  WriteFile(config, AppYaml(Mode::kKey, *sim, false) + "inbox:\n  path: " + disk +
                        "/inbox.db\nadmin:\n  listen: 127.0.0.1:0\n"
                        "retry:\n  max-attempts: 1000\n  initial-backoff-ms: 20\n  max-backoff-ms: 200\n"
                        "sinks:\n  - match: \"*\"\n    exec: [\"" + script + "\"]\n");
  auto daemon = StartDaemon(config);
  ASSERT_TRUE(daemon);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(sim->AddMessage(kApp, kApi, R"({"n":)" + std::to_string(i) + "}"));
  // All four stored, acked and in the handler's hands (it waits for the gate).
  ASSERT_TRUE(WaitUntil([&] {
    return sim->Stat("acked_messages") == 4 && daemon->Metric("alipaymsg_inbox_messages{state=\"in_flight\"}") == 4;
  })) << daemon->Log();

  const std::string ballast = disk + "/ballast";
  ASSERT_GT(FillDisk(ballast), 0);
  ::unlink(gate.c_str());  // the handlers finish now; their results need space to commit
  ASSERT_TRUE(WaitUntil([&] { return clienttest::ReadFile(handled).size() >= 4 * ids[0].size(); }));
  std::string not_ready;
  ASSERT_TRUE(WaitUntil([&] {
    auto readyz = daemon->Admin("/readyz");
    not_ready = readyz.body;
    return readyz.status == 503;
  })) << "the inbox never reported that it cannot commit: " << not_ready << "\n" << daemon->Log();
  EXPECT_NE(not_ready.find("full"), std::string::npos) << not_ready;

  ASSERT_EQ(::unlink(ballast.c_str()), 0);
  EXPECT_TRUE(WaitUntil([&] {
    return daemon->Metric("alipaymsg_inbox_messages{state=\"done\"}") == 4 &&
           daemon->Metric("alipaymsg_inbox_messages{state=\"in_flight\"}") == 0;
  }, seconds(30))) << daemon->Metrics().size() << "\n" << daemon->Log();
  EXPECT_TRUE(WaitUntil([&] { return daemon->Ready(); })) << daemon->Admin("/readyz").body;
  // Each handled once: the results were recorded again, the handlers not run again.
  const std::vector<std::string> runs = Lines(clienttest::ReadFile(handled));
  EXPECT_EQ(runs.size(), 4u) << clienttest::ReadFile(handled);
  for (const std::string& id : ids) EXPECT_EQ(std::count(runs.begin(), runs.end(), id), 1) << id;
  EXPECT_EQ(daemon->Stop(), 0) << daemon->Log().substr(0, 20000);
}

testing::ProcessResult Cli(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {testing::BinDir() + "/alipay-msg"};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::RunProcess(argv);
}

// Overwrites `bytes` bytes at the middle of `path` (page-aligned) with garbage, as a bad disk might.
void Damage(const std::string& path, size_t bytes) {
  const int64_t size = FileSize(path);
  ASSERT_GT(size, static_cast<int64_t>(4 * bytes)) << path;
  const off_t at = static_cast<off_t>((size / 2) / 4096 * 4096);
  std::string garbage(bytes, '\0');
  uint32_t x = 2463534242u;
  for (char& c : garbage) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    c = static_cast<char>(x);
  }
  const int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0) << path;
  EXPECT_EQ(::pwrite(fd, garbage.data(), garbage.size(), at), static_cast<ssize_t>(garbage.size()));
  ::close(fd);
}

// A damaged inbox is refused at start with a message that says so and what to do; `inbox check`
// reports the damage; the README's recovery keeps what can be read, and the daemon runs on it.
TEST_F(HardeningE2ETest, CorruptInboxIsRefusedAtStartReportedByCheckAndRecoverable) {
  auto sim = SimProcess::Start(dir_, clienttest::SimArgsForApp(Keys(), kApp, /*cert_mode=*/false, nullptr));
  ASSERT_TRUE(sim);
  const std::string config = dir_ + "/alipay-msgd.yaml";
  WriteFile(config, AppYaml(Mode::kKey, *sim, false) + CommonYaml(dir_) + JsonlSinkYaml(jsonl_));
  const std::string inbox = dir_ + "/inbox.db";
  {
    auto daemon = StartDaemon(config);
    ASSERT_TRUE(daemon);
    constexpr int kMessages = 3000;
    sim->AddMessages(kApp, kApi, R"({"mini_app_id":"2021","note":"fills a few hundred pages"})", kMessages);
    ASSERT_TRUE(WaitUntil([&] { return LineCount(jsonl_) == kMessages; }, seconds(60))) << LineCount(jsonl_);
    ASSERT_EQ(daemon->Stop(), 0) << daemon->Log();
  }
  ASSERT_EQ(FileSize(inbox + "-wal"), 0) << "the log was not checkpointed into the file at stop";
  auto sound = Cli({"inbox", "check", "--config", config});
  ASSERT_EQ(sound.exit_code, 0) << sound.out << sound.err;
  EXPECT_NE(sound.out.find(": ok"), std::string::npos) << sound.out;

  Damage(inbox, 4096);

  DaemonExit refused = RunDaemonToExit(config, dir_ + "/refused.log");
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_NE(refused.output.find("the inbox " + inbox + " is corrupt"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("alipay-msg inbox check"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find(".dump"), std::string::npos) << refused.output;
  EXPECT_EQ(refused.output.find("admin on"), std::string::npos) << "it must not start: " << refused.output;

  auto checked = Cli({"inbox", "check", "--config", config});
  EXPECT_EQ(checked.exit_code, 1) << checked.out << checked.err;
  EXPECT_NE(checked.out.find("is corrupt"), std::string::npos) << checked.out << checked.err;

  // The README's recovery: what .dump can read, into a new file that then replaces the damaged one.
  const std::string recovered = dir_ + "/recovered.db";
  auto recover = testing::RunProcess(
      {"/bin/sh", "-c", "sqlite3 '" + inbox + "' .dump | sed 's/^ROLLBACK; -- due to errors$/COMMIT;/' | sqlite3 '" +
                            recovered + "'"});
  ASSERT_EQ(recover.exit_code, 0) << recover.err;
  ASSERT_EQ(::rename(inbox.c_str(), (dir_ + "/damaged.db").c_str()), 0);
  ASSERT_EQ(::rename(recovered.c_str(), inbox.c_str()), 0);
  ::unlink((inbox + "-shm").c_str());
  auto recovered_check = Cli({"inbox", "check", "--config", config});
  EXPECT_EQ(recovered_check.exit_code, 0) << recovered_check.out << recovered_check.err;
  auto daemon = StartDaemon(config);
  ASSERT_TRUE(daemon);
  auto stats = Cli({"inbox", "stats", "--config", config, "--json"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const json::object counts = json::parse(stats.out).as_object();
  // A 4 KB page holds a few dozen messages: the rest are all kept.
  EXPECT_GE(counts.at("total").as_int64(), 3000 - 100) << stats.out;
  EXPECT_EQ(daemon->Stop(), 0) << daemon->Log();
}

}  // namespace
}  // namespace alipaymsg::daemontest
