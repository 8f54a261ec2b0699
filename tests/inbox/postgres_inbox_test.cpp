// What only the shared PostgreSQL inbox promises (the common contract is in inbox_test.cpp, run on
// both backends): leases, their renewal and expiry, fencing of stale results, instances that never
// claim the same message, schema creation by instances starting together, reconnection.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "alipaymsg/inbox.h"
#include "testing/postgres_server.h"
#include "testing/messages.h"
#include "testing/wait.h"

namespace alipaymsg {
namespace {

using namespace std::chrono_literals;

const std::string kApp = testing::kTestAppId;

InboundMessage Msg(const std::string& msg_id) { return testing::TestMessage(msg_id); }

DispatchResult Done() { return DispatchResult{DispatchResult::Kind::kDone, 0, ""}; }

class PostgresInboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = testing::SharedPostgres();
    ASSERT_NE(server_, nullptr);
    url_ = server_->FreshDatabaseUrl("pginbox");
    ASSERT_FALSE(url_.empty());
    database_ = url_.substr(url_.rfind('/') + 1);
  }

  std::unique_ptr<Inbox> Open(const std::string& instance, int lease_ms = 15000) {
    PostgresInboxOptions options;
    options.instance_id = instance;
    options.lease_ms = lease_ms;
    auto inbox = OpenPostgresInbox(url_, options);
    EXPECT_TRUE(inbox.ok()) << inbox.status().ToString();
    return inbox.ok() ? std::move(*inbox) : nullptr;
  }

  // Creates the current schema, then turns it back into `version`'s shape (what that build left).
  void SchemaAsOfVersion(int version) {
    {
      auto inbox = Open("a");
      ASSERT_TRUE(inbox);
    }
    if (version < 3) {  // the content in the messages row
      EXPECT_EQ(Query("DROP TABLE alipaymsg_message_bodies"), "");
      EXPECT_EQ(Query("ALTER TABLE alipaymsg_messages ADD COLUMN biz_content BYTEA NOT NULL"), "");
    }
    if (version < 2) {  // no audit bookkeeping
      EXPECT_EQ(Query("DROP TABLE alipaymsg_rejected_audit"), "");
    }
    EXPECT_EQ(Query("DELETE FROM alipaymsg_schema_version WHERE version > " + std::to_string(version)), "");
  }

  std::string Query(const std::string& sql) {
    std::string value;
    EXPECT_EQ(server_->Exec(database_, sql, &value), "");
    return value;
  }

  static bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds deadline = 15s) {
    return testing::WaitUntil(condition, deadline);
  }

  // A process that opens the inbox as `instance`, claims everything due and dies without a word
  // (no Close: its claims stay in flight, its leases stop being renewed). Returns how many it claimed.
  int ClaimInAChildAndDie(const std::string& instance, int lease_ms) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      int claimed = -1;
      PostgresInboxOptions options;
      options.instance_id = instance;
      options.lease_ms = lease_ms;
      auto inbox = OpenPostgresInbox(url_, options);
      if (inbox.ok()) {
        auto got = (*inbox)->Claim(100, 0);
        claimed = got.ok() ? static_cast<int>(got->size()) : -2;
      }
      (void)!::write(fds[1], &claimed, sizeof(claimed));
      ::_exit(0);  // a crash as far as the database can tell: sockets closed, nothing released
    }
    ::close(fds[1]);
    int claimed = -3;
    EXPECT_EQ(::read(fds[0], &claimed, sizeof(claimed)), static_cast<ssize_t>(sizeof(claimed)));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return claimed;
  }

  testing::PostgresServer* server_ = nullptr;
  std::string url_, database_;
};

TEST_F(PostgresInboxTest, ADeadInstancesClaimsReturnToPendingWhenTheirLeaseExpires) {
  auto survivor = Open("survivor", 300);
  ASSERT_TRUE(survivor);
  ASSERT_TRUE(survivor->Store({Msg("m1"), Msg("m2")}).ok());
  ASSERT_EQ(ClaimInAChildAndDie("dead", 1000), 2);
  // Not on open, not at once: the other instance is alive and must not steal live claims.
  EXPECT_EQ(survivor->Stats()->in_flight, 2);
  EXPECT_EQ(Query("SELECT count(*) FROM alipaymsg_messages WHERE claimed_by = 'dead'"), "2");
  std::vector<StoredMessage> taken;
  ASSERT_TRUE(WaitFor([&] {
    auto claimed = survivor->Claim(10, 0);
    if (claimed.ok()) taken.insert(taken.end(), claimed->begin(), claimed->end());
    return taken.size() == 2;
  })) << "the dead instance's claims never came back";
  EXPECT_EQ(taken[0].attempts, 2) << "the interrupted attempt counts";
  ASSERT_TRUE(survivor->Complete(kApp, "m1", Done(), 0).ok());
  ASSERT_TRUE(survivor->Complete(kApp, "m2", Done(), 0).ok());
  EXPECT_EQ(survivor->Stats()->done, 2);
}

