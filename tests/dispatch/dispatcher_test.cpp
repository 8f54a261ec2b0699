#include "alipaymsg/dispatcher.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "inbox/scoped_temp_dir.h"
#include "testing/wait.h"

namespace alipaymsg {
namespace {

using namespace std::chrono_literals;

const std::string kApp = "2021000000000001";

// Threads of this process named `name` (/proc/self/task/*/comm).
int ThreadsNamed(const std::string& name) {
  int n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    if (std::getline(comm, line) && line == name) ++n;
  }
  return n;
}

InboundMessage Msg(const std::string& msg_id,
                   const std::string& msg_api = "alipay.open.mini.version.audit.passed") {
  InboundMessage m;
  m.app_id = kApp;
  m.msg_id = msg_id;
  m.msg_api = msg_api;
  m.biz_content = R"({"id":")" + msg_id + R"("})";
  m.channel = "websocket";
  m.received_at_ms = 1;
  return m;
}

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/inbox.db";
    auto inbox = OpenSqliteInbox(path_);
    ASSERT_TRUE(inbox.ok()) << inbox.status().ToString();
    inbox_ = std::move(*inbox);
    options_.clock = &clock_;
    options_.random = [] { return 0.5; };
    options_.threads = 2;
    options_.poll_interval = 60s;  // the tests wake the dispatcher explicitly
  }

  StoredMessage Get(const std::string& msg_id) {
    auto got = inbox_->Get(kApp, msg_id);
    EXPECT_TRUE(got.ok() && got->has_value()) << msg_id;
    return got.ok() && got->has_value() ? **got : StoredMessage{};
  }

  void Store(std::vector<InboundMessage> batch) { ASSERT_TRUE(inbox_->Store(std::move(batch)).ok()); }

  // Notify() and wait until nothing is due.
  void Settle(Dispatcher& d) {
    d.Notify();
    ASSERT_TRUE(d.WaitIdle(10s)) << "dispatcher did not settle";
  }

  testing::ScopedTempDir dir_{"dispatch-test"};
  std::string path_;
  std::unique_ptr<Inbox> inbox_;
  ManualClock clock_{1'000'000};
  DispatcherOptions options_;
};

TEST_F(DispatcherTest, HandlesEveryNewMessageOnceAndMarksItDone) {
  std::mutex mu;
  std::map<std::string, int> calls;
  Router router;
  ASSERT_TRUE(router
                  .On("*",
                      [&](MessageView& m) {
                        std::lock_guard lock(mu);
                        ++calls[m.msg_id()];
                        return HandlerOutcome::Done();
                      })
                  .ok());
  std::vector<InboundMessage> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(Msg("m" + std::to_string(i)));
  Store(batch);
  Store(batch);  // redelivered: absorbed by the inbox
  Dispatcher d(*inbox_, router, options_);
  ASSERT_TRUE(d.Start().ok());
  Settle(d);
  EXPECT_EQ(calls.size(), 50u);
  for (const auto& [id, n] : calls) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(inbox_->Stats()->done, 50);
  EXPECT_EQ(d.Stats().done, 50);
  EXPECT_EQ(d.Stats().handled, 50);
}

