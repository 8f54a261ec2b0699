// SqliteInbox: the Inbox on one SQLite file in WAL mode.
//
// Every write (store, claim, complete, replay, audit) goes through one writer thread that owns the
// writing connection. It drains whatever is queued (up to max_batch messages) into one transaction,
// each request inside its own savepoint so one failing request does not sink the others, commits
// once (one fsync with synchronous=FULL), then runs the callbacks. Writes are therefore serialised
// by construction (no SQLITE_BUSY between our own connections) and grouped under load. Completions
// (CompleteAsync) may linger up to complete_linger_ms to share a commit, so that stores, whose acks
// are waited for, are not queued behind the completions' fsyncs at moderate rates. Reads
// (Get, List, Stats, NextDueMs) use a second connection, which WAL lets run beside the writer.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alipaymsg/inbox.h"
#include "inbox/backend_common.h"
#include "inbox/sqlite_db.h"

namespace alipaymsg::inbox {

// The error for a damaged inbox file (IsInboxCorrupt): what is wrong and what to do.
Status CorruptInbox(const std::string& path, const std::string& details);
// `status` as CorruptInbox when SQLite reported damage (SQLITE_CORRUPT, SQLITE_NOTADB), else itself.
Status AsCorruptIfDamaged(const std::string& path, const Status& status);

class SqliteInbox final : public Inbox {
 public:
  static Result<std::unique_ptr<Inbox>> Open(const std::string& path,
                                             const SqliteInboxOptions& options);
  ~SqliteInbox() override;

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
  InboxHealth Health() const override;
  bool AddStoreClaimer(StoreClaimer* claimer) override;
  void RemoveStoreClaimer(StoreClaimer* claimer) override;
  void Close() override;

  // A hook registered through InboxTransaction::BeforeCommit for the group being committed.
  struct BeforeCommitHook {
    const void* key;
    std::function<Status()> run;
  };

 private:
  // One queued write. `apply` runs inside the group transaction (in its own savepoint, rolled back
  // when it fails); `finish` runs after the commit with apply's status, or the commit's failure.
  struct WriteOp {
    int64_t weight = 1;       // messages, for batching and backpressure
    bool is_store = false;
    // Needs its commit on disk before `finish` (synchronous=FULL). A claim does not: losing it in a
    // power cut leaves the message pending, which is what crash recovery would make of it anyway.
    bool durable = true;
    std::function<Status(Db&)> apply;
    std::function<void(const Status&)> finish;
  };

  SqliteInbox(std::string path, SqliteInboxOptions options);
  WriteOp MakeStoreOp(std::vector<InboundMessage> batch, StoreCallback done);
  Status Initialize();
  Status OpenReadOnly();  // Initialize for options_.read_only: the reader connection only
  Status ReadOnlyRefusal() const;
  void WriterLoop();
  void CommitGroup(std::vector<WriteOp>& ops);
  bool ApplyOps(Db& db, std::vector<WriteOp>& ops, std::vector<Status>& results, bool savepoints, Status& group);
  // Queues a write; `finish` gets its status after the commit. On the writer thread (a callback) it
  // is queued behind the current group.
  // `linger`: the op may wait up to options_.complete_linger_ms for others to share its commit.
  void QueueWrite(std::function<Status(Db&)> apply, std::function<void(const Status&)> finish,
                  bool linger = false);
  // Under mu_: moves the next group's ops out of the queues (lingering ones only when due).
  // Runs `apply` as a write and waits for its commit. On the writer thread itself (a callback calling
  // back into the inbox) the write runs at once as its own transaction.
  Status RunWrite(std::function<Status(Db&)> apply, bool durable = true);
  // PRAGMA quick_check within options_.quick_check_budget_ms (integrity.cpp).
  Status QuickCheck();
  // The rejected-message audit within options_.rejected (writer thread): its rows and bytes are
  // counted once (CountAudit), then kept up to date as rows come and go.
  Status CountAudit(Db& db);
  Status PruneAudit(Db& db);
  // After each group: a storage fault makes the inbox unhealthy, a commit that wrote heals it.
  void NoteCommitOutcome(const Status& group, const std::vector<Status>& results, bool wrote);
  // While unhealthy and idle: a small write that shows whether commits work again.
  void ProbeCommit();
  // Sets PRAGMA synchronous for the next commit (FULL only when asked and wanted by the options).
  Status SetSynchronous(bool full);
  bool OnWriterThread() const { return std::this_thread::get_id() == writer_id_.load(); }

  const std::string path_;
  const SqliteInboxOptions options_;
  int lock_fd_ = -1;
  bool owner_ = false;

  std::unique_ptr<Db> writer_db_;  // only the writer thread (or Initialize) touches it
  bool synchronous_full_now_ = false;  // the writer connection's current PRAGMA synchronous
  bool audit_counts_known_ = false;    // audit_rows_/audit_bytes_ match the table (writer thread)
  int64_t audit_rows_ = 0;
  int64_t audit_bytes_ = 0;
  // The hooks of the group being applied (writer thread only; null between groups).
  std::vector<BeforeCommitHook>* before_commit_ = nullptr;
  std::mutex reader_mu_;
  std::unique_ptr<Db> reader_db_;  // guarded by reader_mu_

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable space_cv_;
  std::deque<WriteOp> queue_;
  struct Lingering {
    WriteOp op;
    std::chrono::steady_clock::time_point since;
  };
  std::deque<Lingering> lingering_;  // CompleteAsync ops waiting to share a commit
  int64_t uncommitted_messages_ = 0;  // queued or being committed, for backpressure
  bool closing_ = false;
  std::thread writer_;
  std::atomic<std::thread::id> writer_id_{};
  // Stores claim through claimer_ (AddStoreClaimer, under mu_). The writer copies it into
  // group_claimer_ for one group and keeps claimer_busy_ until the group's callbacks have run, so
  // that RemoveStoreClaimer can wait for the claimer to be out of use.
  StoreClaimer* claimer_ = nullptr;
  bool claimer_busy_ = false;
  std::condition_variable claimer_cv_;
  StoreClaimer* group_claimer_ = nullptr;  // writer thread only
  // What the stores of the group being applied claim: reserved once for the whole group, handed
  // over once after its commit (writer thread only; null outside a group with stores).
  struct GroupClaim {
    int reserved = 0;
    // Messages of the group's stores inserted in flight: moved out of their store requests (which
    // keep them until the group is done) once the commit has gone through.
    std::vector<InboundMessage*> claimed;
    bool left_pending = false;
  };
  GroupClaim* group_claim_ = nullptr;

  CommitHealth health_;

  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> stored_{0};
  std::atomic<int64_t> store_waiting_{0};  // StoreAsync callers blocked on a full queue
};

}  // namespace alipaymsg::inbox
