#include "alipaymsg/inbox.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <iostream>
#include <latch>
#include <mutex>
#include <thread>

#include "inbox/inbox_backend.h"
#include "inbox/scoped_temp_dir.h"
#include "inbox/sqlite_query.h"
#include "testing/postgres_server.h"
#include "testing/wait.h"

namespace alipaymsg {
namespace {

using namespace std::chrono_literals;
using testing::Backend;
using testing::BackendName;
using testing::TestOptions;

InboundMessage Msg(const std::string& msg_id, const std::string& app_id = "2021000000000001",
                   const std::string& msg_api = "alipay.open.mini.version.audit.passed") {
  InboundMessage m;
  m.app_id = app_id;
  m.msg_id = msg_id;
  m.msg_api = msg_api;
  m.biz_content = R"({"mini_app_id":"2021","version":"0.0.1","msg_id":")" + msg_id + R"("})";
  m.channel = "websocket";
  m.received_at_ms = 1700000000000;
  return m;
}

DispatchResult Done() { return DispatchResult{DispatchResult::Kind::kDone, 0, ""}; }

// ---- SQLite only: the file, its owner lock, read-only opening, migrations, WAL ----

class InboxTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = dir_.path() + "/inbox.db"; }

  std::unique_ptr<Inbox> OpenInbox(SqliteInboxOptions options = {}) {
    auto inbox = OpenSqliteInbox(path_, options);
    EXPECT_TRUE(inbox.ok()) << inbox.status().ToString();
    return inbox.ok() ? std::move(*inbox) : nullptr;
  }

  void ExecSql(const std::string& sql) { testing::SqliteExec(path_, sql); }
  int64_t QueryInt(const std::string& sql) { return testing::SqliteQueryInt(path_, sql); }

  testing::ScopedTempDir dir_{"inbox-test"};
  std::string path_;
};

// A file written by a build with schema version 1 (biz content inside `messages`), frozen here as
// such files exist in the wild: opening it migrates in place and loses nothing.
TEST_F(InboxTest, MigratesAVersion1InboxKeepingEveryMessage) {
  ExecSql(R"sql(
    PRAGMA journal_mode=WAL;
    CREATE TABLE schema_version (version INTEGER NOT NULL);
    INSERT INTO schema_version (version) VALUES (1);
    CREATE TABLE messages (
      app_id TEXT NOT NULL, msg_id TEXT NOT NULL, msg_api TEXT NOT NULL, biz_content TEXT NOT NULL,
      channel TEXT NOT NULL, received_at_ms INTEGER NOT NULL, state TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, delivery_count INTEGER NOT NULL DEFAULT 1,
      next_attempt_at_ms INTEGER NOT NULL DEFAULT 0, updated_at_ms INTEGER NOT NULL,
      last_error TEXT NOT NULL DEFAULT '', PRIMARY KEY (app_id, msg_id));
    CREATE INDEX messages_by_state_due ON messages (state, next_attempt_at_ms);
    CREATE TABLE rejected (id INTEGER PRIMARY KEY, app_id TEXT NOT NULL, msg_id TEXT NOT NULL,
      msg_api TEXT NOT NULL, reason TEXT NOT NULL, raw_frame TEXT NOT NULL, channel TEXT NOT NULL,
      received_at_ms INTEGER NOT NULL);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO counters (name, value) VALUES ('duplicates', 5);
    INSERT INTO messages (rowid, app_id, msg_id, msg_api, biz_content, channel, received_at_ms,
                          state, attempts, delivery_count, next_attempt_at_ms, updated_at_ms, last_error)
    VALUES (3, 'a1', 'done-1', 'alipay.open.mini.version.audit.passed', '{"n":1}', 'websocket', 100,
            'done', 1, 2, 0, 110, ''),
           (7, 'a1', 'pending-2', 'alipay.open.mini.version.audit.rejected', '{"n":2,"s":"两"}',
            'notify', 200, 'pending', 2, 1, 0, 210, 'timeout'),
           (9, 'a2', 'dead-3', 'alipay.open.mini.version.online', '{"n":3}', 'websocket', 300,
            'dead', 5, 1, 0, 310, 'exit status 1');
  )sql");
  auto inbox = OpenInbox();
  ASSERT_NE(inbox, nullptr);
  EXPECT_EQ(QueryInt("SELECT MAX(version) FROM schema_version"), 2);
  EXPECT_EQ(QueryInt("SELECT id FROM messages WHERE msg_id = 'pending-2'"), 7);  // ids kept
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM message_bodies"), 3);

  auto dead = inbox->Get("a2", "dead-3");
  ASSERT_TRUE(dead.ok() && dead->has_value());
  EXPECT_EQ((*dead)->message.biz_content, R"({"n":3})");
  EXPECT_EQ((*dead)->state, MessageState::kDead);
  EXPECT_EQ((*dead)->attempts, 5);
  EXPECT_EQ((*dead)->last_error, "exit status 1");
  EXPECT_EQ((*dead)->message.received_at_ms, 300);

  auto stored = inbox->Store({Msg("done-1", "a1"), Msg("new-4", "a1")});
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(*stored, (std::vector<StoreOutcome>{StoreOutcome::kDuplicate, StoreOutcome::kNew}));
  EXPECT_GT(QueryInt("SELECT id FROM messages WHERE msg_id = 'new-4'"), 9);

  auto claimed = inbox->Claim(10, 1000);
  ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].message.msg_id, "pending-2");
  EXPECT_EQ((*claimed)[0].message.biz_content, R"({"n":2,"s":"两"})");
  EXPECT_EQ((*claimed)[0].message.channel, "notify");
  EXPECT_EQ((*claimed)[0].delivery_count, 1);
  EXPECT_EQ((*claimed)[1].message.biz_content, Msg("new-4").biz_content);

  auto stats = inbox->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->duplicates, 6);
  EXPECT_EQ(stats->done, 1);
  EXPECT_EQ(stats->in_flight, 2);
  EXPECT_EQ(stats->dead, 1);
}