TEST_F(DispatcherTest, WorkersStartOnDemandUpToTheLimitAndStopWithIt) {
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
  bool release = false;
  Router router;
  ASSERT_TRUE(router
                  .On("*",
                      [&](MessageView& m) {
                        std::unique_lock lock(mu);
                        if (m.msg_id() == "first") return HandlerOutcome::Done();
                        ++running;
                        cv.wait(lock, [&] { return release; });
                        --running;
                        return HandlerOutcome::Done();
                      })
                  .ok());
  options_.threads = 4;
  Dispatcher d(*inbox_, router, options_);
  ASSERT_TRUE(d.Start().ok());
  Settle(d);
  EXPECT_EQ(ThreadsNamed("dispatch"), 0) << "an idle dispatcher holds no worker";
  EXPECT_EQ(ThreadsNamed("dispatch-timer"), 1);

  Store({Msg("first")});
  Settle(d);
  EXPECT_EQ(ThreadsNamed("dispatch"), 1) << "one message needs one worker";

  std::vector<InboundMessage> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(Msg("slow" + std::to_string(i)));
  Store(batch);
  d.Notify();
  ASSERT_TRUE(testing::WaitUntil([&] {
    std::lock_guard lock(mu);
    return running == 4;
  })) << "four slow handlers should run at once";
  EXPECT_EQ(ThreadsNamed("dispatch"), 4) << "never more workers than `threads`";
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  Settle(d);
  EXPECT_EQ(inbox_->Stats()->done, 11);
  d.Stop();
  // A joined thread can linger in /proc/self/task for a moment after pthread_join returns.
  EXPECT_TRUE(testing::WaitUntil([] { return ThreadsNamed("dispatch") == 0 && ThreadsNamed("dispatch-timer") == 0; }))
      << ThreadsNamed("dispatch") << " workers and " << ThreadsNamed("dispatch-timer") << " timers left after Stop";
}

TEST_F(DispatcherTest, WorkersLeaveAfterAQuietSpellAndTheNextMessageStartsOneAgain) {
  std::atomic<int> handled{0};
  Router router;
  ASSERT_TRUE(router
                  .On("*",
                      [&](MessageView&) {
                        std::this_thread::sleep_for(5ms);
                        ++handled;
                        return HandlerOutcome::Done();
                      })
                  .ok());
  options_.threads = 4;
  options_.worker_idle_exit = 100ms;
  options_.poll_interval = 50ms;  // the scheduler joins the ones that left at its next pass
  Dispatcher d(*inbox_, router, options_);
  ASSERT_TRUE(d.Start().ok());
  std::vector<InboundMessage> batch;
  for (int i = 0; i < 40; ++i) batch.push_back(Msg("burst" + std::to_string(i)));
  Store(batch);
  Settle(d);
  EXPECT_EQ(handled.load(), 40);
  EXPECT_GE(ThreadsNamed("dispatch"), 1);
  // A burst does not leave its workers behind.
  EXPECT_TRUE(testing::WaitUntil([] { return ThreadsNamed("dispatch") == 0; }, 10s))
      << ThreadsNamed("dispatch") << " workers still there";
  EXPECT_EQ(ThreadsNamed("dispatch-timer"), 1);

  Store({Msg("after")});
  Settle(d);
  EXPECT_EQ(handled.load(), 41);
  EXPECT_EQ(Get("after").state, MessageState::kDone);
  EXPECT_EQ(inbox_->Stats()->done, 41);
  d.Stop();
  EXPECT_TRUE(testing::WaitUntil([] { return ThreadsNamed("dispatch") == 0; }));
}

