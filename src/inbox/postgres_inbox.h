// PostgresInbox: the Inbox on a PostgreSQL database that several instances share.
//
// Stores (the writes an ack waits for) have a thread and a connection of their own, so that an ack
// never waits behind completions, their effects and fsyncs: the store thread drains the queued
// stores into ONE multi-row INSERT ... ON CONFLICT (app_id, msg_id) DO UPDATE SET delivery_count =
// ... RETURNING, a statement that commits by itself. The other writes (completions, replays, audit)
// go through the writer thread and its connection, which drains what is queued into one
// transaction: all its completions as one UPDATE ... FROM (VALUES ...), their transactional effects
// run after it without savepoints (an effect that fails reruns the group with each effect in a
// savepoint of its own, so that only its own request fails); then the BeforeCommit hooks, COMMIT,
// and the callbacks. A deadlock or serialization failure against another instance (or between the
// two threads: a redelivery stored while its row is being completed) reruns the whole group (the
// effects' contract already is "nothing of it commits" on abort).
//
// Claims run on a connection of their own (autocommit, FOR UPDATE SKIP LOCKED: two instances never
// wait for or take the same row) and record a lease; a lease thread (another connection) renews the
// leases of this inbox's claims every lease_ms / 3 and returns any instance's expired claims to
// pending. Completions are fenced by the claim token this inbox got. Reads use one more.
// A lost connection fails the requests it carried (nothing unacknowledged is reported stored) and is
// re-established on the next request, at most every 200 ms.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "alipaymsg/inbox.h"
#include "inbox/backend_common.h"
#include "inbox/pg_conn.h"

namespace alipaymsg::inbox {

class PostgresInbox final : public Inbox {
 public:
  static Result<std::unique_ptr<Inbox>> Open(const std::string& url,
                                             const PostgresInboxOptions& options);
  ~PostgresInbox() override;

  void StoreAsync(std::vector<InboundMessage> batch, StoreCallback done) override;
  Result<std::vector<StoreOutcome>> Store(std::vector<InboundMessage> batch) override;
  Status RecordRejected(const RejectedMessage& rejected) override;
  Result<std::vector<StoredMessage>> Claim(int max, int64_t now_ms) override;
  Result<std::optional<StoredMessage>> ClaimOne(const std::string& app_id,
                                                const std::string& msg_id,
                                                int64_t now_ms) override;
  Result<std::optional<int64_t>> NextDueMs() override;
  Status Complete(const std::string& app_id, const std::string& msg_id,
                  const DispatchResult& result, int64_t now_ms,
                  const std::function<Status(InboxTransaction&)>& in_transaction) override;
  void CompleteAsync(const std::string& app_id, const std::string& msg_id,
                     const DispatchResult& result, int64_t now_ms,
                     std::function<Status(InboxTransaction&)> in_transaction,
                     std::function<void(Status)> done) override;
  Result<int> Replay(std::optional<std::string> app_id, std::optional<std::string> msg_id,
                     int64_t now_ms) override;
  Result<std::optional<StoredMessage>> Get(const std::string& app_id,
                                           const std::string& msg_id) override;
  Result<std::vector<StoredMessage>> List(std::optional<MessageState> state, int limit) override;
  Result<std::vector<StoredMessage>> Find(const InboxQuery& query) override;
  Result<InboxStats> Stats() override;
  Status RunInTransaction(const std::function<Status(InboxTransaction&)>& body) override;
  InboxHealth Health() const override;
  void Close() override;

  struct BeforeCommitHook {
    const void* key;
    std::function<Status()> run;
  };