TEST_F(InboxTest, UsesWalJournal) {
  auto inbox = OpenInbox();
  ASSERT_TRUE(inbox->Store({Msg("m1")}).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(InboxTest, ReadOnlyOpenInspectsWithoutWritingOrRecovering) {
  SqliteInboxOptions read_only;
  read_only.read_only = true;
  auto missing = OpenSqliteInbox(path_, read_only);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(path_), std::string::npos) << missing.status().ToString();
  {
    auto crashed = OpenInbox();
    ASSERT_TRUE(crashed->Store({Msg("m1"), Msg("m2")}).ok());
    ASSERT_EQ(crashed->Claim(1, 0)->size(), 1u);  // "dies" with m1 in flight, lock released
  }
  auto inspector = OpenInbox(read_only);
  ASSERT_TRUE(inspector);
  EXPECT_EQ(inspector->Stats()->in_flight, 1) << "a read-only opener must not run crash recovery";
  EXPECT_EQ(inspector->List(std::nullopt, 10)->size(), 2u);
  EXPECT_EQ(inspector->Store({Msg("m3")}).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(inspector->Claim(1, 0).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(inspector->Replay(std::nullopt, std::nullopt, 0).status().code(), StatusCode::kUnavailable);
  // It took no owner lock: a daemon starting now still becomes the owner and recovers m1.
  auto daemon = OpenInbox();
  EXPECT_EQ(daemon->Stats()->in_flight, 0);
  EXPECT_EQ(inspector->Stats()->pending, 2);
}

TEST_F(InboxTest, ReadOnlyOpenRefusesAFileThatIsNotAnInbox) {
  ExecSql("CREATE TABLE other (x INTEGER)");
  SqliteInboxOptions read_only;
  read_only.read_only = true;
  auto inbox = OpenSqliteInbox(path_, read_only);
  ASSERT_FALSE(inbox.ok());
  EXPECT_NE(inbox.status().message().find("not an alipay-msg inbox"), std::string::npos)
      << inbox.status().ToString();
}

TEST_F(InboxTest, AnOpenerThatMayNotOwnNeverResetsInFlightMessages) {
  {
    auto crashed = OpenInbox();
    ASSERT_TRUE(crashed->Store({Msg("m1"), Msg("dead")}).ok());
    ASSERT_EQ(crashed->Claim(2, 0)->size(), 2u);
    ASSERT_TRUE(crashed->Complete("2021000000000001", "dead",
                                  DispatchResult{DispatchResult::Kind::kDead, 0, "gave up"}, 0).ok());
  }
  SqliteInboxOptions guest;
  guest.may_own = false;
  auto cli = OpenInbox(guest);  // e.g. `alipay-msg inbox replay` while a daemon may be starting
  EXPECT_EQ(cli->Stats()->in_flight, 1);
  EXPECT_EQ(*cli->Replay(std::nullopt, std::nullopt, 0), 1);  // it still writes
  auto daemon = OpenInbox();  // and the lock was left for the daemon
  EXPECT_EQ(daemon->Stats()->in_flight, 0);
  EXPECT_EQ(daemon->Stats()->pending, 2);
}

TEST_F(InboxTest, RefusesPathsThatAreNotFiles) {
  EXPECT_EQ(OpenSqliteInbox(":memory:").status().code(), StatusCode::kInvalidArgument);
  auto in_missing_dir = OpenSqliteInbox(path_ + ".d/none/inbox.db");
  ASSERT_FALSE(in_missing_dir.ok());
  EXPECT_NE(in_missing_dir.status().message().find("none/inbox.db"), std::string::npos);
}


// ---- the contract every Inbox keeps: one suite, run on each backend ----

class InboxContractTest : public testing::InboxBackendTest {
 protected:
  // SQL inside an inbox transaction (a handler's effect), on whichever backend it is.
  static Status ExecInTransaction(InboxTransaction& tx, const std::string& sql) {
    if (tx.backend() == "postgresql") {
      auto* conn = static_cast<PGconn*>(tx.native());
      PGresult* r = PQexec(conn, sql.c_str());
      Status status = PQresultStatus(r) == PGRES_COMMAND_OK ? Status::Ok() : Internal(PQresultErrorMessage(r));
      PQclear(r);
      return status;
    }
    auto* db = static_cast<sqlite3*>(tx.native());
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return Internal(sqlite3_errmsg(db));
    return Status::Ok();
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, InboxContractTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendTestName);

TEST_P(InboxContractTest, StoresAndReadsBack) {
  auto inbox = OpenInbox();
  auto outcomes = inbox->Store({Msg("m1")});
  ASSERT_TRUE(outcomes.ok()) << outcomes.status().ToString();
  ASSERT_EQ(outcomes->size(), 1u);
  EXPECT_EQ((*outcomes)[0], StoreOutcome::kNew);

  auto got = inbox->Get("2021000000000001", "m1");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  const StoredMessage& s = **got;
  EXPECT_EQ(s.message.msg_api, "alipay.open.mini.version.audit.passed");
  EXPECT_EQ(s.message.biz_content, Msg("m1").biz_content);
  EXPECT_EQ(s.message.channel, "websocket");
  EXPECT_EQ(s.message.received_at_ms, 1700000000000);
  EXPECT_EQ(s.state, MessageState::kPending);
  EXPECT_EQ(s.attempts, 0);
  EXPECT_EQ(s.delivery_count, 1);

  auto absent = inbox->Get("2021000000000001", "nope");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  EXPECT_EQ(ToString(MessageState::kInFlight), "in_flight");
}

TEST_P(InboxContractTest, DuplicatesWithinABatchAndAcrossStoresAreDetected) {
  auto inbox = OpenInbox();
  auto first = inbox->Store({Msg("a"), Msg("b"), Msg("a"), Msg("a", "other-app")});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, (std::vector<StoreOutcome>{StoreOutcome::kNew, StoreOutcome::kNew,
                                               StoreOutcome::kDuplicate, StoreOutcome::kNew}));
  auto second = inbox->Store({Msg("b"), Msg("c")});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, (std::vector<StoreOutcome>{StoreOutcome::kDuplicate, StoreOutcome::kNew}));

  EXPECT_EQ((*inbox->Get("2021000000000001", "a"))->delivery_count, 2);
  EXPECT_EQ((*inbox->Get("2021000000000001", "b"))->delivery_count, 2);
  EXPECT_EQ((*inbox->Get("other-app", "a"))->delivery_count, 1);
  auto stats = inbox->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->duplicates, 2);
  EXPECT_EQ(stats->pending, 4);
  EXPECT_EQ(stats->stored, 6);
}

TEST_P(InboxContractTest, SurvivesReopenAndStillDetectsDuplicates) {
  {
    auto inbox = OpenInbox();
    ASSERT_TRUE(inbox->Store({Msg("m1"), Msg("m2")}).ok());
    ASSERT_TRUE(inbox->Store({Msg("m1")}).ok());
    inbox->Close();
    inbox->Close();  // idempotent
  }
  auto inbox = OpenInbox();
  auto again = inbox->Store({Msg("m2"), Msg("m3")});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, (std::vector<StoreOutcome>{StoreOutcome::kDuplicate, StoreOutcome::kNew}));
  auto stats = inbox->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->pending, 3);
  EXPECT_EQ(stats->duplicates, 2);  // persisted, not per process
  EXPECT_EQ(QueryInt("SELECT MAX(version) FROM " + T("schema_version")), CurrentSchemaVersion());
}