TEST_F(DispatcherTest, RetriesWithExponentialBackoffUntilDone) {
  std::vector<int> attempts_seen;
  std::mutex mu;
  Router router;
  ASSERT_TRUE(router
                  .On("alipay.open.mini.*",
                      [&](MessageView& m) {
                        std::lock_guard lock(mu);
                        attempts_seen.push_back(m.attempt());
                        return m.attempt() < 3 ? HandlerOutcome::RetryLater("downstream 503")
                                               : HandlerOutcome::Done();
                      })
                  .ok());
  options_.initial_backoff = 1000ms;
  options_.backoff_multiplier = 2.0;
  options_.jitter = 0.2;  // random() = 0.5: every delay is 0.9 of the nominal one
  Store({Msg("m1")});
  Dispatcher d(*inbox_, router, options_);
  ASSERT_TRUE(d.Start().ok());
  Settle(d);
  const int64_t t0 = clock_.NowMs();
  StoredMessage m = Get("m1");
  EXPECT_EQ(m.state, MessageState::kPending);
  EXPECT_EQ(m.last_error, "downstream 503");
  EXPECT_EQ(m.next_attempt_at_ms, t0 + 900);

  clock_.Advance(899);
  Settle(d);
  EXPECT_EQ(attempts_seen.size(), 1u) << "not due yet";
  clock_.Advance(1);
  Settle(d);
  ASSERT_EQ(attempts_seen.size(), 2u);
  EXPECT_EQ(Get("m1").next_attempt_at_ms, t0 + 900 + 1800);
  clock_.Advance(1800);
  Settle(d);
  EXPECT_EQ(attempts_seen, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(Get("m1").state, MessageState::kDone);
  EXPECT_EQ(d.Stats().retried, 2);
}

TEST_F(DispatcherTest, BackoffGrowsIsCappedAndJittered) {
  options_.initial_backoff = 100ms;
  options_.max_backoff = 1000ms;
  options_.backoff_multiplier = 3.0;
  options_.jitter = 0.5;
  double r = 0.0;
  options_.random = [&r] { return r; };
  Dispatcher d(*inbox_, Router(), options_);
  EXPECT_EQ(d.Backoff(1), 100ms);
  EXPECT_EQ(d.Backoff(2), 300ms);
  EXPECT_EQ(d.Backoff(3), 900ms);
  EXPECT_EQ(d.Backoff(4), 1000ms);
  EXPECT_EQ(d.Backoff(40), 1000ms);
  r = 0.999999;
  EXPECT_EQ(d.Backoff(1), 50ms);
  EXPECT_EQ(d.Backoff(4), 500ms);
}

TEST_F(DispatcherTest, GivesUpAfterMaxAttemptsThenReplayRunsItAgain) {
  std::atomic<bool> healthy{false};
  std::atomic<int> calls{0};
  Router router;
  ASSERT_TRUE(router
                  .On("*",
                      [&](MessageView&) {
                        calls.fetch_add(1);
                        return healthy ? HandlerOutcome::Done()
                                       : HandlerOutcome::RetryLater("downstream 503", 0ms);
                      })
                  .ok());
  options_.max_attempts = 3;
  Store({Msg("m1")});
  Dispatcher d(*inbox_, router, options_);
  ASSERT_TRUE(d.Start().ok());
  Settle(d);
  EXPECT_EQ(calls.load(), 3);
  StoredMessage m = Get("m1");
  EXPECT_EQ(m.state, MessageState::kDead);
  EXPECT_EQ(m.last_error, "gave up after 3 attempts: downstream 503");
  EXPECT_EQ(d.Stats().dead, 1);

  healthy = true;
  ASSERT_EQ(*inbox_->Replay(kApp, std::string("m1"), clock_.NowMs()), 1);
  Settle(d);
  EXPECT_EQ(calls.load(), 4);
  EXPECT_EQ(Get("m1").state, MessageState::kDone);
}

TEST_F(DispatcherTest, AnExceptionCountsAsRetryLater) {
  std::atomic<int> calls{0};
  Router router;
  ASSERT_TRUE(router
                  .On("*",
                      [&](MessageView&) -> HandlerOutcome {
                        if (calls.fetch_add(1) == 0) throw std::runtime_error("boom");
                        return HandlerOutcome::Done();
                      })
                  .ok());
  options_.initial_backoff = 10ms;
  Store({Msg("m1")});
  Dispatcher d(*inbox_, router, options_);
  ASSERT_TRUE(d.Start().ok());
  Settle(d);
  StoredMessage m = Get("m1");
  EXPECT_EQ(m.state, MessageState::kPending);
  EXPECT_EQ(m.last_error, "handler threw: boom");
  clock_.Advance(10);
  Settle(d);
  EXPECT_EQ(Get("m1").state, MessageState::kDone);
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(DispatcherTest, RejectIsDeadAtOnceWithTheReason) {
  Router router;
  ASSERT_TRUE(router
                  .On("*",
                      [](MessageView& m) {
                        auto json = m.Json();
                        if (!json.ok()) return HandlerOutcome::Reject(json.status().message());
                        return HandlerOutcome::Done();
                      })
                  .ok());
  InboundMessage bad = Msg("m1");
  bad.biz_content = "not json";
  Store({bad});
  Dispatcher d(*inbox_, router, options_);
  ASSERT_TRUE(d.Start().ok());
  Settle(d);
  StoredMessage m = Get("m1");
  EXPECT_EQ(m.state, MessageState::kDead);
  EXPECT_EQ(m.attempts, 1);
  EXPECT_EQ(m.last_error.rfind("rejected by handler: bizContent of message m1", 0), 0u)
      << m.last_error;
}

TEST_F(DispatcherTest, UnknownMsgApiIsKeptUnhandledAndCanBeReplayedOnceAHandlerExists) {
  Router partial;
  ASSERT_TRUE(partial.On("alipay.open.mini.*", [](MessageView&) { return HandlerOutcome::Done(); })
                  .ok());
  Store({Msg("m1", "alipay.trade.refund.depositback.completed"), Msg("m2")});
  {
    Dispatcher d(*inbox_, partial, options_);
    ASSERT_TRUE(d.Start().ok());
    Settle(d);
    EXPECT_EQ(d.Stats().unhandled, 1);
  }
  StoredMessage m = Get("m1");
  EXPECT_EQ(m.state, MessageState::kUnhandled);
  EXPECT_NE(m.last_error.find("alipay.trade.refund.depositback.completed"), std::string::npos);
  EXPECT_EQ(Get("m2").state, MessageState::kDone);

  std::atomic<int> refunds{0};
  Router full = partial;
  ASSERT_TRUE(full.On("alipay.trade.refund.depositback.completed", [&](MessageView&) {
                    refunds.fetch_add(1);
                    return HandlerOutcome::Done();
                  })
                  .ok());
  Dispatcher d(*inbox_, full, options_);
  ASSERT_TRUE(d.Start().ok());
  Settle(d);
  EXPECT_EQ(refunds.load(), 0) << "unhandled stays put until replayed";
  ASSERT_EQ(*inbox_->Replay(std::nullopt, std::nullopt, clock_.NowMs()), 1);
  Settle(d);
  EXPECT_EQ(refunds.load(), 1);
  EXPECT_EQ(Get("m1").state, MessageState::kDone);
}

int64_t CountRows(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* stmt = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    n = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return n;
}

Status InsertEffect(InboxTransaction& tx, const std::string& msg_id) {
  auto* db = static_cast<sqlite3*>(tx.native());
  std::string sql = "INSERT INTO effects (msg_id) VALUES ('" + msg_id + "')";
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Internal(sqlite3_errmsg(db));
  }
  return Status::Ok();
}

TEST_F(DispatcherTest, TransactionalEffectsCommitWithDoneAndAFailedEffectIsARetry) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE effects (msg_id TEXT NOT NULL)", nullptr, nullptr,
                           nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  std::atomic<int> calls{0};
  Router router;
  ASSERT_TRUE(router
                  .On("*",
                      [&](MessageView& m) {
                        calls.fetch_add(1);
                        const std::string id = m.msg_id();
                        const bool fail = id == "flaky" && m.attempt() == 1;
                        m.InTransaction([id](InboxTransaction& tx) { return InsertEffect(tx, id); });
                        m.InTransaction([fail](InboxTransaction&) {
                          return fail ? Unavailable("ledger locked") : Status::Ok();
                        });
                        return HandlerOutcome::Done();
                      })
                  .ok());
  options_.initial_backoff = 10ms;
  Store({Msg("steady"), Msg("flaky")});
  Dispatcher d(*inbox_, router, options_);
  ASSERT_TRUE(d.Start().ok());
  Settle(d);
  EXPECT_EQ(CountRows(path_, "SELECT COUNT(*) FROM effects WHERE msg_id = 'steady'"), 1);
  EXPECT_EQ(CountRows(path_, "SELECT COUNT(*) FROM effects WHERE msg_id = 'flaky'"), 0)
      << "the first effect rolled back with the second";
  StoredMessage flaky = Get("flaky");
  EXPECT_EQ(flaky.state, MessageState::kPending);
  EXPECT_NE(flaky.last_error.find("ledger locked"), std::string::npos) << flaky.last_error;

  clock_.Advance(10);
  Settle(d);
  EXPECT_EQ(Get("flaky").state, MessageState::kDone);
  EXPECT_EQ(CountRows(path_, "SELECT COUNT(*) FROM effects WHERE msg_id = 'flaky'"), 1);
  EXPECT_EQ(calls.load(), 3);
}