TEST_F(PostgresInboxTest, ARestartedInstanceTakesBackItsOwnClaimsAtOnce) {
  {
    auto setup = Open("setup");
    ASSERT_TRUE(setup->Store({Msg("m1")}).ok());
  }
  ASSERT_EQ(ClaimInAChildAndDie("host-a", 60000), 1);
  auto other = Open("host-b");
  EXPECT_EQ(other->Stats()->in_flight, 1) << "another instance leaves live-looking claims alone";
  auto restarted = Open("host-a");  // the same id: its earlier life's claims are pending again
  EXPECT_EQ(restarted->Stats()->in_flight, 0);
  EXPECT_EQ(restarted->Claim(10, 0)->size(), 1u);
}

// What the daemon e2e test once hit at random: the restarted instance's release of its old claims
// and another instance's store of their redeliveries locking the same rows in opposite orders.
TEST_F(PostgresInboxTest, TakingBackOldClaimsNeverDeadlocksWithAStoreOfTheirRedeliveries) {
  {
    auto setup = Open("setup");
    std::vector<InboundMessage> messages;
    for (int i = 1; i <= 20; ++i) messages.push_back(Msg("m" + std::to_string(i)));
    ASSERT_TRUE(setup->Store(messages).ok());
  }
  ASSERT_EQ(ClaimInAChildAndDie("host-a", 60000), 20);
  // The other instance's store, by hand: one row locked first, the rest in a second statement.
  PGconn* store = PQconnectdb(url_.c_str());
  ASSERT_EQ(PQstatus(store), CONNECTION_OK) << PQerrorMessage(store);
  auto run = [&](const char* sql) {
    PGresult* r = PQexec(store, sql);
    std::string error = PQresultStatus(r) == PGRES_COMMAND_OK ? "" : PQresultErrorMessage(r);
    PQclear(r);
    return error;
  };
  ASSERT_EQ(run("BEGIN"), "");
  ASSERT_EQ(run("UPDATE alipaymsg_messages SET delivery_count = delivery_count + 1 WHERE msg_id = 'm20'"), "");
  auto restarted = std::async(std::launch::async, [&] {
    PostgresInboxOptions options;
    options.instance_id = "host-a";
    options.lease_ms = 60000;
    return OpenPostgresInbox(url_, options);
  });
  // Until the open waits for m20 (what the old release did, holding m1..m19) or has released the rest.
  WaitFor([&] {
    return Query("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'") != "0" ||
           Query("SELECT count(*) FROM alipaymsg_messages WHERE state = 'pending'") == "19";
  });
  EXPECT_EQ(run("UPDATE alipaymsg_messages SET delivery_count = delivery_count + 1 WHERE msg_id <> 'm20'"), "");
  std::this_thread::sleep_for(200ms);  // m20 stays locked a little longer
  EXPECT_EQ(run("COMMIT"), "");
  PQfinish(store);
  ASSERT_EQ(restarted.wait_for(30s), std::future_status::ready);
  auto inbox = restarted.get();
  ASSERT_TRUE(inbox.ok()) << inbox.status().ToString();
  EXPECT_EQ((*inbox)->Stats()->in_flight, 0) << "m20 was taken back too, once its lock was gone";
  EXPECT_EQ((*inbox)->Claim(100, 0)->size(), 20u);
}

TEST_F(PostgresInboxTest, ClosingHandsItsClaimsBackAtOnce) {
  auto closing = Open("closing", 60000);
  ASSERT_TRUE(closing);
  ASSERT_TRUE(closing->Store({Msg("m1"), Msg("m2"), Msg("m3")}).ok());
  ASSERT_EQ(closing->Claim(2, 0)->size(), 2u);
  closing->Close();
  auto other = Open("other", 60000);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->Stats()->in_flight, 0) << "not after the lease: now";
  EXPECT_EQ(other->Claim(10, 0)->size(), 3u);
}

