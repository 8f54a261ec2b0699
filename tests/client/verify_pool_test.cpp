// The verify pool (ClientOptions::verify_threads): the WorkPool itself, and the client against the
// real simulator with verification inline (0) and on 1 and 4 threads: every message stored before
// its ack and dispatched once whatever order the workers finish in, bad signatures audited and
// answered FAIL, backpressure counting frames still being verified, and a stop that drains them.
// (The other client e2e tests run with the default, min(hardware threads, 4) verify threads.)
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "alipaymsg/client.h"
#include "alipaymsg/credentials.h"
#include "alipaymsg/dispatcher.h"
#include "alipaymsg/inbox.h"
#include "alipaymsg/router.h"
#include "receiver/wiring.h"
#include "client/work_pool.h"
#include "sim_process.h"
#include "testing/test_paths.h"

namespace alipaymsg::clienttest {
namespace {

using std::chrono::milliseconds;
using client::WorkPool;

// ---- WorkPool -------------------------------------------------------------------------------------

TEST(WorkPoolTest, StartsNoThreadUntilTheFirstJobAndNeverMoreThanAsked) {
  WorkPool pool(3);
  EXPECT_EQ(pool.started(), 0u);
  std::atomic<int> done{0};
  std::mutex gate;
  std::unique_lock hold(gate);  // keeps every worker busy, so each new job wants another worker
  for (int i = 0; i < 20; ++i) {
    pool.Submit([&] {
      std::lock_guard wait(gate);
      ++done;
    });
  }
  EXPECT_GE(pool.started(), 1u);
  EXPECT_LE(pool.started(), 3u);
  hold.unlock();
  pool.Shutdown();
  EXPECT_EQ(done.load(), 20);
}

TEST(WorkPoolTest, ShutdownRunsEveryQueuedJobAndLaterJobsRunOnTheCaller) {
  WorkPool pool(2);
  std::atomic<int> done{0};
  for (int i = 0; i < 1000; ++i) pool.Submit([&] { ++done; });
  pool.Shutdown();
  EXPECT_EQ(done.load(), 1000);
  const auto caller = std::this_thread::get_id();
  std::thread::id ran_on;
  pool.Submit([&] { ran_on = std::this_thread::get_id(); });
  EXPECT_EQ(ran_on, caller);
}

TEST(WorkPoolTest, JobsRunConcurrently) {
  WorkPool pool(2);
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  bool both = false;
  for (int i = 0; i < 2; ++i) {
    pool.Submit([&] {
      std::unique_lock lock(mu);
      ++arrived;
      cv.notify_all();
      // Each job waits for the other: only two threads running them at once get both through.
      both = cv.wait_for(lock, std::chrono::seconds(20), [&] { return arrived == 2; });
    });
  }
  pool.Shutdown();
  EXPECT_TRUE(both);
  EXPECT_EQ(pool.started(), 2u);
}

TEST(WorkPoolTest, IdleWorkersLeaveAndTheNextJobStartsOneAgain) {
  WorkPool pool(2, "worker", milliseconds(50));
  std::atomic<int> done{0};
  pool.Submit([&] { ++done; });
  EXPECT_TRUE(WaitUntil([&] { return done.load() == 1; }));
  EXPECT_EQ(pool.started(), 1u);
  // Quiet for longer than idle_exit: the worker leaves.
  EXPECT_TRUE(WaitUntil([&] { return pool.live() == 0; }, std::chrono::seconds(10)));
  // The next job still runs on a worker, a new one, not on the caller.
  const auto caller = std::this_thread::get_id();
  std::atomic<bool> on_caller{true};
  pool.Submit([&] {
    on_caller = std::this_thread::get_id() == caller;
    ++done;
  });
  EXPECT_TRUE(WaitUntil([&] { return done.load() == 2; }));
  EXPECT_FALSE(on_caller.load());
  EXPECT_EQ(pool.started(), 2u);
  EXPECT_LE(pool.live(), 1u);
  pool.Shutdown();  // joins the one that left too
  EXPECT_EQ(pool.live(), 0u);
}

// ---- The client with 0, 1 and 4 verify threads ----------------------------------------------------

constexpr const char* kApp = "2021000000000001";
constexpr const char* kApi = "alipay.open.mini.order.changed";

const SimKeys& Keys() { return SharedKeys(kApp); }

// Inbox + dispatcher counting handler calls + client, on one inbox file (reopened by a second
// Receiver after the first one stopped).
class Receiver {
 public:
  Receiver(const std::string& dir, int verify_threads, int max_in_flight) {
    auto inbox = OpenSqliteInbox(dir + "/inbox.db");
    EXPECT_TRUE(inbox.ok()) << inbox.status().ToString();
    if (!inbox.ok()) return;
    inbox_ = std::move(*inbox);
    Router router;
    EXPECT_TRUE(router
                    .On("*",
                        [this](MessageView& m) {
                          std::lock_guard lock(mu_);
                          ++handled_[m.msg_id()];
                          return HandlerOutcome::Done();
                        })
                    .ok());
    DispatcherOptions dispatch_options;
    dispatch_options.threads = 2;
    dispatcher_ = std::make_unique<Dispatcher>(*inbox_, std::move(router), dispatch_options);
    EXPECT_TRUE(dispatcher_->Start().ok());
    ClientOptions options;
    options.verify_threads = verify_threads;
    options.max_in_flight = max_in_flight;
    options.ping_interval = milliseconds(200);
    options.pong_timeout = milliseconds(3000);
    options.backoff.initial = milliseconds(50);
    options.backoff.cap = milliseconds(400);
    options.backoff.min_delay = milliseconds(20);
    options.inbox = inbox_.get();
    UseDispatcher(options, *dispatcher_);
    options.logger = [this](LogLevel level, std::string_view line) {
      if (level < LogLevel::kWarn) return;
      std::lock_guard lock(mu_);
      log_ += std::string(line) + "\n";
    };
    auto client = Client::Create(std::move(options));
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    if (client.ok()) client_ = std::move(*client);
  }
  ~Receiver() { Shutdown(); }

