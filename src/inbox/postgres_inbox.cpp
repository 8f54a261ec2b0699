// PostgresInbox: opening, the connections and queueing writes for the writer threads. The group
// commit is in postgres_inbox_commit.cpp; claims, reads and the lease thread in postgres_inbox_ops.cpp.
#include "inbox/postgres_inbox.h"

#include <unistd.h>

#include <algorithm>
#include <future>
#include <string_view>
#include <utility>

#include "base/thread_name.h"
#include "inbox/postgres_schema.h"

namespace alipaymsg {

Result<std::unique_ptr<Inbox>> OpenPostgresInbox(const std::string& url,
                                                 const PostgresInboxOptions& options) {
  return inbox::PostgresInbox::Open(url, options);
}

Result<int> PostgresInboxSchemaVersion(const std::string& url, const std::string& password,
                                       int connect_timeout_ms) {
  auto conn = inbox::PgConn::Connect(url, password, connect_timeout_ms, "alipay-msg check-config");
  if (!conn.ok()) return conn.status();
  return inbox::ReadPgSchemaVersion(**conn);
}

int PostgresInboxCurrentSchemaVersion() { return inbox::kPgSchemaVersion; }

std::string RedactInboxUrl(std::string_view url) { return inbox::RedactPgUrl(url); }

namespace inbox {
namespace {

constexpr auto kReconnectInterval = std::chrono::milliseconds(200);
// How long releasing claims waits for rows that another instance holds locked for a moment (a
// store of their redelivery); what is still locked then returns to pending when its lease lapses.
constexpr auto kReleasePatienceAtOpen = std::chrono::seconds(5);
constexpr auto kReleasePatienceAtClose = std::chrono::seconds(1);

std::string DefaultInstanceId() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof(host), "host");
  return std::string(host) + "-" + std::to_string(::getpid());
}

}  // namespace

PostgresInbox::PostgresInbox(std::string url, PostgresInboxOptions options)
    : url_(std::move(url)), options_(std::move(options)) {}

Result<std::unique_ptr<Inbox>> PostgresInbox::Open(const std::string& url,
                                                   const PostgresInboxOptions& options) {
  if (url.empty()) return InvalidArgument("the PostgreSQL inbox URL is empty");
  if (options.max_batch < 1 || options.max_queued < 1) {
    return InvalidArgument("inbox max_batch and max_queued must be at least 1");
  }
  if (options.lease_ms < 100) return InvalidArgument("inbox lease must be at least 100 ms");
  ALIPAYMSG_RETURN_IF_ERROR(CheckAuditLimits(options.rejected));
  std::unique_ptr<PostgresInbox> inbox(new PostgresInbox(url, options));
  Status status = inbox->Initialize();
  if (!status.ok()) {
    inbox->Close();
    return status.WithContext("inbox " + RedactPgUrl(url));
  }
  return std::unique_ptr<Inbox>(std::move(inbox));
}

Result<std::unique_ptr<PgConn>> PostgresInbox::Connect(const std::string& role) {
  return PgConn::Connect(url_, options_.password, options_.connect_timeout_ms,
                         "alipay-msg " + instance_id_ + " " + role);
}

Status PostgresInbox::ReadOnlyRefusal() const {
  return Unavailable("the inbox " + RedactPgUrl(url_) + " was opened read-only (for inspection): writes are refused");
}