// While the writer is held inside the first commit's callback, every other store queues up; they
// must then go out in ceil(n / max_batch) transactions, not one each.
TEST_P(InboxContractTest, GroupCommitDrainsTheQueueIntoFewTransactions) {
  TestOptions options;
  options.max_batch = 512;
  options.max_queued = 100000;
  auto inbox = OpenInbox(options);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> first_committed;
  inbox->StoreAsync({Msg("first")}, [&](Result<std::vector<StoreOutcome>> r) {
    EXPECT_TRUE(r.ok());
    first_committed.set_value();
    released.wait();
  });
  first_committed.get_future().wait();

  constexpr int kThreads = 8, kPerThread = 250;
  std::atomic<int> new_count{0}, callbacks{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        inbox->StoreAsync({Msg("t" + std::to_string(t) + "-" + std::to_string(i))},
                          [&](Result<std::vector<StoreOutcome>> r) {
                            if (r.ok() && r->size() == 1 && (*r)[0] == StoreOutcome::kNew) {
                              new_count.fetch_add(1);
                            }
                            callbacks.fetch_add(1);
                          });
      }
    });
  }
  for (auto& p : producers) p.join();
  std::promise<Result<std::vector<StoreOutcome>>> last;
  inbox->StoreAsync({Msg("last")}, [&](Result<std::vector<StoreOutcome>> r) {
    last.set_value(std::move(r));
  });
  EXPECT_EQ(callbacks.load(), 0) << "nothing may be reported before its commit";
  release.set_value();
  ASSERT_TRUE(last.get_future().get().ok());  // queued behind all of them
  EXPECT_EQ(callbacks.load(), kThreads * kPerThread);
  EXPECT_EQ(new_count.load(), kThreads * kPerThread);

  auto stats = inbox->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->pending, kThreads * kPerThread + 2);
  EXPECT_EQ(stats->stored, kThreads * kPerThread + 2);
  // The held commit, then 2001 queued stores in ceil(2001 / 512) = 4 transactions.
  EXPECT_EQ(stats->commits, 1 + 4);
  inbox->Close();
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM " + T("messages")), kThreads * kPerThread + 2);
}