// Each attempt (the message, its effects) must be freed once its result is committed: the soak run
// found every message with a transactional effect (the jsonl sink's) kept for the process's lifetime.
TEST_F(DispatcherTest, AnAttemptIsReleasedOnceItsResultIsCommitted) {
  auto token = std::make_shared<int>(0);
  Router router;
  ASSERT_TRUE(router
                  .On("*",
                      [&](MessageView& m) {
                        m.InTransaction([token](InboxTransaction&) { return Status::Ok(); });
                        return HandlerOutcome::Done();
                      })
                  .ok());
  Store({Msg("a"), Msg("b")});
  Dispatcher d(*inbox_, router, options_);
  ASSERT_TRUE(d.Start().ok());
  Settle(d);
  EXPECT_EQ(Get("a").state, MessageState::kDone);
  EXPECT_EQ(Get("b").state, MessageState::kDone);
  // The inbox drops its copy of the commit callback just after calling it: wait for that, bounded.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (token.use_count() > 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(token.use_count(), 1) << "the handlers' effects (and their attempts) are still held";
  d.Stop();
}

TEST_F(DispatcherTest, EffectsOfARetryOrRejectAreNotCommitted) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE effects (msg_id TEXT)", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  Router router;
  ASSERT_TRUE(router
                  .On("*",
                      [&](MessageView& m) {
                        const std::string id = m.msg_id();
                        m.InTransaction([id](InboxTransaction& tx) { return InsertEffect(tx, id); });
                        return id == "r" ? HandlerOutcome::RetryLater() : HandlerOutcome::Reject("no");
                      })
                  .ok());
  Store({Msg("r"), Msg("x")});
  Dispatcher d(*inbox_, router, options_);
  ASSERT_TRUE(d.Start().ok());
  Settle(d);
  EXPECT_EQ(CountRows(path_, "SELECT COUNT(*) FROM effects"), 0);
  EXPECT_EQ(Get("r").state, MessageState::kPending);
  EXPECT_EQ(Get("x").state, MessageState::kDead);
}