TEST_F(PostgresInboxTest, LongHandlersKeepTheirLeaseRenewed) {
  auto holder = Open("holder", 300);
  auto other = Open("other", 300);
  ASSERT_TRUE(holder->Store({Msg("slow")}).ok());
  ASSERT_EQ(holder->Claim(1, 0)->size(), 1u);
  const std::string first_expiry = Query("SELECT lease_expires_at FROM alipaymsg_messages");
  // Past the first lease's end, the claim is still the holder's: renewed, not reaped.
  ASSERT_TRUE(WaitFor([&] {
    return Query("SELECT clock_timestamp() > '" + first_expiry + "'::timestamptz + interval '300 ms'") == "t";
  }));
  EXPECT_EQ(Query("SELECT lease_expires_at > '" + first_expiry + "'::timestamptz FROM alipaymsg_messages"), "t");
  EXPECT_EQ(Query("SELECT state || ' ' || claimed_by FROM alipaymsg_messages"), "in_flight holder");
  EXPECT_TRUE(other->Claim(10, 0)->empty());
  EXPECT_TRUE(holder->Complete(kApp, "slow", Done(), 0).ok());
  EXPECT_EQ(holder->Stats()->done, 1);
}

TEST_F(PostgresInboxTest, AStaleCompletionIsRefusedAndLeavesTheNewOwnersResult) {
  ASSERT_EQ(server_->Exec(database_, "CREATE TABLE effects (msg_id TEXT NOT NULL)"), "");
  auto slow = Open("slow", 60000);  // renews only every 20 s
  auto fast = Open("fast", 300);
  ASSERT_TRUE(slow->Store({Msg("m1")}).ok());
  ASSERT_EQ(slow->Claim(1, 0)->size(), 1u);
  // The slow instance is cut off long enough for its lease to run out (as if paused or partitioned).
  ASSERT_EQ(server_->Exec(database_, "UPDATE alipaymsg_messages SET lease_expires_at = clock_timestamp() - "
                                     "interval '1 second'"),
            "");
  std::vector<StoredMessage> taken;
  ASSERT_TRUE(WaitFor([&] {
    auto claimed = fast->Claim(1, 0);
    if (claimed.ok()) taken.insert(taken.end(), claimed->begin(), claimed->end());
    return !taken.empty();
  }));
  ASSERT_TRUE(fast->Complete(kApp, "m1", Done(), 0).ok());

  auto effect = [](InboxTransaction& tx) -> Status {
    PGresult* r = PQexec(static_cast<PGconn*>(tx.native()), "INSERT INTO effects VALUES ('m1')");
    PQclear(r);
    return Status::Ok();
  };
  Status late = slow->Complete(kApp, "m1", DispatchResult{DispatchResult::Kind::kDead, 0, "late"}, 0, effect);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.message().find("lease"), std::string::npos) << late.ToString();
  auto stored = fast->Get(kApp, "m1");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->state, MessageState::kDone) << "the new owner's result stands";
  EXPECT_EQ(Query("SELECT count(*) FROM effects"), "0") << "a fenced completion's effect must not commit";
}

TEST_F(PostgresInboxTest, TwoInstancesNeverClaimTheSameMessage) {
  auto a = Open("a");
  auto b = Open("b");
  constexpr int kMessages = 2000;
  std::vector<InboundMessage> batch;
  for (int i = 0; i < kMessages; ++i) {
    batch.push_back(Msg("m" + std::to_string(i)));
    if (batch.size() == 500) {
      ASSERT_TRUE(a->Store(std::move(batch)).ok());
      batch.clear();
    }
  }
  std::vector<std::string> by_a, by_b;
  auto drain = [](Inbox& inbox, std::vector<std::string>& out) {
    while (true) {
      auto claimed = inbox.Claim(37, 0);
      if (!claimed.ok()) {
        ADD_FAILURE() << claimed.status().ToString();
        return;
      }
      if (claimed->empty()) return;
      for (const StoredMessage& m : *claimed) {
        out.push_back(m.message.msg_id);
        EXPECT_TRUE(inbox.Complete(m.message.app_id, m.message.msg_id, Done(), 0).ok());
      }
    }
  };
  std::thread ta([&] { drain(*a, by_a); });
  std::thread tb([&] { drain(*b, by_b); });
  ta.join();
  tb.join();
  std::set<std::string> all(by_a.begin(), by_a.end());
  for (const std::string& id : by_b) EXPECT_TRUE(all.insert(id).second) << id << " claimed by both";
  EXPECT_EQ(all.size(), static_cast<size_t>(kMessages));
  EXPECT_EQ(by_a.size() + by_b.size(), static_cast<size_t>(kMessages));
  EXPECT_GT(by_a.size(), 0u);
  EXPECT_GT(by_b.size(), 0u);
  EXPECT_EQ(a->Stats()->done, kMessages);
}