 private:
  // One queued write. Stores, plain completions and audit records are gathered into one statement
  // each per group; everything else runs `apply` in a savepoint of its own.
  struct WriteOp {
    enum class Kind { kStore, kComplete, kAudit, kOther } kind = Kind::kOther;
    int64_t weight = 1;
    // kStore
    std::shared_ptr<std::vector<InboundMessage>> messages;
    std::shared_ptr<std::vector<StoreOutcome>> outcomes;
    // kComplete
    std::string app_id, msg_id;
    DispatchResult result;
    int64_t now_ms = 0;
    std::function<Status(InboxTransaction&)> effect;
    bool effect_failed = false;  // rolled back on its own: the claim is still this inbox's
    // kAudit: already BoundedForAudit
    RejectedMessage rejected;
    // kOther (and kComplete with an effect): runs inside the group transaction
    std::function<Status(PgConn&)> apply;
    std::function<void(const Status&)> finish;
  };

  PostgresInbox(std::string url, PostgresInboxOptions options);
  Status Initialize();
  Result<std::unique_ptr<PgConn>> Connect(const std::string& role);
  Status ReadOnlyRefusal() const;
  // Reconnects `conn` when it is broken (at most every 200 ms per connection).
  Status EnsureConnected(PgConn& conn, std::chrono::steady_clock::time_point& last_attempt);

  void WriterLoop();
  void CommitGroup(std::vector<WriteOp>& ops);
  // The store thread: drains store_queue_ into one statement per group (CommitStores).
  void StoreLoop();
  void CommitStores(std::vector<WriteOp>& ops);
  // After a group's attempts: counts the commit, notes health, ends the claims of its completions
  // and runs each op's `finish` with its status (`group` when that failed).
  void FinishGroup(std::vector<WriteOp>& ops, const Status& group, const std::vector<Status>& results,
                   const std::optional<Status>& fault);
  // One attempt at the group's transaction; `results` gets each op's own status. A non-ok return
  // fails the whole group (retried when `retryable`). `fault` gets the first failure that says the
  // database cannot commit (connection lost, disk full, ...), for Health().
  // With `batch_effects`, every completion (with an effect or not) is one statement for the group
  // and the effects run after it in queue order without savepoints (all_or_nothing transactions):
  // when one of them fails, the group is rolled back and `rerun_alone` set, and the group is rerun
  // without batching, each effect in its own savepoint.
  Status TryGroup(std::vector<WriteOp>& ops, std::vector<Status>& results, bool& retryable,
                  std::optional<Status>& fault, bool batch_effects, bool& rerun_alone);
  Status ApplyStores(PgConn& conn, std::vector<WriteOp*>& stores, std::vector<Status>& results,
                     const std::vector<WriteOp>& ops);
  Status ApplyPlainCompletions(PgConn& conn, std::vector<size_t>& indexes, std::vector<WriteOp>& ops,
                               std::vector<Status>& results);
  Status ApplyCompletion(PgConn& conn, WriteOp& op);
  // All the group's audit records in one statement, which also counts them in the audit's row
  // (locking it: audit writes go last in a group); then prunes when over options_.rejected.
  Status ApplyAudits(PgConn& conn, const std::vector<size_t>& indexes, const std::vector<WriteOp>& ops);
  // Deletes the oldest audit rows until AuditRowsToPrune says enough, inside a transaction that
  // holds the audit's row lock; `rows` and `bytes` are what that row said.
  Status PruneAudit(PgConn& conn, int64_t rows, int64_t bytes);
  // While unhealthy and idle: a small write that shows whether commits work again.
  void ProbeCommit();
  Status ExplainNotInFlight(PgConn& conn, const std::string& app_id, const std::string& msg_id);
  void Enqueue(WriteOp op, bool linger);
  void EnqueueCompletion(const std::string& app_id, const std::string& msg_id, const DispatchResult& result,
                         int64_t now_ms, std::function<Status(InboxTransaction&)> in_transaction,
                         std::function<void(Status)> done, bool linger);
  Status RunWrite(std::function<Status(PgConn&)> apply);
  // Queues `op` (or, on the writer thread, commits it as a group of its own) and waits for its status.
  Status RunOp(WriteOp op);
  bool OnWriterThread() const { return std::this_thread::get_id() == writer_id_.load(); }
  bool OnStoreThread() const { return std::this_thread::get_id() == store_id_.load(); }