  bool Connect(const SimProcess& sim) {
    AppOptions app;
    app.credentials = KeyModeCredentials(Keys(), kApp);
    app.server_host = sim.listen();
    app.tls = false;
    if (!client_ || !client_->AddApp(std::move(app)).ok()) return false;
    client_->Start();
    return WaitUntil([&] { return client_->AllConnected(); });
  }
  void Shutdown() {
    if (client_) client_->StopAndWait();
    if (dispatcher_) {
      dispatcher_->WaitIdle(std::chrono::seconds(10));
      dispatcher_->Stop();
    }
    if (inbox_) inbox_->Close();
    client_.reset();
    dispatcher_.reset();
    inbox_.reset();
  }

  ConnectionStats Stats() { return client_->Stats(kApp).value_or(ConnectionStats{}); }
  Client& client() { return *client_; }
  Inbox& inbox() { return *inbox_; }
  std::map<std::string, int> Handled() {
    std::lock_guard lock(mu_);
    return handled_;
  }
  std::string Log() {
    std::lock_guard lock(mu_);
    return log_;
  }

 private:
  std::unique_ptr<Inbox> inbox_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<Client> client_;
  std::mutex mu_;
  std::map<std::string, int> handled_;
  std::string log_;
};

std::string Content(int bytes) {
  std::string c = R"({"order_id":"20240506123456789012","status":"PAID","note":"中文 {x} \"q\"","memo":")";
  while (static_cast<int>(c.size()) + 2 < bytes) c += "x";
  return c + "\"}";
}

std::vector<std::string> SimArgs() {
  return {"--alipay-private-key", Keys().alipay_private_key, "--app",
          std::string(kApp) + "=" + Keys().app_public_key, "--redelivery-scale", "0.001",
          "--log-level", "warn"};
}

class VerifyPoolTest : public ::testing::TestWithParam<int> {};

// Many messages of several sizes through a small in-flight window, with forged signatures and
// duplicate deliveries mixed in: each message is stored before its ack, dispatched exactly once,
// and no forged delivery reaches a handler, however the verify threads interleave.
TEST_P(VerifyPoolTest, EveryMessageOnceForgeriesFailedWhateverTheCompletionOrder) {
  const std::string dir = testing::MakeTempDir("verify-pool");
  auto sim = SimProcess::Start(dir, SimArgs());
  ASSERT_TRUE(sim);
  Receiver r(dir, GetParam(), /*max_in_flight=*/16);
  ASSERT_TRUE(r.Connect(*sim)) << r.Log();
  // Duplicates first, forgeries later, so that no forged frame is also sent twice.
  sim->Fault(R"({"kind":"duplicate","count":9})");
  std::vector<std::string> ids = sim->AddMessages(kApp, kApi, Content(300), 200);
  ASSERT_TRUE(WaitUntil([&] { return sim->Stat("acked_messages") == 200; }, std::chrono::seconds(60)))
      << r.Log();
  sim->Fault(R"({"kind":"bad_signature","count":7})");
  for (int size : {1000, 2000}) {
    auto batch = sim->AddMessages(kApp, kApi, Content(size), 200);
    ids.insert(ids.end(), batch.begin(), batch.end());
  }
  ASSERT_EQ(ids.size(), 600u);
  ASSERT_TRUE(WaitUntil([&] { return sim->Stat("acked_messages") == 600; }, std::chrono::seconds(60)))
      << r.Log();
  ASSERT_TRUE(WaitUntil([&] { return r.Handled().size() == 600; })) << r.Log();
  // Every message done, none pending or in flight, nothing left to deliver: a double dispatch
  // would have to come from one of these.
  ASSERT_TRUE(WaitUntil([&] {
    auto stats = r.inbox().Stats();
    return sim->Stat("pending") == 0 && stats.ok() && stats->done == 600 && stats->pending == 0 &&
           stats->in_flight == 0;
  })) << r.Log();
  auto handled = r.Handled();
  for (const auto& id : ids) EXPECT_EQ(handled[id], 1) << "msg " << id;
  EXPECT_EQ(handled.size(), 600u);

  ConnectionStats s = r.Stats();
  EXPECT_EQ(s.signature_failures, 7);
  EXPECT_EQ(s.acks_fail, 7);
  EXPECT_EQ(s.stored_new, 600);
  // At least the 9 doubled frames; more when an ack took longer than the simulator's shrunk
  // (120 ms) redelivery delay on a loaded machine.
  EXPECT_GE(s.duplicates, 9);
  EXPECT_EQ(s.malformed_frames, 0);
  EXPECT_LE(s.in_flight, 16);
  // The FAIL acks may still be on their way when the redelivered copies are already acked SUCCESS.
  EXPECT_TRUE(WaitUntil([&] { return sim->Stat("acked.FAIL") >= 7; })) << r.Log();
  EXPECT_EQ(sim->Stat("acked.FAIL"), 7);
  auto inbox_stats = r.inbox().Stats();
  ASSERT_TRUE(inbox_stats.ok());
  EXPECT_EQ(inbox_stats->rejected, 7);
  // Every acked message is in the inbox (ack only after the commit).
  for (size_t i = 0; i < ids.size(); i += 37) {
    auto stored = r.inbox().Get(kApp, ids[i]);
    ASSERT_TRUE(stored.ok() && stored->has_value()) << ids[i];
  }
}

// Stop while frames are being verified: the stop waits for them, so every frame read was answered
// before the close (none left in flight, none acked after its link went away), every SUCCESS the
// simulator saw is in the inbox, and a second receiver on the same inbox finishes the rest once.
TEST_P(VerifyPoolTest, StopDrainsFramesStillBeingVerified) {
  const std::string dir = testing::MakeTempDir("verify-pool-stop");
  auto sim = SimProcess::Start(dir, SimArgs());
  ASSERT_TRUE(sim);
  std::vector<std::string> ids;
  {
    Receiver r(dir, GetParam(), /*max_in_flight=*/64);
    ASSERT_TRUE(r.Connect(*sim)) << r.Log();
    ids = sim->AddMessages(kApp, kApi, Content(1500), 3000);
    ASSERT_TRUE(WaitUntil([&] { return r.Stats().received >= 200; }, std::chrono::seconds(60)));
    r.client().StopAndWait();
    ConnectionStats s = r.Stats();
    EXPECT_EQ(s.state, ConnectionState::kStopped);
    EXPECT_EQ(s.in_flight, 0);
    EXPECT_EQ(s.received, s.acks_success + s.acks_fail) << "frames read but never answered";
    EXPECT_EQ(s.acks_unsent, 0);
    EXPECT_EQ(s.acks_fail, 0);
    for (const auto& id : ids) {
      auto m = sim->Get("/messages/" + id);
      if (m.at("state").as_string() != "acked") continue;
      auto stored = r.inbox().Get(kApp, id);
      ASSERT_TRUE(stored.ok() && stored->has_value()) << "acked but not stored: " << id;
    }
    r.Shutdown();
  }
  Receiver again(dir, GetParam(), /*max_in_flight=*/64);
  ASSERT_TRUE(again.Connect(*sim)) << again.Log();
  ASSERT_TRUE(WaitUntil([&] { return sim->Stat("acked_messages") == 3000; }, std::chrono::seconds(90)))
      << again.Log();
  // Dispatch across both receivers: each stored message exactly once in the inbox, done.
  ASSERT_TRUE(WaitUntil([&] {
    auto stats = again.inbox().Stats();
    return stats.ok() && stats->done == 3000;
  })) << again.Log();
  auto stats = again.inbox().Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->pending + stats->in_flight + stats->dead, 0);
}

INSTANTIATE_TEST_SUITE_P(VerifyThreads, VerifyPoolTest, ::testing::Values(0, 1, 4),
                         [](const auto& info) { return "Threads" + std::to_string(info.param); });

}  // namespace
}  // namespace alipaymsg::clienttest