Status PostgresInbox::Initialize() {
  instance_id_ = options_.instance_id.empty() ? DefaultInstanceId() : options_.instance_id;
  if (!IsPgText(instance_id_)) return InvalidArgument("the instance id must be UTF-8 text");
  if (options_.read_only) {
    auto reader = Connect("reader");
    if (!reader.ok()) return reader.status();
    Result<int> version = ReadPgSchemaVersion(**reader);
    if (!version.ok()) return version.status();
    if (*version == 0) return NotFound("no inbox schema in this database (the daemon creates it when it first starts)");
    if (*version != kPgSchemaVersion) {
      return InvalidArgument("the inbox has schema version " + std::to_string(*version) + ", this build reads " +
                             std::to_string(kPgSchemaVersion) + " (start the daemon of this build once to migrate it)");
    }
    ALIPAYMSG_RETURN_IF_ERROR((*reader)->Run("SET default_transaction_read_only = on"));
    reader_conn_ = std::move(*reader);
    return Status::Ok();
  }

  // Only an owning instance's connection is named "lease": it elects the metrics reporter (Stats).
  auto lease = Connect(options_.may_own ? "lease" : "helper");
  if (!lease.ok()) return lease.status();
  lease_conn_ = std::move(*lease);
  ALIPAYMSG_RETURN_IF_ERROR(MigratePgSchema(*lease_conn_));
  if (options_.may_own) {
    auto locked = lease_conn_->Exec(
        "SELECT pg_try_advisory_lock(hashtextextended('alipaymsg instance ' || $1, 0))",
        {PgParam::Text(instance_id_)});
    if (!locked.ok()) return locked.status();
    if (!locked->Bool(0, 0)) {
      return Unavailable("instance id \"" + instance_id_ +
                         "\" is in use by another running instance (each instance needs its own)");
    }
    // Claims of an earlier process with this id: nobody else may hold them (the lock says so).
    ALIPAYMSG_RETURN_IF_ERROR(
        ReleaseClaims(*lease_conn_, "claimed_by = $1", {PgParam::Text(instance_id_)}, kReleasePatienceAtOpen)
            .WithContext("taking back the claims of this instance's previous run"));
    // An audit grown past this instance's limits (an older build kept everything) is cut down now.
    ALIPAYMSG_RETURN_IF_ERROR(lease_conn_->Run("BEGIN"));
    Status pruned = [this]() -> Status {
      auto usage = lease_conn_->Exec("SELECT kept_rows, kept_bytes FROM alipaymsg_rejected_audit FOR UPDATE");
      if (!usage.ok()) return usage.status();
      if (usage->rows() == 0) return Internal("the rejected-message audit's row is missing");
      return PruneAudit(*lease_conn_, usage->Int(0, 0), usage->Int(0, 1));
    }();
    if (pruned.ok()) pruned = lease_conn_->Run("COMMIT");
    if (!pruned.ok()) {
      (void)lease_conn_->Run("ROLLBACK");
      return pruned.WithContext("pruning the rejected-message audit");
    }
  }
  for (auto [slot, role] : {std::pair{&store_conn_, "stores"}, std::pair{&writer_conn_, "writer"},
                             std::pair{&claim_conn_, "claims"}, std::pair{&reader_conn_, "reader"}}) {
    auto conn = Connect(role);
    if (!conn.ok()) return conn.status();
    *slot = std::move(*conn);
  }
  store_thread_ = std::thread([this] {
    NameThisThread("inbox-stores");
    StoreLoop();
  });
  store_id_.store(store_thread_.get_id());
  writer_ = std::thread([this] {
    NameThisThread("inbox-writer");
    WriterLoop();
  });
  writer_id_.store(writer_.get_id());
  lease_thread_ = std::thread([this] {
    NameThisThread("inbox-leases");
    LeaseLoop();
  });
  return Status::Ok();
}

PostgresInbox::~PostgresInbox() {
  Close();
  for (std::thread* thread : {&writer_, &store_thread_}) {
    if (!thread->joinable()) continue;
    if (thread->get_id() == std::this_thread::get_id()) {
      thread->detach();
    } else {
      thread->join();
    }
  }
}