TEST_F(PostgresInboxTest, TwoInstancesStoringTheSameRedeliveriesAgreeOnWhatIsNew) {
  auto a = Open("a");
  auto b = Open("b");
  constexpr int kMessages = 600;
  std::atomic<int> fresh{0}, failures{0};
  auto store = [&](Inbox& inbox, bool reversed) {
    for (int i = 0; i < kMessages; i += 20) {
      std::vector<InboundMessage> batch;
      for (int k = 0; k < 20; ++k) batch.push_back(Msg("m" + std::to_string(reversed ? kMessages - 1 - i - k : i + k)));
      auto outcomes = inbox.Store(std::move(batch));
      if (!outcomes.ok()) {
        failures++;
        continue;
      }
      for (StoreOutcome o : *outcomes) fresh += o == StoreOutcome::kNew;
    }
  };
  std::thread ta([&] { store(*a, false); });
  std::thread tb([&] { store(*b, true); });
  ta.join();
  tb.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(fresh.load(), kMessages) << "each message is new to exactly one instance";
  auto stats = a->Stats();
  EXPECT_EQ(stats->pending, kMessages);
  EXPECT_EQ(stats->duplicates, kMessages);
}

// Stores have a connection of their own: an ack never waits for a completion's transaction (its
// effects, their fsync), and a redelivery of the very message being completed waits for its row,
// then counts as a duplicate (no deadlock between the two connections).
TEST_F(PostgresInboxTest, AStoreDoesNotWaitForACompletionInProgress) {
  auto inbox = Open("a");
  ASSERT_TRUE(inbox);
  ASSERT_TRUE(inbox->Store({Msg("m1")}).ok());
  ASSERT_EQ(inbox->Claim(1, 0)->size(), 1u);
  std::promise<void> in_effect, release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<Status> completed;
  inbox->CompleteAsync(kApp, "m1", Done(), 0,
                       [&](InboxTransaction&) {
                         in_effect.set_value();
                         released.wait();  // the writer's transaction stays open, m1's row locked
                         return Status::Ok();
                       },
                       [&](Status s) { completed.set_value(s); });
  ASSERT_EQ(in_effect.get_future().wait_for(30s), std::future_status::ready);
  auto other = std::async(std::launch::async, [&] { return inbox->Store({Msg("m2")}); });
  const bool stored_meanwhile = other.wait_for(30s) == std::future_status::ready;
  std::promise<Result<std::vector<StoreOutcome>>> redelivered;
  inbox->StoreAsync({Msg("m1")}, [&](Result<std::vector<StoreOutcome>> r) { redelivered.set_value(std::move(r)); });
  release.set_value();
  EXPECT_TRUE(stored_meanwhile) << "the store waited for the completion's transaction";
  auto stored = other.get();
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(*stored, std::vector<StoreOutcome>{StoreOutcome::kNew});
  auto completed_future = completed.get_future();
  ASSERT_EQ(completed_future.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(completed_future.get().ok());
  auto again_future = redelivered.get_future();
  ASSERT_EQ(again_future.wait_for(30s), std::future_status::ready);
  auto again = again_future.get();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, std::vector<StoreOutcome>{StoreOutcome::kDuplicate});
  EXPECT_EQ((*inbox->Get(kApp, "m1"))->state, MessageState::kDone);
  EXPECT_EQ(Query("SELECT delivery_count FROM alipaymsg_messages WHERE msg_id = 'm1'"), "2");
}

