// SqliteInbox: its two connections, the owner lock, the writer thread and the group commit. The
// requests the writer runs (store, claim, complete, ...) and the reads are in sqlite_inbox_ops.cpp.
#include "inbox/sqlite_inbox.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <future>
#include <utility>

#include "base/thread_name.h"
#include "inbox/schema.h"

namespace alipaymsg {

Result<std::unique_ptr<Inbox>> OpenSqliteInbox(const std::string& path,
                                               const SqliteInboxOptions& options) {
  return inbox::SqliteInbox::Open(path, options);
}

namespace inbox {
namespace {

// The savepoint around each request of a group, prepared once per connection (cached by Db).
const std::string kSavepoint = "SAVEPOINT op";
const std::string kRelease = "RELEASE op";
const std::string kRollbackTo = "ROLLBACK TO op";

Status RunCached(Db& db, const std::string& sql) {
  auto stmt = db.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  return (*stmt)->Run();
}

}  // namespace

SqliteInbox::SqliteInbox(std::string path, SqliteInboxOptions options)
    : path_(std::move(path)), options_(options) {}

Result<std::unique_ptr<Inbox>> SqliteInbox::Open(const std::string& path,
                                                 const SqliteInboxOptions& options) {
  if (path.empty() || path == ":memory:" || path.starts_with("file:")) {
    return InvalidArgument("inbox path must name a file (got \"" + path + "\")");
  }
  if (options.max_batch < 1 || options.max_queued < 1) {
    return InvalidArgument("inbox max_batch and max_queued must be at least 1");
  }
  ALIPAYMSG_RETURN_IF_ERROR(CheckAuditLimits(options.rejected));
  std::unique_ptr<SqliteInbox> inbox(new SqliteInbox(path, options));
  Status status = inbox->Initialize();
  if (IsInboxCorrupt(status)) return status;
  status = AsCorruptIfDamaged(path, status);
  if (!status.ok()) return IsInboxCorrupt(status) ? status : status.WithContext("inbox " + path);
  return std::unique_ptr<Inbox>(std::move(inbox));
}

Status SqliteInbox::OpenReadOnly() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound("no inbox file at " + path_ + " (the daemon creates it when it first starts)");
    return IoError("cannot stat " + path_ + ": " + std::strerror(errno));
  }
  auto reader = Db::Open(path_, /*create=*/false, options_.busy_timeout_ms);
  if (!reader.ok()) return reader.status();
  ALIPAYMSG_RETURN_IF_ERROR((*reader)->Exec("PRAGMA query_only=1"));
  // Not migrated here (that writes): refuse anything but the schema this build reads.
  auto version = (*reader)->Prepare("SELECT MAX(version) FROM schema_version");
  if (!version.ok()) return InvalidArgument(path_ + " is not an alipay-msg inbox (" + version.status().message() + ")");
  Result<bool> row = (*version)->Step();
  if (!row.ok()) return row.status();
  const int64_t found = *row && !(*version)->IsNull(0) ? (*version)->Int(0) : 0;
  ALIPAYMSG_RETURN_IF_ERROR((*version)->Run());
  if (found != kSchemaVersion) {
    return InvalidArgument(path_ + " has inbox schema version " + std::to_string(found) + ", this build reads " +
                           std::to_string(kSchemaVersion) + " (start the daemon of this build once to migrate it)");
  }
  std::lock_guard lock(reader_mu_);
  reader_db_ = std::move(*reader);
  return Status::Ok();
}

Status SqliteInbox::ReadOnlyRefusal() const {
  return Unavailable("the inbox " + path_ + " was opened read-only (for inspection): writes are refused");
}