// Completions wait (complete_linger_ms) to share one commit; a store queued meanwhile commits at
// once on its own; Close() commits whatever still lingers.
TEST_P(InboxContractTest, CompletionsLingerToShareACommitWhileAStoreGoesAtOnce) {
  TestOptions options;
  options.complete_linger_ms = 2000;  // far longer than a store's commit takes
  auto inbox = OpenInbox(options);
  std::vector<InboundMessage> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(Msg("c" + std::to_string(i)));
  ASSERT_TRUE(inbox->Store(batch).ok());
  ASSERT_EQ(inbox->Claim(10, 0)->size(), 10u);
  const int64_t commits_before = inbox->Stats()->commits;

  std::atomic<int> completed{0};
  std::promise<void> all_completed;
  for (int i = 0; i < 10; ++i) {
    inbox->CompleteAsync("2021000000000001", "c" + std::to_string(i), Done(), 1, {}, [&](Status s) {
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (completed.fetch_add(1) + 1 == 10) all_completed.set_value();
    });
  }
  auto stored = inbox->Store({Msg("s")});
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(completed.load(), 0) << "the store did not wait for the lingering completions";
  ASSERT_EQ(all_completed.get_future().wait_for(30s), std::future_status::ready);
  EXPECT_EQ(inbox->Stats()->done, 10);
  EXPECT_EQ(inbox->Stats()->commits - commits_before, 2) << "the store's commit, then one for all ten";

  // Lingering at close: committed, not dropped.
  ASSERT_EQ(inbox->Claim(1, 0)->size(), 1u);  // "s"
  std::promise<Status> last;
  inbox->CompleteAsync("2021000000000001", "s", Done(), 1, {}, [&](Status s) { last.set_value(s); });
  inbox->Close();
  auto future = last.get_future();
  ASSERT_EQ(future.wait_for(0s), std::future_status::ready);
  EXPECT_TRUE(future.get().ok());
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM " + T("messages") + " WHERE state = 'done'"), 11);
}

// Free-running: many producers, no holding. Only checks that commits are grouped at all and
// reports the numbers.
TEST_P(InboxContractTest, ConcurrentStoresShareCommits) {
  auto inbox = OpenInbox();
  constexpr int kThreads = 4, kPerThread = 1000;
  std::atomic<int> callbacks{0};
  std::vector<std::thread> producers;
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        inbox->StoreAsync({Msg("t" + std::to_string(t) + "-" + std::to_string(i))},
                          [&](Result<std::vector<StoreOutcome>> r) {
                            EXPECT_TRUE(r.ok());
                            callbacks.fetch_add(1);
                          });
      }
    });
  }
  for (auto& p : producers) p.join();
  ASSERT_TRUE(inbox->Store({Msg("last")}).ok());  // commits after everything queued before it
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  EXPECT_EQ(callbacks.load(), kThreads * kPerThread);
  auto stats = inbox->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->pending, kThreads * kPerThread + 1);
  // Producers outrun a commit, so transactions are shared: at most one per two stores.
  EXPECT_LE(stats->commits * 2, stats->stored);
  std::cout << "[group commit] " << stats->stored << " single-message stores from " << kThreads
            << " threads, " << BackendName(GetParam()) << ": " << stats->commits << " transactions, "
            << elapsed.count() << " ms\n";
}

TEST_P(InboxContractTest, StoreAsyncBlocksWhenTheQueueIsFull) {
  TestOptions options;
  options.max_queued = 4;
  auto inbox = OpenInbox(options);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> first_committed;
  inbox->StoreAsync({Msg("held")}, [&](Result<std::vector<StoreOutcome>>) {
    first_committed.set_value();
    released.wait();
  });
  first_committed.get_future().wait();
  // "held" still counts until its callback returns: room for 3 more.
  for (int i = 0; i < 3; ++i) inbox->StoreAsync({Msg("q" + std::to_string(i))}, nullptr);

  EXPECT_EQ(inbox->Stats()->store_waiting, 0);
  std::atomic<bool> returned{false};
  std::thread blocked([&] {
    inbox->StoreAsync({Msg("over")}, nullptr);
    returned = true;
  });
  // The producer is seen waiting for room (not merely slow to return).
  ASSERT_TRUE(testing::WaitUntil([&] { return inbox->Stats()->store_waiting == 1; }))
      << "a full queue must push back on the producer";
  EXPECT_FALSE(returned.load());
  release.set_value();
  blocked.join();
  EXPECT_TRUE(returned.load());
  ASSERT_TRUE(inbox->Store({}).ok());
  EXPECT_EQ(inbox->Stats()->pending, 5);
  EXPECT_EQ(inbox->Stats()->store_waiting, 0);
}