TEST_F(PostgresInboxTest, InstancesStartingTogetherCreateTheSchemaOnce) {
  constexpr int kInstances = 6;
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<Inbox>> inboxes(kInstances);
  std::vector<std::string> errors(kInstances);
  for (int i = 0; i < kInstances; ++i) {
    threads.emplace_back([&, i] {
      PostgresInboxOptions options;
      options.instance_id = "i" + std::to_string(i);
      auto inbox = OpenPostgresInbox(url_, options);
      if (inbox.ok()) {
        inboxes[i] = std::move(*inbox);
      } else {
        errors[i] = inbox.status().ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kInstances; ++i) EXPECT_TRUE(inboxes[i]) << errors[i];
  // One row per version: each step applied once.
  EXPECT_EQ(Query("SELECT count(*) FROM alipaymsg_schema_version"), std::to_string(PostgresInboxCurrentSchemaVersion()));
  ASSERT_TRUE(inboxes[0]);
  ASSERT_TRUE(inboxes[0]->Store({Msg("m1")}).ok());
  ASSERT_TRUE(inboxes[kInstances - 1]);
  EXPECT_EQ(inboxes[kInstances - 1]->Stats()->pending, 1);
  auto version = PostgresInboxSchemaVersion(url_);
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(*version, PostgresInboxCurrentSchemaVersion());
}

TEST_F(PostgresInboxTest, AnInstanceIdIsHeldByOneInboxAtATime) {
  auto first = Open("same");
  ASSERT_TRUE(first);
  PostgresInboxOptions options;
  options.instance_id = "same";
  auto second = OpenPostgresInbox(url_, options);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("\"same\" is in use"), std::string::npos) << second.status().ToString();
  first->Close();
  EXPECT_TRUE(OpenPostgresInbox(url_, options).ok()) << "released on close";
}

TEST_F(PostgresInboxTest, ReadOnlyOpenInspectsWithoutWriting) {
  PostgresInboxOptions read_only;
  read_only.read_only = true;
  auto missing = OpenPostgresInbox(url_, read_only);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  {
    auto writer = Open("w");
    ASSERT_TRUE(writer->Store({Msg("m1")}).ok());
  }
  auto inspector = OpenPostgresInbox(url_, read_only);
  ASSERT_TRUE(inspector.ok()) << inspector.status().ToString();
  EXPECT_EQ((*inspector)->Stats()->pending, 1);
  EXPECT_EQ((*inspector)->List(std::nullopt, 10)->size(), 1u);
  EXPECT_EQ((*inspector)->Store({Msg("m2")}).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ((*inspector)->Claim(1, 0).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ((*inspector)->Replay(std::nullopt, std::nullopt, 0).status().code(), StatusCode::kUnavailable);
}

TEST_F(PostgresInboxTest, BodiesThatAreNotTextRoundTrip) {
  auto inbox = Open("a");
  InboundMessage m = Msg("bin");
  m.biz_content = std::string("{\"x\":\"\xff\xfe\"}\0tail", 14);
  ASSERT_TRUE(inbox->Store({m}).ok());
  auto got = inbox->Get(kApp, "bin");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->message.biz_content, m.biz_content);
  RejectedMessage r;
  r.app_id = "\xff";
  r.msg_id = "x";
  r.reason = "bad signature";
  r.raw_frame = std::string("\0\xff", 2);
  EXPECT_TRUE(inbox->RecordRejected(r).ok());
  EXPECT_EQ(inbox->Stats()->rejected, 1);
}

TEST_F(PostgresInboxTest, ADatabaseRestartFailsWhatItInterruptsAndThenCarriesOn) {
  // A cluster of its own: the shared one serves other tests running meanwhile.
  std::string error;
  auto own = testing::PostgresServer::Start(error);
  ASSERT_TRUE(own) << "PostgreSQL test cluster: " << error;
  server_ = own.get();
  url_ = server_->FreshDatabaseUrl("restart");
  database_ = url_.substr(url_.rfind('/') + 1);
  auto inbox = Open("a");
  ASSERT_TRUE(inbox->Store({Msg("before")}).ok());
  EXPECT_TRUE(inbox->Health().can_commit);
  ASSERT_EQ(server_->Stop(), "");
  auto while_down = inbox->Store({Msg("during")});
  EXPECT_FALSE(while_down.ok()) << "nothing may be reported stored while the database is down";
  EXPECT_FALSE(inbox->Claim(1, 0).ok());
  // For /readyz: the inbox says it cannot commit, and why.
  InboxHealth health = inbox->Health();
  EXPECT_FALSE(health.can_commit);
  EXPECT_FALSE(health.reason.empty());
  EXPECT_GT(health.since_ms, 0);
  ASSERT_EQ(server_->Restart(), "");
  // It finds out by itself that commits work again (no write of ours needed).
  EXPECT_TRUE(WaitFor([&] { return inbox->Health().can_commit; })) << inbox->Health().reason;
  ASSERT_TRUE(WaitFor([&] { return inbox->Store({Msg("after")}).ok(); })) << "no reconnect";
  EXPECT_TRUE(WaitFor([&] { return inbox->Stats().ok(); }));
  Result<std::vector<StoredMessage>> claimed = Status(StatusCode::kInternal, "not yet");
  ASSERT_TRUE(WaitFor([&] {
    claimed = inbox->Claim(10, 0);
    return claimed.ok();
  }));
  std::set<std::string> ids;
  for (const auto& m : *claimed) ids.insert(m.message.msg_id);
  EXPECT_TRUE(ids.count("before"));
  EXPECT_TRUE(ids.count("after"));
  for (const auto& m : *claimed) EXPECT_TRUE(inbox->Complete(kApp, m.message.msg_id, Done(), 0).ok());
}

RejectedMessage Forged(const std::string& msg_id) {
  RejectedMessage r;
  r.app_id = kApp;
  r.msg_id = msg_id;
  r.msg_api = "alipay.open.mini.version.audit.passed";
  r.reason = "signature mismatch";
  r.raw_frame = std::string(300, 'x');
  r.channel = "websocket";
  return r;
}

// Several instances recording forgeries at once: the count stays exact, the audit within its bounds,
// and its bookkeeping row agrees with the table (the pruning of one never races another's).
TEST_F(PostgresInboxTest, InstancesRecordingRejectionsTogetherKeepTheCountExactAndTheAuditBounded) {
  constexpr int kInstances = 2, kThreads = 4, kEach = 300;
  std::vector<std::unique_ptr<Inbox>> inboxes;
  for (int i = 0; i < kInstances; ++i) {
    PostgresInboxOptions options;
    options.instance_id = "audit-" + std::to_string(i);
    options.rejected.max_rows = 100;
    auto inbox = OpenPostgresInbox(url_, options);
    ASSERT_TRUE(inbox.ok()) << inbox.status().ToString();
    inboxes.push_back(std::move(*inbox));
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kInstances; ++i) {
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, i, t] {
        for (int n = 0; n < kEach; ++n) {
          const std::string id = std::to_string(i) + "-" + std::to_string(t) + "-" + std::to_string(n);
          if (!inboxes[i]->RecordRejected(Forged(id)).ok()) ++failures;
        }
      });
    }
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  constexpr int kTotal = kInstances * kThreads * kEach;
  for (auto& inbox : inboxes) {
    auto stats = inbox->Stats();
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(stats->rejected_total, kTotal);
    EXPECT_LE(stats->rejected, 100);
    EXPECT_GE(stats->rejected, 90);
  }
  EXPECT_EQ(Query("SELECT kept_rows - (SELECT count(*) FROM alipaymsg_rejected) FROM alipaymsg_rejected_audit"), "0");
  EXPECT_EQ(Query("SELECT kept_bytes - (SELECT sum(octet_length(app_id) + octet_length(msg_id) + octet_length(msg_api) + "
                  "octet_length(reason) + octet_length(raw_frame) + octet_length(channel)) FROM alipaymsg_rejected) "
                  "FROM alipaymsg_rejected_audit"),
            "0");
  // Pruning takes the oldest: the newest rows are kept.
  for (int i = 0; i < kInstances; ++i) ASSERT_TRUE(inboxes[i]->RecordRejected(Forged("last-" + std::to_string(i))).ok());
  EXPECT_EQ(Query("SELECT count(*) FROM alipaymsg_rejected WHERE msg_id LIKE 'last-%'"), std::to_string(kInstances));
  EXPECT_EQ(inboxes[0]->Stats()->rejected_total, kTotal + kInstances);
}

// An inbox of schema version 1 (no audit bookkeeping; every rejection kept) migrates: the rows there
// are counted as the rejections so far, and an owning instance prunes them to its limits at once.
TEST_F(PostgresInboxTest, MigratesAVersion1AuditCountingItsRowsAndPruningThem) {
  SchemaAsOfVersion(1);
  EXPECT_EQ(Query("INSERT INTO alipaymsg_rejected (app_id, msg_id, msg_api, reason, raw_frame, channel, received_at_ms) "
                  "SELECT 'a', 'old-' || n, 'api', 'bad signature', decode('7878', 'hex'), 'websocket', n "
                  "FROM generate_series(1, 500) AS n"),
            "");
  PostgresInboxOptions options;
  options.instance_id = "a";
  options.rejected.max_rows = 50;
  auto inbox = OpenPostgresInbox(url_, options);
  ASSERT_TRUE(inbox.ok()) << inbox.status().ToString();
  EXPECT_EQ(*PostgresInboxSchemaVersion(url_), PostgresInboxCurrentSchemaVersion());
  auto stats = (*inbox)->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rejected_total, 500);
  EXPECT_LE(stats->rejected, 50);
  EXPECT_EQ(Query("SELECT count(*) FROM alipaymsg_rejected WHERE msg_id = 'old-500'"), "1");
}