TEST_F(DispatcherTest, RunsAtMostThreadsHandlersAtOnce) {
  std::atomic<int> running{0}, peak{0}, calls{0};
  Router router;
  ASSERT_TRUE(router
                  .On("*",
                      [&](MessageView&) {
                        int now = running.fetch_add(1) + 1;
                        int seen = peak.load();
                        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
                        }
                        std::this_thread::sleep_for(5ms);
                        running.fetch_sub(1);
                        calls.fetch_add(1);
                        return HandlerOutcome::Done();
                      })
                  .ok());
  options_.threads = 3;
  std::vector<InboundMessage> batch;
  for (int i = 0; i < 30; ++i) batch.push_back(Msg("m" + std::to_string(i)));
  Store(batch);
  Dispatcher d(*inbox_, router, options_);
  ASSERT_TRUE(d.Start().ok());
  Settle(d);
  EXPECT_EQ(calls.load(), 30);
  EXPECT_EQ(peak.load(), 3);
}

TEST_F(DispatcherTest, NotifyWakesItAndStopFinishesRunningHandlers) {
  std::promise<void> started;
  std::atomic<int> calls{0};
  std::atomic<bool> finished{false};
  Router router;
  ASSERT_TRUE(router
                  .On("*",
                      [&](MessageView&) {
                        if (calls.fetch_add(1) == 0) started.set_value();
                        std::this_thread::sleep_for(300ms);
                        finished = true;
                        return HandlerOutcome::Done();
                      })
                  .ok());
  options_.claim_on_store = false;  // a store would hand m1 over itself (claim_on_store_test.cpp)
  Dispatcher d(*inbox_, router, options_);  // poll_interval 60 s: only Notify() can wake it
  ASSERT_TRUE(d.Start().ok());
  ASSERT_TRUE(d.WaitIdle(10s));
  Store({Msg("m1")});
  d.Notify();
  ASSERT_EQ(started.get_future().wait_for(10s), std::future_status::ready);
  d.Stop();
  EXPECT_TRUE(finished.load()) << "Stop returned before the running handler finished";
  EXPECT_EQ(Get("m1").state, MessageState::kDone) << "and its result was recorded";
  d.Stop();  // idempotent
}