TEST_P(InboxContractTest, ABatchLargerThanTheQueueStillGoesThrough) {
  TestOptions options;
  options.max_queued = 2;
  options.max_batch = 2;
  auto inbox = OpenInbox(options);
  auto outcomes = inbox->Store({Msg("1"), Msg("2"), Msg("3"), Msg("4"), Msg("5")});
  ASSERT_TRUE(outcomes.ok());
  EXPECT_EQ(outcomes->size(), 5u);
  EXPECT_EQ(inbox->Stats()->pending, 5);
}

TEST_P(InboxContractTest, AFailingBatchDoesNotSinkTheOthersInItsGroup) {
  auto inbox = OpenInbox();
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> first_committed;
  inbox->StoreAsync({Msg("held")}, [&](Result<std::vector<StoreOutcome>>) {
    first_committed.set_value();
    released.wait();
  });
  first_committed.get_future().wait();
  std::promise<Result<std::vector<StoreOutcome>>> good1, bad, good2;
  inbox->StoreAsync({Msg("g1")}, [&](auto r) { good1.set_value(std::move(r)); });
  inbox->StoreAsync({Msg("b1"), Msg("")}, [&](auto r) { bad.set_value(std::move(r)); });
  inbox->StoreAsync({Msg("g2")}, [&](auto r) { good2.set_value(std::move(r)); });
  release.set_value();
  EXPECT_TRUE(good1.get_future().get().ok());
  auto bad_result = bad.get_future().get();
  ASSERT_FALSE(bad_result.ok());
  EXPECT_EQ(bad_result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_result.status().message().find("msg_id"), std::string::npos);
  EXPECT_TRUE(good2.get_future().get().ok());
  EXPECT_FALSE((*inbox->Get("2021000000000001", "b1")).has_value()) << "the batch is all or nothing";
  EXPECT_EQ(inbox->Stats()->pending, 3);
}

TEST_P(InboxContractTest, ClaimCompleteRetryAndDead) {
  auto inbox = OpenInbox();
  ASSERT_TRUE(inbox->Store({Msg("m1"), Msg("m2"), Msg("m3")}).ok());
  const int64_t now = 1000;

  auto claimed = inbox->Claim(2, now);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].message.msg_id, "m1");  // arrival order
  EXPECT_EQ((*claimed)[1].message.msg_id, "m2");
  EXPECT_EQ((*claimed)[0].state, MessageState::kInFlight);
  EXPECT_EQ((*claimed)[0].attempts, 1);
  EXPECT_EQ(inbox->Stats()->in_flight, 2);

  const std::string app = "2021000000000001";
  ASSERT_TRUE(inbox->Complete(app, "m1", Done(), now).ok());
  DispatchResult retry{DispatchResult::Kind::kRetry, now + 5000, "downstream timeout"};
  ASSERT_TRUE(inbox->Complete(app, "m2", retry, now).ok());

  // Completing twice, or a message never claimed, is refused with a reason.
  Status twice = inbox->Complete(app, "m1", Done(), now);
  EXPECT_EQ(twice.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(twice.message().find("done"), std::string::npos) << twice.ToString();
  EXPECT_EQ(inbox->Complete(app, "ghost", Done(), now).code(),
            StatusCode::kNotFound);

  auto due_now = inbox->Claim(10, now);
  ASSERT_TRUE(due_now.ok());
  ASSERT_EQ(due_now->size(), 1u);
  EXPECT_EQ((*due_now)[0].message.msg_id, "m3");
  auto next_due = inbox->NextDueMs();
  ASSERT_TRUE(next_due.ok());
  EXPECT_EQ(*next_due, std::optional<int64_t>(now + 5000));

  auto later = inbox->Claim(10, now + 5000);
  ASSERT_TRUE(later.ok());
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ((*later)[0].message.msg_id, "m2");
  EXPECT_EQ((*later)[0].attempts, 2);
  EXPECT_EQ((*later)[0].last_error, "downstream timeout");

  ASSERT_TRUE(inbox->Complete(app, "m2", {DispatchResult::Kind::kDead, 0, "gave up"}, now).ok());
  ASSERT_TRUE(
      inbox->Complete(app, "m3", {DispatchResult::Kind::kUnhandled, 0, "no handler"}, now).ok());
  auto m2 = *inbox->Get(app, "m2");
  EXPECT_EQ(m2->state, MessageState::kDead);
  EXPECT_EQ(m2->last_error, "gave up");
  EXPECT_EQ((*inbox->NextDueMs()), std::nullopt);

  auto stats = inbox->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->done, 1);
  EXPECT_EQ(stats->dead, 1);
  EXPECT_EQ(stats->unhandled, 1);
  EXPECT_EQ(stats->pending + stats->in_flight, 0);
}