// An inbox of schema version 2 (the content in the messages row) migrates: every message keeps its
// content, byte for byte, and the row no longer carries it.
TEST_F(PostgresInboxTest, MigratesAVersion2MovingEveryContentToItsOwnTable) {
  SchemaAsOfVersion(2);
  EXPECT_EQ(Query("INSERT INTO alipaymsg_messages (app_id, msg_id, msg_api, biz_content, channel, received_at_ms, "
                  "state, updated_at_ms) SELECT 'app', 'old-' || n, 'api', "
                  "convert_to('{\"n\":' || n || '}', 'UTF8'), 'websocket', n, 'pending', n "
                  "FROM generate_series(1, 300) AS n"),
            "");
  EXPECT_EQ(Query("INSERT INTO alipaymsg_messages (app_id, msg_id, msg_api, biz_content, channel, received_at_ms, "
                  "state, updated_at_ms) VALUES ('app', 'not-utf8', 'api', decode('ff00fe', 'hex'), 'websocket', 1, "
                  "'pending', 1)"),
            "");
  auto inbox = Open("a");
  ASSERT_TRUE(inbox);
  EXPECT_EQ(*PostgresInboxSchemaVersion(url_), PostgresInboxCurrentSchemaVersion());
  EXPECT_EQ(Query("SELECT count(*) FROM information_schema.columns WHERE table_name = 'alipaymsg_messages' AND "
                  "column_name = 'biz_content'"),
            "0");
  EXPECT_EQ(Query("SELECT count(*) FROM alipaymsg_message_bodies"), "301");
  auto old = inbox->Get("app", "old-42");
  ASSERT_TRUE(old.ok() && old->has_value()) << old.status().ToString();
  EXPECT_EQ((*old)->message.biz_content, "{\"n\":42}");
  auto raw = inbox->Get("app", "not-utf8");
  ASSERT_TRUE(raw.ok() && raw->has_value());
  EXPECT_EQ((*raw)->message.biz_content, std::string("\xff\x00\xfe", 3));
  // New messages after the migration: content in the new table, claimed with it.
  InboundMessage fresh = Msg("new-1");
  fresh.app_id = "app";
  ASSERT_TRUE(inbox->Store({fresh}).ok());
  auto claimed = inbox->Claim(1000, 1'000'000);
  ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
  ASSERT_EQ(claimed->size(), 302u);
  int with_content = 0;
  for (const StoredMessage& m : *claimed) with_content += m.message.biz_content.empty() ? 0 : 1;
  EXPECT_EQ(with_content, 302);
}

TEST_F(PostgresInboxTest, ErrorsAndLogsNeverShowThePassword) {
  EXPECT_EQ(RedactInboxUrl("postgresql://app:s3cret@db.example:5432/inbox"),
            "postgresql://app:***@db.example:5432/inbox");
  EXPECT_EQ(RedactInboxUrl("postgresql://app@db/inbox?sslmode=require&password=s3cret"),
            "postgresql://app@db/inbox?sslmode=require&password=***");
  EXPECT_EQ(RedactInboxUrl("host=db user=app password=s3cret dbname=inbox"),
            "host=db user=app password=*** dbname=inbox");
  const std::string port = std::to_string(server_->port());
  PostgresInboxOptions options;
  options.connect_timeout_ms = 2000;
  auto bad = OpenPostgresInbox("postgresql://nobody_here:s3cret@127.0.0.1:" + port + "/nowhere", options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("s3cret"), std::string::npos) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("127.0.0.1"), std::string::npos) << bad.status().ToString();
}

}  // namespace
}  // namespace alipaymsg