TEST_F(DispatcherTest, WakesOnItsOwnWhenARetryFallsDue) {
  std::atomic<int> calls{0};
  std::promise<void> second;
  Router router;
  ASSERT_TRUE(router
                  .On("*",
                      [&](MessageView&) {
                        if (calls.fetch_add(1) == 0) return HandlerOutcome::RetryLater("once", 50ms);
                        second.set_value();
                        return HandlerOutcome::Done();
                      })
                  .ok());
  options_.clock = nullptr;  // the system clock: the retry timer must fire by itself
  Store({Msg("m1")});
  Dispatcher d(*inbox_, router, options_);
  ASSERT_TRUE(d.Start().ok());
  ASSERT_EQ(second.get_future().wait_for(10s), std::future_status::ready);
}

TEST_F(DispatcherTest, DispatchNowReportsTheHandlersResultForAckAfterHandle) {
  std::atomic<int> calls{0};
  Router router;
  ASSERT_TRUE(router
                  .On("alipay.open.mini.*",
                      [&](MessageView& m) {
                        calls.fetch_add(1);
                        return m.msg_id() == "fails" ? HandlerOutcome::RetryLater("503")
                                                     : HandlerOutcome::Done();
                      })
                  .ok());
  options_.claim_on_store = false;  // as the Receiver sets it for after-handle
  Dispatcher d(*inbox_, router, options_);
  ASSERT_TRUE(d.Start().ok());
  ASSERT_TRUE(d.WaitIdle(10s));  // asleep for poll_interval (60 s): only DispatchNow runs anything

  auto dispatch_now = [&](const InboundMessage& message) {
    StoredMessage stored;
    stored.message = message;
    std::promise<DispatchResult> promise;
    d.DispatchNow(stored, [&](DispatchResult r) { promise.set_value(r); });
    auto future = promise.get_future();
    EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
    return future.get();
  };
  Store({Msg("ok"), Msg("fails"), Msg("nobody", "alipay.trade.refund.depositback.completed")});
  EXPECT_EQ(dispatch_now(Msg("ok")).kind, DispatchResult::Kind::kDone);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(dispatch_now(Msg("ok")).kind, DispatchResult::Kind::kDone) << "redelivery: acked";
  EXPECT_EQ(calls.load(), 1) << "and not handled again";

  // Before "fails": a retry result wakes the scheduler, which would then claim "nobody" (pending and
  // due) itself, and a DispatchNow racing it gets "being handled" (a retry) instead.
  EXPECT_EQ(dispatch_now(Msg("nobody")).kind, DispatchResult::Kind::kUnhandled);
  EXPECT_EQ(dispatch_now(Msg("nobody")).kind, DispatchResult::Kind::kUnhandled);

  DispatchResult failed = dispatch_now(Msg("fails"));
  EXPECT_EQ(failed.kind, DispatchResult::Kind::kRetry);
  EXPECT_EQ(failed.error, "503");
  EXPECT_EQ(Get("fails").state, MessageState::kPending);
  // A redelivery while it waits for its retry runs it again at once.
  EXPECT_EQ(dispatch_now(Msg("fails")).kind, DispatchResult::Kind::kRetry);
  EXPECT_EQ(Get("fails").attempts, 2);
  DispatchResult absent = dispatch_now(Msg("never-stored"));
  EXPECT_EQ(absent.kind, DispatchResult::Kind::kRetry);
  EXPECT_NE(absent.error.find("not in the inbox"), std::string::npos);

  d.Stop();
  EXPECT_EQ(dispatch_now(Msg("ok")).kind, DispatchResult::Kind::kRetry);
}