TEST_P(InboxContractTest, ClaimOneTakesAGivenPendingMessageEvenBeforeItIsDue) {
  auto inbox = OpenInbox();
  ASSERT_TRUE(inbox->Store({Msg("m1")}).ok());
  const std::string app = "2021000000000001";
  ASSERT_TRUE(inbox->Claim(1, 0).ok());
  ASSERT_TRUE(inbox->Complete(app, "m1", {DispatchResult::Kind::kRetry, 99999, "later"}, 0).ok());
  auto one = inbox->ClaimOne(app, "m1", 10);
  ASSERT_TRUE(one.ok());
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ((*one)->attempts, 2);
  auto again = inbox->ClaimOne(app, "m1", 10);  // in flight now
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
  EXPECT_FALSE(inbox->ClaimOne(app, "absent", 10)->has_value());
}

TEST_P(InboxContractTest, InFlightMessagesBecomePendingAfterACrash) {
  {
    auto inbox = OpenInbox();
    ASSERT_TRUE(inbox->Store({Msg("m1"), Msg("m2")}).ok());
    auto claimed = inbox->Claim(10, 0);
    ASSERT_TRUE(claimed.ok());
    ASSERT_EQ(claimed->size(), 2u);
    // The process "dies" here: no Complete.
  }
  auto inbox = OpenInbox();
  auto stats = inbox->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->in_flight, 0);
  EXPECT_EQ(stats->pending, 2);
  auto claimed = inbox->Claim(10, 0);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].attempts, 2) << "the interrupted attempt counts";
}

TEST_P(InboxContractTest, ASecondOpenerLeavesTheOwnersInFlightMessagesAlone) {
  auto owner = OpenInbox();
  ASSERT_TRUE(owner->Store({Msg("m1")}).ok());
  ASSERT_EQ(owner->Claim(1, 0)->size(), 1u);
  TestOptions other;
  other.instance = "instance-b";  // PostgreSQL: another instance; SQLite: a second opener
  auto inspector = OpenInbox(other);  // e.g. `alipay-msg inbox inspect` beside a running daemon
  EXPECT_EQ(inspector->Stats()->in_flight, 1);
  EXPECT_TRUE(owner->Complete("2021000000000001", "m1", Done(), 0).ok());
  EXPECT_EQ(inspector->Stats()->done, 1);
}

TEST_P(InboxContractTest, TransactionalEffectCommitsWithTheResultOrNotAtAll) {
  ExecSql("CREATE TABLE IF NOT EXISTS effects (msg_id TEXT NOT NULL)");
  auto inbox = OpenInbox();
  ASSERT_TRUE(inbox->Store({Msg("ok"), Msg("fails")}).ok());
  ASSERT_EQ(inbox->Claim(10, 0)->size(), 2u);
  const std::string app = "2021000000000001";

  auto record = [](const std::string& id) {
    return [id](InboxTransaction& tx) -> Status {
      return ExecInTransaction(tx, "INSERT INTO effects (msg_id) VALUES ('" + id + "')");
    };
  };
  ASSERT_TRUE(inbox->Complete(app, "ok", Done(), 0, record("ok")).ok());

  auto failing = [&](InboxTransaction& tx) -> Status {
    Status inserted = record("fails")(tx);
    if (!inserted.ok()) return inserted;
    return Unavailable("downstream refused");  // after writing: all of it must roll back
  };
  Status st = inbox->Complete(app, "fails", Done(), 0, failing);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ((*inbox->Get(app, "fails"))->state, MessageState::kInFlight);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM effects WHERE msg_id = 'fails'"), 0);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM effects WHERE msg_id = 'ok'"), 1);

  auto throwing = [](InboxTransaction&) -> Status { throw std::runtime_error("boom"); };
  st = inbox->Complete(app, "fails", Done(), 0, throwing);
  EXPECT_EQ(st.code(), StatusCode::kInternal);
  EXPECT_NE(st.message().find("boom"), std::string::npos);

  // The message can still be given a result afterwards.
  ASSERT_TRUE(
      inbox->Complete(app, "fails", {DispatchResult::Kind::kRetry, 10, "effect failed"}, 0).ok());
  EXPECT_EQ((*inbox->Get(app, "fails"))->state, MessageState::kPending);
}