Status SqliteInbox::Initialize() {
  if (options_.read_only) return OpenReadOnly();
  // The owner lock decides who may reset in-flight messages: only a process that is not racing a
  // live dispatcher. flock dies with its process, so a SIGKILLed owner never blocks recovery.
  std::string lock_path = path_ + ".lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return IoError("cannot open " + lock_path + ": " + std::strerror(errno));
  owner_ = options_.may_own && ::flock(lock_fd_, LOCK_EX | LOCK_NB) == 0;

  auto writer = Db::Open(path_, /*create=*/true, options_.busy_timeout_ms);
  if (!writer.ok()) return writer.status();
  writer_db_ = std::move(*writer);
  {
    auto mode = writer_db_->Prepare("PRAGMA journal_mode=WAL");
    if (!mode.ok()) return mode.status();
    Result<bool> row = (*mode)->Step();
    if (!row.ok()) return row.status();
    if (!*row || (*mode)->Text(0) != "wal") {
      return IoError("cannot switch to WAL journal mode (file system without shared memory?)");
    }
  }
  // Before anything is written: a damaged file is refused, not written to.
  if (owner_) ALIPAYMSG_RETURN_IF_ERROR(QuickCheck());
  synchronous_full_now_ = !options_.synchronous_full;  // forces the first SetSynchronous to run
  ALIPAYMSG_RETURN_IF_ERROR(SetSynchronous(true));
  ALIPAYMSG_RETURN_IF_ERROR(MigrateSchema(*writer_db_));
  // The exact count of rejections, which outlives pruned audit rows (started from the rows there).
  ALIPAYMSG_RETURN_IF_ERROR(writer_db_->Exec(
      "INSERT OR IGNORE INTO counters (name, value) SELECT 'rejected', COUNT(*) FROM rejected"));
  // Bounds the write-ahead log left after a checkpoint (a flood must not leave a large one behind).
  ALIPAYMSG_RETURN_IF_ERROR(writer_db_->Exec("PRAGMA journal_size_limit=4194304"));
  if (owner_) {
    ALIPAYMSG_RETURN_IF_ERROR(
        writer_db_->Exec("UPDATE messages SET state = 'pending' WHERE state = 'in_flight'"));
    // An audit grown past today's limits (an older build kept everything) is cut down now.
    ALIPAYMSG_RETURN_IF_ERROR(writer_db_->Exec("BEGIN IMMEDIATE"));
    Status pruned = CountAudit(*writer_db_);
    if (pruned.ok()) pruned = PruneAudit(*writer_db_);
    if (pruned.ok()) pruned = writer_db_->Exec("COMMIT");
    if (!pruned.ok()) {
      (void)writer_db_->Exec("ROLLBACK");
      return pruned.WithContext("pruning the rejected-message audit");
    }
  }

  auto reader = Db::Open(path_, /*create=*/false, options_.busy_timeout_ms);
  if (!reader.ok()) return reader.status();
  reader_db_ = std::move(*reader);
  ALIPAYMSG_RETURN_IF_ERROR(reader_db_->Exec("PRAGMA query_only=1"));

  writer_ = std::thread([this] {
    NameThisThread("inbox-writer");
    WriterLoop();
  });
  writer_id_.store(writer_.get_id());
  return Status::Ok();
}

SqliteInbox::~SqliteInbox() {
  Close();
  if (writer_.joinable()) {
    if (writer_.get_id() == std::this_thread::get_id()) {
      writer_.detach();  // destroyed from its own callback: it exits on its own (closing_ is set)
    } else {
      writer_.join();
    }
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void SqliteInbox::Close() {
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
    closing_ = true;
  }
  work_cv_.notify_all();
  space_cv_.notify_all();
  if (OnWriterThread()) return;  // from a callback: the writer exits once it returns; ~ joins
  if (writer_.joinable()) writer_.join();
  writer_id_.store(std::thread::id());
  {
    writer_db_.reset();
    std::lock_guard lock(reader_mu_);
    reader_db_.reset();
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);  // releases the owner lock so the same process may reopen
    lock_fd_ = -1;
  }
}

bool SqliteInbox::AddStoreClaimer(StoreClaimer* claimer) {
  if (options_.read_only || claimer == nullptr) return false;
  std::lock_guard lock(mu_);
  if (claimer_ != nullptr) return false;
  claimer_ = claimer;
  return true;
}

void SqliteInbox::RemoveStoreClaimer(StoreClaimer* claimer) {
  std::unique_lock lock(mu_);
  if (claimer_ != claimer || claimer == nullptr) return;
  claimer_ = nullptr;
  if (OnWriterThread()) {
    // From a callback: the group in progress is ours and cannot be waited for; nothing later in it
    // (a synchronous Store from another callback) may use the claimer.
    group_claimer_ = nullptr;
    return;
  }
  claimer_cv_.wait(lock, [this] { return !claimer_busy_; });
}

// ---- the writer thread ----

// Lingering completions go when due, other writes at once (WaitForWriteGroup).
void SqliteInbox::WriterLoop() {
  const auto linger = std::chrono::milliseconds(options_.complete_linger_ms);
  while (true) {
    std::vector<WriteOp> ops;
    bool claimer_in_use = false;
    {
      std::unique_lock lock(mu_);
      if (!WaitForWriteGroup(lock, work_cv_, lingering_, queue_, closing_, options_.max_batch, linger, health_,
                             [this] { ProbeCommit(); }, ops)) {
        return;  // closing, and drained
      }
      group_claimer_ = claimer_;
      claimer_in_use = claimer_busy_ = claimer_ != nullptr;
    }
    CommitGroup(ops);
    if (claimer_in_use) {
      std::lock_guard lock(mu_);
      group_claimer_ = nullptr;
      claimer_busy_ = false;
      claimer_cv_.notify_all();
    }
    int64_t released = 0;
    for (const WriteOp& op : ops) {
      if (op.is_store) released += op.weight;
    }
    {
      std::lock_guard lock(mu_);
      uncommitted_messages_ -= released;
    }
    space_cv_.notify_all();
  }
}