TEST_F(DispatcherTest, AMessageInterruptedTooOftenGoesDead) {
  options_.max_attempts = 2;
  Store({Msg("poison")});
  inbox_.reset();
  for (int i = 0; i < 2; ++i) {  // two processes died while handling it
    auto inbox = OpenSqliteInbox(path_);
    ASSERT_TRUE(inbox.ok());
    ASSERT_EQ((*inbox)->Claim(1, clock_.NowMs())->size(), 1u);
  }
  inbox_ = std::move(OpenSqliteInbox(path_).value());
  std::atomic<int> calls{0};
  Router router;
  ASSERT_TRUE(router.On("*", [&](MessageView&) {
                      calls.fetch_add(1);
                      return HandlerOutcome::Done();
                    })
                  .ok());
  Dispatcher d(*inbox_, router, options_);
  ASSERT_TRUE(d.Start().ok());
  Settle(d);
  EXPECT_EQ(calls.load(), 0);
  StoredMessage m = Get("poison");
  EXPECT_EQ(m.state, MessageState::kDead);
  EXPECT_NE(m.last_error.find("interrupted"), std::string::npos) << m.last_error;
}

TEST_F(DispatcherTest, ReportsResultsAndSurvivesTheInboxGoingAway) {
  std::mutex mu;
  std::vector<std::pair<std::string, DispatchResult::Kind>> results;
  std::vector<Status> errors;
  options_.on_result = [&](const StoredMessage& m, const DispatchResult& r) {
    std::lock_guard lock(mu);
    results.emplace_back(m.message.msg_id, r.kind);
  };
  options_.on_error = [&](const Status& s) {
    std::lock_guard lock(mu);
    errors.push_back(s);
  };
  options_.poll_interval = 20ms;
  Router router;
  ASSERT_TRUE(router.On("alipay.open.*", [](MessageView&) { return HandlerOutcome::Done(); }).ok());
  Store({Msg("m1"), Msg("m2", "alipay.trade.x")});
  Dispatcher d(*inbox_, router, options_);
  ASSERT_TRUE(d.Start().ok());
  Settle(d);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(results.size(), 2u);
    EXPECT_TRUE(errors.empty());
  }
  inbox_->Close();  // wrong order, but it must not crash or hang: errors are reported
  for (int i = 0; i < 200 && d.Stats().errors == 0; ++i) std::this_thread::sleep_for(10ms);
  d.Stop();
  std::lock_guard lock(mu);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].code(), StatusCode::kUnavailable);
  EXPECT_NE(errors[0].message().find("claiming"), std::string::npos) << errors[0].ToString();
}

TEST_F(DispatcherTest, DispatchNowOnANeverStartedDispatcherIsAnsweredAtStop) {
  Store({Msg("m1")});
  std::promise<DispatchResult> answer;
  {
    Dispatcher d(*inbox_, Router(), options_);
    StoredMessage stored;
    stored.message = Msg("m1");
    d.DispatchNow(stored, [&](DispatchResult r) { answer.set_value(r); });
  }
  auto future = answer.get_future();
  ASSERT_EQ(future.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(future.get().kind, DispatchResult::Kind::kRetry);
  EXPECT_EQ(Get("m1").state, MessageState::kPending) << "nothing claimed, nothing lost";
}

TEST_F(DispatcherTest, RefusesUnusableOptions) {
  DispatcherOptions bad = options_;
  bad.threads = 0;
  EXPECT_EQ(Dispatcher(*inbox_, Router(), bad).Start().code(), StatusCode::kInvalidArgument);
  bad = options_;
  bad.jitter = 1.5;
  EXPECT_EQ(Dispatcher(*inbox_, Router(), bad).Start().code(), StatusCode::kInvalidArgument);
  bad = options_;
  bad.max_backoff = 1ms;
  bad.initial_backoff = 2ms;
  EXPECT_EQ(Dispatcher(*inbox_, Router(), bad).Start().code(), StatusCode::kInvalidArgument);
  Dispatcher twice(*inbox_, Router(), options_);
  ASSERT_TRUE(twice.Start().ok());
  EXPECT_FALSE(twice.Start().ok());
}

}  // namespace
}  // namespace alipaymsg