void PostgresInbox::Close() {
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
    closing_ = true;
  }
  work_cv_.notify_all();
  store_cv_.notify_all();
  space_cv_.notify_all();
  // From a callback: that thread exits once it returns; ~ joins.
  if (OnWriterThread() || OnStoreThread()) return;
  if (store_thread_.joinable()) store_thread_.join();
  store_id_.store(std::thread::id());
  if (writer_.joinable()) writer_.join();
  writer_id_.store(std::thread::id());
  {
    std::lock_guard lock(lease_mu_);
    lease_stop_ = true;
  }
  lease_cv_.notify_all();
  if (lease_thread_.joinable()) lease_thread_.join();
  // Claims still held (their results never recorded): back to pending now rather than after the lease.
  const PgArray tokens = HeldClaimTokens(/*forget=*/true);
  if (tokens.size() > 0 && lease_conn_ && !lease_conn_->broken()) {
    (void)ReleaseClaims(*lease_conn_, "claim_token = ANY($1::bigint[])", {tokens.Param()}, kReleasePatienceAtClose);
  }
  writer_conn_.reset();
  store_conn_.reset();
  {
    std::lock_guard lock(claim_mu_);
    claim_conn_.reset();
  }
  {
    std::lock_guard lock(reader_mu_);
    reader_conn_.reset();
  }
  // Explicitly: the server releases a closed session's locks only once its backend has exited, and
  // the same id may be opened again right away.
  if (lease_conn_ && !lease_conn_->broken()) (void)lease_conn_->Run("SELECT pg_advisory_unlock_all()");
  lease_conn_.reset();
}

InboxHealth PostgresInbox::Health() const { return health_.Get(); }

void PostgresInbox::ProbeCommit() {
  std::vector<WriteOp> ops(1);
  // A row of this instance's own (no other instance waits for it), rewritten: a real commit.
  ops[0].apply = [this](PgConn& conn) {
    return conn.Run("INSERT INTO alipaymsg_counters (name, instance, value) VALUES ('commit probe', $1, 0) "
                    "ON CONFLICT (name, instance) DO UPDATE SET value = 0",
                    {PgParam::Text(instance_id_)});
  };
  CommitGroup(ops);
}

Status PostgresInbox::EnsureConnected(PgConn& conn, std::chrono::steady_clock::time_point& last_attempt) {
  if (!conn.broken()) return Status::Ok();
  const auto now = std::chrono::steady_clock::now();
  if (now - last_attempt < kReconnectInterval) {
    return Unavailable("the inbox database " + RedactPgUrl(url_) + " is unreachable (reconnecting)");
  }
  last_attempt = now;
  return conn.Reset().WithContext("inbox " + RedactPgUrl(url_));
}

std::optional<int64_t> PostgresInbox::TokenOf(const std::string& key) {
  std::lock_guard lock(claims_mu_);
  auto it = claims_.find(key);
  if (it == claims_.end()) return std::nullopt;
  return it->second;
}

void PostgresInbox::ForgetClaim(const std::string& key, int64_t token) {
  std::lock_guard lock(claims_mu_);
  auto it = claims_.find(key);
  if (it != claims_.end() && it->second == token) claims_.erase(it);
}

// ---- queueing ----