  // Claim tokens of this inbox's claims, by "app_id\0msg_id".
  static std::string Key(const std::string& app_id, const std::string& msg_id) {
    return app_id + std::string(1, '\0') + msg_id;
  }
  std::optional<int64_t> TokenOf(const std::string& key);
  void ForgetClaim(const std::string& key, int64_t token);

  // The claim tokens this inbox holds, as a bigint[] parameter; `forget`: and no longer holds.
  PgArray HeldClaimTokens(bool forget);
  void LeaseLoop();
  Status RenewAndReap(PgConn& conn);
  // Puts the in-flight rows that `condition` picks back to pending, never waiting for a row lock.
  Status ReleaseClaims(PgConn& conn, const std::string& condition, const std::vector<PgParam>& params,
                       std::chrono::milliseconds patience);

  const std::string url_;
  const PostgresInboxOptions options_;
  std::string instance_id_;

  std::unique_ptr<PgConn> writer_conn_;  // the writer thread only
  std::chrono::steady_clock::time_point writer_reconnect_{};
  std::vector<BeforeCommitHook>* before_commit_ = nullptr;  // writer thread only

  std::unique_ptr<PgConn> store_conn_;  // the store thread only
  std::chrono::steady_clock::time_point store_reconnect_{};

  std::mutex claim_mu_;
  std::unique_ptr<PgConn> claim_conn_;
  std::chrono::steady_clock::time_point claim_reconnect_{};
  std::mutex reader_mu_;
  std::unique_ptr<PgConn> reader_conn_;
  std::chrono::steady_clock::time_point reader_reconnect_{};

  std::mutex claims_mu_;
  std::map<std::string, int64_t> claims_;  // key -> claim token

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable space_cv_;
  std::deque<WriteOp> queue_;
  struct Lingering {
    WriteOp op;
    std::chrono::steady_clock::time_point since;
  };
  std::deque<Lingering> lingering_;
  std::condition_variable store_cv_;
  std::deque<WriteOp> store_queue_;  // kStore only
  int64_t uncommitted_messages_ = 0;  // in store_queue_ and being stored
  bool closing_ = false;
  std::thread writer_;
  std::atomic<std::thread::id> writer_id_{};
  std::thread store_thread_;
  std::atomic<std::thread::id> store_id_{};

  std::unique_ptr<PgConn> lease_conn_;  // the lease thread (holds the instance lock)
  std::mutex lease_mu_;
  std::condition_variable lease_cv_;
  bool lease_stop_ = false;
  std::thread lease_thread_;

  CommitHealth health_;
  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> stored_{0};
  std::atomic<int64_t> store_waiting_{0};  // StoreAsync callers blocked on a full queue
};

// The InboxTransaction that effects (a sink's rows, a handler's own) run in: the group's connection,
// and hooks that run just before its COMMIT.
class PgTransaction final : public InboxTransaction {
 public:
  PgTransaction(PgConn& conn, std::vector<PostgresInbox::BeforeCommitHook>* hooks, bool all_or_nothing = false)
      : conn_(conn), hooks_(hooks), all_or_nothing_(all_or_nothing) {}
  void* native() override { return conn_.handle(); }
  std::string_view backend() const override { return "postgresql"; }
  bool all_or_nothing() const override { return all_or_nothing_; }
  bool BeforeCommit(const void* key, std::function<Status()> hook) override {
    if (hooks_ == nullptr) return false;
    for (const auto& registered : *hooks_) {
      if (registered.key == key) return false;
    }
    hooks_->push_back({key, std::move(hook)});
    return true;
  }

 private:
  PgConn& conn_;
  std::vector<PostgresInbox::BeforeCommitHook>* hooks_;
  bool all_or_nothing_;
};

}  // namespace alipaymsg::inbox