Status SqliteInbox::SetSynchronous(bool full) {
  full = full && options_.synchronous_full;
  if (full == synchronous_full_now_) return Status::Ok();
  ALIPAYMSG_RETURN_IF_ERROR(
      writer_db_->Exec(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  synchronous_full_now_ = full;
  return Status::Ok();
}

// Applies each op in the open transaction, its status into `results`; with `savepoints`, a failed op
// is undone alone. False when an op failed. `group` fails when SQLite rolled the whole transaction back.
bool SqliteInbox::ApplyOps(Db& db, std::vector<WriteOp>& ops, std::vector<Status>& results, bool savepoints,
                           Status& group) {
  bool all_applied = true;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (sqlite3_get_autocommit(db.handle()) != 0) {
      // SQLite rolled the whole transaction back (I/O error, disk full): running the rest would
      // commit them one by one outside the group. Fail the group instead.
      group = i > 0 && !results[i - 1].ok() ? results[i - 1] : IoError("sqlite rolled back the inbox transaction");
      return false;
    }
    Status status = savepoints ? RunCached(db, kSavepoint) : Status::Ok();
    if (status.ok()) {
      try {
        status = ops[i].apply(db);
      } catch (const std::exception& e) {
        status = Internal(std::string("inbox write threw: ") + e.what());
      } catch (...) {
        status = Internal("inbox write threw a non-standard exception");
      }
      if (savepoints) {
        if (!status.ok()) (void)RunCached(db, kRollbackTo);
        Status released = RunCached(db, kRelease);
        if (status.ok()) status = released;
      }
    }
    results[i] = status;
    if (!status.ok()) {
      all_applied = false;
      if (!savepoints) return false;  // the group is run again, with savepoints
    }
  }
  return all_applied;
}

void SqliteInbox::CommitGroup(std::vector<WriteOp>& ops) {
  Db& db = *writer_db_;
  std::vector<Status> results(ops.size());
  int64_t changes_before = sqlite3_total_changes64(db.handle());
  // One fsync for the group if anything in it must be durable; none for a group of claims. (In WAL
  // mode a later synced commit makes the earlier unsynced ones durable too: the log is sequential.)
  const bool durable =
      std::any_of(ops.begin(), ops.end(), [](const WriteOp& op) { return op.durable; });
  Status group = SetSynchronous(durable);
  // Stores claim for the claimer, if any, within one reservation for the whole group.
  GroupClaim claim;
  GroupClaim* const outer_claim = group_claim_;
  group_claim_ = nullptr;
  if (group_claimer_ != nullptr && group.ok()) {
    int64_t stored = 0;
    for (const WriteOp& op : ops) stored += op.is_store ? op.weight : 0;
    if (stored > 0) {
      claim.reserved = std::clamp<int64_t>(group_claimer_->Reserve(static_cast<int>(std::min<int64_t>(stored, INT32_MAX))),
                                           0, stored);
      group_claim_ = &claim;
    }
  }
  // First without a savepoint per request: a savepoint that writes opens a statement journal (a
  // 64 KiB buffer allocated and freed, and a copy of each page before the request changes it), and
  // at full speed that was twice per message. Only when a request fails is the group rolled back and
  // run again, each request in its savepoint, so that the failed one is undone alone and the others
  // commit.
  for (const bool savepoints : {false, true}) {
    if (group.ok()) group = db.Exec("BEGIN IMMEDIATE");
    if (!group.ok()) break;
    std::vector<BeforeCommitHook> hooks;
    std::vector<BeforeCommitHook>* const outer_hooks = std::exchange(before_commit_, &hooks);
    const bool all_applied = ApplyOps(db, ops, results, savepoints, group);
    before_commit_ = outer_hooks;
    if (group.ok() && !all_applied && !savepoints) {
      (void)db.Exec("ROLLBACK");
      audit_counts_known_ = false;  // counted by requests that are rolled back now
      claim.claimed.clear();
      claim.left_pending = false;
      std::fill(results.begin(), results.end(), Status::Ok());
      changes_before = sqlite3_total_changes64(db.handle());  // what the rerun writes, not what was undone
      continue;
    }
    // Effects outside the database (a file's fsync) become durable before the commit records them.
    for (BeforeCommitHook& hook : hooks) {
      if (!group.ok()) break;
      try {
        group = hook.run();
      } catch (const std::exception& e) {
        group = Internal(std::string("inbox before-commit hook threw: ") + e.what());
      } catch (...) {
        group = Internal("inbox before-commit hook threw a non-standard exception");
      }
    }
    if (group.ok()) group = db.Exec("COMMIT");
    if (group.ok()) {
      commits_.fetch_add(1, std::memory_order_relaxed);
    } else {
      (void)db.Exec("ROLLBACK");
      audit_counts_known_ = false;  // audit rows of this group are gone again
    }
    break;
  }
  NoteCommitOutcome(group, results, group.ok() && sqlite3_total_changes64(db.handle()) > changes_before);
  if (group_claim_ != nullptr) {
    // The claimer first, so that the messages are in its hands before anyone hears of the stores.
    std::vector<StoredMessage> claimed;
    if (group.ok()) {
      claimed.reserve(claim.claimed.size());
      for (InboundMessage* message : claim.claimed) {
        StoredMessage& stored = claimed.emplace_back();
        stored.state = MessageState::kInFlight;  // as Claim would: first attempt
        stored.attempts = 1;
        stored.updated_at_ms = message->received_at_ms;
        stored.message = std::move(*message);  // the store request needs it no more
      }
    }
    group_claimer_->Claimed(std::move(claimed), claim.reserved, group.ok() && claim.left_pending);
  }
  group_claim_ = outer_claim;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!ops[i].finish) continue;
    try {
      ops[i].finish(group.ok() ? results[i] : group);
    } catch (...) {
      // A callback must not throw; the writer thread keeps serving the others.
    }
  }
}