void PostgresInbox::Enqueue(WriteOp op, bool linger) {
  if (options_.read_only) {
    if (op.finish) op.finish(ReadOnlyRefusal());
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (!closing_) {
      if (linger && options_.complete_linger_ms > 0) {
        lingering_.push_back({std::move(op), std::chrono::steady_clock::now()});
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

Status PostgresInbox::RunWrite(std::function<Status(PgConn&)> apply) {
  WriteOp op;
  op.apply = std::move(apply);
  return RunOp(std::move(op));
}

Status PostgresInbox::RunOp(WriteOp op) {
  if (options_.read_only) return ReadOnlyRefusal();
  Status result;
  std::vector<WriteOp> ops;
  ops.push_back(std::move(op));
  if (OnWriterThread()) {
    ops[0].finish = [&result](const Status& status) { result = status; };
    if (!writer_conn_) return Unavailable("the inbox is closed");
    CommitGroup(ops);
    return result;
  }
  std::promise<Status> promise;
  std::future<Status> future = promise.get_future();
  ops[0].finish = [&promise](const Status& status) { promise.set_value(status); };
  Enqueue(std::move(ops[0]), /*linger=*/false);
  return future.get();
}

void PostgresInbox::StoreAsync(std::vector<InboundMessage> batch, StoreCallback done) {
  if (options_.read_only) {
    if (done) done(ReadOnlyRefusal());
    return;
  }
  const auto count = static_cast<int64_t>(batch.size());
  WriteOp op;
  op.kind = WriteOp::Kind::kStore;
  op.weight = std::max<int64_t>(count, 1);
  op.messages = std::make_shared<std::vector<InboundMessage>>(std::move(batch));
  op.outcomes = std::make_shared<std::vector<StoreOutcome>>();
  op.finish = [outcomes = op.outcomes, done = std::move(done)](const Status& status) {
    if (!done) return;
    if (status.ok()) {
      done(std::move(*outcomes));
    } else {
      done(status);
    }
  };
  if (OnStoreThread() || OnWriterThread()) {
    // From a callback: commit it here as its own group (queueing could wait behind ourselves).
    stored_.fetch_add(count, std::memory_order_relaxed);
    std::vector<WriteOp> ops;
    ops.push_back(std::move(op));
    if (OnStoreThread()) {
      CommitStores(ops);
    } else {
      CommitGroup(ops);
    }
    return;
  }
  {
    std::unique_lock lock(mu_);
    auto has_room = [&] {
      return closing_ || uncommitted_messages_ == 0 || uncommitted_messages_ + op.weight <= options_.max_queued;
    };
    if (!has_room()) {
      store_waiting_.fetch_add(1, std::memory_order_relaxed);
      space_cv_.wait(lock, has_room);
      store_waiting_.fetch_sub(1, std::memory_order_relaxed);
    }
    if (!closing_) {
      uncommitted_messages_ += op.weight;
      stored_.fetch_add(count, std::memory_order_relaxed);
      store_queue_.push_back(std::move(op));
      lock.unlock();
      store_cv_.notify_one();
      return;
    }
  }
  op.finish(Unavailable("the inbox is closed"));
}

Result<std::vector<StoreOutcome>> PostgresInbox::Store(std::vector<InboundMessage> batch) {
  std::promise<Result<std::vector<StoreOutcome>>> promise;
  auto future = promise.get_future();
  StoreAsync(std::move(batch), [&promise](Result<std::vector<StoreOutcome>> r) {
    promise.set_value(std::move(r));
  });
  return future.get();
}

Status PostgresInbox::Complete(const std::string& app_id, const std::string& msg_id,
                               const DispatchResult& result, int64_t now_ms,
                               const std::function<Status(InboxTransaction&)>& in_transaction) {
  std::promise<Status> promise;
  auto future = promise.get_future();
  EnqueueCompletion(app_id, msg_id, result, now_ms, in_transaction,
                    [&promise](Status status) { promise.set_value(std::move(status)); },
                    /*linger=*/false);  // someone waits for it
  return future.get();
}

void PostgresInbox::CompleteAsync(const std::string& app_id, const std::string& msg_id,
                                  const DispatchResult& result, int64_t now_ms,
                                  std::function<Status(InboxTransaction&)> in_transaction,
                                  std::function<void(Status)> done) {
  EnqueueCompletion(app_id, msg_id, result, now_ms, std::move(in_transaction), std::move(done), /*linger=*/true);
}

void PostgresInbox::EnqueueCompletion(const std::string& app_id, const std::string& msg_id,
                                      const DispatchResult& result, int64_t now_ms,
                                      std::function<Status(InboxTransaction&)> in_transaction,
                                      std::function<void(Status)> done, bool linger) {
  WriteOp op;
  op.kind = WriteOp::Kind::kComplete;
  op.app_id = app_id;
  op.msg_id = msg_id;
  op.result = result;
  op.now_ms = now_ms;
  op.effect = std::move(in_transaction);
  op.finish = [done = std::move(done)](const Status& status) {
    if (done) done(status);
  };
  if (OnWriterThread()) {
    if (!writer_conn_) {
      op.finish(Unavailable("the inbox is closed"));
      return;
    }
    std::vector<WriteOp> ops;
    ops.push_back(std::move(op));
    CommitGroup(ops);
    return;
  }
  Enqueue(std::move(op), linger);
}

Status PostgresInbox::RunInTransaction(const std::function<Status(InboxTransaction&)>& body) {
  return RunWrite([this, &body](PgConn& conn) {
    PgTransaction tx(conn, before_commit_);
    return body(tx);
  });
}

}  // namespace inbox
}  // namespace alipaymsg