// Completions sharing one commit: a failing effect fails its own request only (both inboxes first
// try the group without savepoints, then rerun it with one per request).
TEST_P(InboxContractTest, AFailingEffectInAGroupFailsOnlyItsOwnRequest) {
  ExecSql("CREATE TABLE IF NOT EXISTS effects (msg_id TEXT NOT NULL)");
  TestOptions options;
  options.complete_linger_ms = 500;
  auto inbox = OpenInbox(options);
  std::vector<InboundMessage> batch;
  for (int i = 0; i < 6; ++i) batch.push_back(Msg("e" + std::to_string(i)));
  ASSERT_TRUE(inbox->Store(batch).ok());
  ASSERT_EQ(inbox->Claim(10, 0)->size(), 6u);
  const int64_t commits_before = inbox->Stats()->commits;

  std::vector<std::promise<Status>> results(6);
  for (int i = 0; i < 6; ++i) {
    const std::string id = "e" + std::to_string(i);
    auto effect = [id](InboxTransaction& tx) -> Status {
      Status inserted = ExecInTransaction(tx, "INSERT INTO effects (msg_id) VALUES ('" + id + "')");
      if (!inserted.ok() || id != "e3") return inserted;
      return Unavailable("downstream refused");  // after writing: that write must roll back
    };
    inbox->CompleteAsync("2021000000000001", id, Done(), 1, effect,
                         [&results, i](Status s) { results[i].set_value(s); });
  }
  for (int i = 0; i < 6; ++i) {
    auto future = results[i].get_future();
    ASSERT_EQ(future.wait_for(30s), std::future_status::ready);
    Status s = future.get();
    if (i == 3) {
      EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
    } else {
      EXPECT_TRUE(s.ok()) << i << ": " << s.ToString();
    }
  }
  EXPECT_EQ(inbox->Stats()->commits - commits_before, 1) << "the six results did not share a commit";
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM effects WHERE msg_id = 'e3'"), 0);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM effects"), 5);
  EXPECT_EQ(QueryInt("SELECT COUNT(DISTINCT msg_id) FROM effects"), 5);
  EXPECT_EQ((*inbox->Get("2021000000000001", "e3"))->state, MessageState::kInFlight);
  EXPECT_EQ(inbox->Stats()->done, 5);
}

TEST_P(InboxContractTest, ReplayPutsDeadAndUnhandledBackToPending) {
  auto inbox = OpenInbox();
  ASSERT_TRUE(inbox->Store({Msg("d1"), Msg("d2", "app2"), Msg("u1"), Msg("ok")}).ok());
  ASSERT_EQ(inbox->Claim(10, 0)->size(), 4u);
  const std::string app = "2021000000000001";
  ASSERT_TRUE(inbox->Complete(app, "d1", {DispatchResult::Kind::kDead, 0, "x"}, 0).ok());
  ASSERT_TRUE(inbox->Complete("app2", "d2", {DispatchResult::Kind::kDead, 0, "x"}, 0).ok());
  ASSERT_TRUE(inbox->Complete(app, "u1", {DispatchResult::Kind::kUnhandled, 0, "x"}, 0).ok());
  ASSERT_TRUE(inbox->Complete(app, "ok", Done(), 0).ok());

  auto one = inbox->Replay(std::string("app2"), std::string("d2"), 50);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, 1);
  auto d2 = *inbox->Get("app2", "d2");
  EXPECT_EQ(d2->state, MessageState::kPending);
  EXPECT_EQ(d2->attempts, 0);
  EXPECT_EQ(d2->next_attempt_at_ms, 50);

  EXPECT_EQ(*inbox->Replay(app, std::string("ok"), 50), 0) << "done is not replayable";
  auto missing = inbox->Replay(app, std::string("nope"), 50);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  auto rest = inbox->Replay(std::nullopt, std::nullopt, 60);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(*rest, 2);
  auto stats = inbox->Stats();
  EXPECT_EQ(stats->pending, 3);
  EXPECT_EQ(stats->done, 1);
  EXPECT_EQ(inbox->Claim(10, 60)->size(), 3u);
}

TEST_P(InboxContractTest, RejectedMessagesAreAudited) {
  auto inbox = OpenInbox();
  RejectedMessage r;
  r.app_id = "2021000000000001";
  r.msg_id = "bad1";
  r.msg_api = "alipay.trade.refund.depositback.completed";
  r.reason = "signature does not verify with the configured Alipay public key";
  r.raw_frame = "frame bytes";
  r.channel = "websocket";
  r.received_at_ms = 5;
  ASSERT_TRUE(inbox->RecordRejected(r).ok());
  ASSERT_TRUE(inbox->RecordRejected(r).ok());  // every rejection is kept, even repeated
  EXPECT_EQ(inbox->Stats()->rejected, 2);
  EXPECT_EQ(inbox->Stats()->pending, 0) << "a rejected message is never stored for dispatch";
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM " + T("rejected") + " WHERE reason LIKE 'signature%'"), 2);
}