void SqliteInbox::NoteCommitOutcome(const Status& group, const std::vector<Status>& results, bool wrote) {
  const Status* fault = IsStorageFault(group) ? &group : nullptr;
  for (const Status& result : results) {
    if (fault == nullptr && IsStorageFault(result)) fault = &result;
  }
  if (fault != nullptr) {
    health_.NoteFault(*fault);
  } else if (wrote) {
    health_.NoteWritten();
  }
}

void SqliteInbox::ProbeCommit() {
  std::vector<WriteOp> ops(1);
  // Rewrites one small row (a page of the log at commit, and an fsync): as much as a commit needs.
  ops[0].apply = [](Db& db) { return db.Exec("UPDATE counters SET value = value WHERE name = 'duplicates'"); };
  CommitGroup(ops);
}

InboxHealth SqliteInbox::Health() const { return health_.Get(); }

void SqliteInbox::QueueWrite(std::function<Status(Db&)> apply,
                             std::function<void(const Status&)> finish, bool linger) {
  if (options_.read_only) {
    if (finish) finish(ReadOnlyRefusal());
    return;
  }
  WriteOp op;
  op.apply = std::move(apply);
  op.finish = std::move(finish);
  {
    std::lock_guard lock(mu_);
    if (!closing_) {
      if (linger && options_.complete_linger_ms > 0) {
        lingering_.push_back({std::move(op), std::chrono::steady_clock::now()});
        // The writer only needs waking for the first (it then sleeps until that one is due) and
        // when a batch is complete.
        if (lingering_.size() == 1 || static_cast<int64_t>(lingering_.size()) >= options_.max_batch) {
          work_cv_.notify_one();
        }
      } else {
        queue_.push_back(std::move(op));
        work_cv_.notify_one();
      }
      return;
    }
  }
  if (op.finish) op.finish(Unavailable("the inbox is closed"));
}

Status SqliteInbox::RunWrite(std::function<Status(Db&)> apply, bool durable) {
  if (options_.read_only) return ReadOnlyRefusal();
  if (OnWriterThread()) {
    // Called from a callback: the writer is between groups, so run this as a group of one.
    if (!writer_db_) return Unavailable("the inbox is closed");
    Status result;
    std::vector<WriteOp> ops(1);
    ops[0].durable = durable;
    ops[0].apply = std::move(apply);
    ops[0].finish = [&result](const Status& status) { result = status; };
    CommitGroup(ops);
    return result;
  }
  std::promise<Status> promise;
  std::future<Status> future = promise.get_future();
  {
    std::lock_guard lock(mu_);
    if (closing_) return Unavailable("the inbox is closed");
    WriteOp op;
    op.durable = durable;
    op.apply = std::move(apply);
    op.finish = [&promise](const Status& status) { promise.set_value(status); };
    queue_.push_back(std::move(op));
  }
  work_cv_.notify_one();
  return future.get();
}

}  // namespace inbox
}  // namespace alipaymsg