TEST_P(InboxContractTest, ListsMostRecentFirstAndFiltersByState) {
  auto inbox = OpenInbox();
  ASSERT_TRUE(inbox->Store({Msg("m1"), Msg("m2"), Msg("m3")}).ok());
  ASSERT_EQ(inbox->Claim(1, 0)->size(), 1u);
  ASSERT_TRUE(inbox->Complete("2021000000000001", "m1", Done(), 0).ok());
  auto all = inbox->List(std::nullopt, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].message.msg_id, "m3");
  EXPECT_EQ((*all)[2].message.msg_id, "m1");
  EXPECT_EQ(inbox->List(std::nullopt, 2)->size(), 2u);
  auto done = inbox->List(MessageState::kDone, 10);
  ASSERT_EQ(done->size(), 1u);
  EXPECT_EQ((*done)[0].message.msg_id, "m1");
  EXPECT_EQ(inbox->List(MessageState::kPending, 10)->size(), 2u);
}

TEST_P(InboxContractTest, FindFiltersByStateAppAndMsgApiPrefix) {
  auto inbox = OpenInbox();
  const std::string other_app = "2021000000000002";
  ASSERT_TRUE(inbox->Store({Msg("a1"), Msg("a2", "2021000000000001", "alipay.open.mini.x"),
                            Msg("b1", other_app, "alipay.trade.refund"), Msg("b2", other_app)})
                  .ok());
  ASSERT_EQ(inbox->Claim(1, 0)->size(), 1u);  // a1
  ASSERT_TRUE(inbox->Complete("2021000000000001", "a1", Done(), 0).ok());
  auto ids = [&](const InboxQuery& q) {
    std::vector<std::string> out;
    auto found = inbox->Find(q);
    EXPECT_TRUE(found.ok()) << found.status().ToString();
    if (found.ok()) for (const auto& m : *found) out.push_back(m.message.msg_id);
    return out;
  };
  auto query = [](std::optional<MessageState> state, std::string app_id, std::string msg_api, int limit = 100) {
    InboxQuery q;
    q.state = state;
    q.app_id = std::move(app_id);
    q.msg_api = std::move(msg_api);
    q.limit = limit;
    return q;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids(query(std::nullopt, "", "")), (V{"b2", "b1", "a2", "a1"}));
  EXPECT_EQ(ids(query(std::nullopt, other_app, "")), (V{"b2", "b1"}));
  EXPECT_EQ(ids(query(std::nullopt, "", "alipay.open.mini.*")), (V{"b2", "a2", "a1"}));
  EXPECT_EQ(ids(query(std::nullopt, "", "alipay.open.mini.x")), (V{"a2"}));
  EXPECT_EQ(ids(query(std::nullopt, "", "alipay.open.mini")), V{}) << "no wildcard: exact";
  EXPECT_EQ(ids(query(std::nullopt, "", "*")).size(), 4u);
  EXPECT_EQ(ids(query(MessageState::kPending, "2021000000000001", "")), (V{"a2"}));
  EXPECT_EQ(ids(query(MessageState::kDone, "", "alipay.trade.*")), V{});
  EXPECT_EQ(ids(query(std::nullopt, "", "", 1)), (V{"b2"}));
}

TEST_P(InboxContractTest, CallbacksMayCallBackIntoTheInbox) {
  auto inbox = OpenInbox();
  std::promise<std::string> seen;
  inbox->StoreAsync({Msg("m1")}, [&](Result<std::vector<StoreOutcome>> r) {
    EXPECT_TRUE(r.ok());
    auto got = inbox->Get("2021000000000001", "m1");
    auto again = inbox->Store({Msg("m1"), Msg("m2")});
    auto claimed = inbox->Claim(5, 0);
    std::string summary = got.ok() && got->has_value() ? "got " : "missing ";
    summary += again.ok() && (*again)[0] == StoreOutcome::kDuplicate ? "dup " : "nodup ";
    summary += claimed.ok() ? std::to_string(claimed->size()) : claimed.status().ToString();
    seen.set_value(summary);
  });
  auto future = seen.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready) << "deadlock in a callback";
  EXPECT_EQ(future.get(), "got dup 2");
}

TEST_P(InboxContractTest, ClosedInboxRefusesWithUnavailable) {
  auto inbox = OpenInbox();
  inbox->Close();
  std::promise<Status> result;
  inbox->StoreAsync({Msg("m1")}, [&](Result<std::vector<StoreOutcome>> r) {
    result.set_value(r.status());
  });
  EXPECT_EQ(result.get_future().get().code(), StatusCode::kUnavailable);
  EXPECT_EQ(inbox->Claim(1, 0).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(inbox->Stats().status().code(), StatusCode::kUnavailable);
}

TEST_P(InboxContractTest, RefusesADatabaseFromANewerSchema) {
  { auto inbox = OpenInbox(); }
  ExecSql("INSERT INTO " + T("schema_version") + " (version) VALUES (99)");
  auto inbox = TryOpen(TestOptions{});
  ASSERT_FALSE(inbox.ok());
  EXPECT_NE(inbox.status().message().find("schema version 99"), std::string::npos)
      << inbox.status().ToString();
  EXPECT_NE(inbox.status().message().find(Where()), std::string::npos) << inbox.status().ToString();
}

}  // namespace
}  // namespace alipaymsg
