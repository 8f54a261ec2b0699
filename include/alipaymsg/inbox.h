// The inbox: a durable store keyed by (app_id, msg_id) that makes processing idempotent.
// Every verified message is committed here before it is acked; dispatch reads from here.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alipaymsg/status.h"

namespace alipaymsg {

// A verified message as received (WebSocket CONSUME or HTTP notification).
struct InboundMessage {
  std::string app_id;
  std::string msg_id;        // x-msgId, or notify_id for HTTP notifications
  std::string msg_api;       // msgApi / msg_method (notify_type for classic trade notifications)
  std::string biz_content;   // raw JSON text, exactly as on the wire
  std::string channel;       // "websocket" or "http"
  int64_t received_at_ms = 0;
};

// A message that failed verification: kept for audit, never dispatched.
struct RejectedMessage {
  std::string app_id;
  std::string msg_id;
  std::string msg_api;
  std::string reason;        // why it was rejected (no key material)
  std::string raw_frame;     // the frame or form body as received
  std::string channel;
  int64_t received_at_ms = 0;
};

// Bounds on the audit of rejected messages: a peer that can inject frames (a hostile server, anyone
// on the path without TLS) must not be able to fill the disk with them. Every Inbox honours them:
// the oldest rows go first. The number of rejections stays exact (InboxStats::rejected_total).
struct RejectedAuditLimits {
  int64_t max_rows = 10000;        // rows kept at most
  int64_t max_bytes = 4 << 20;     // bytes of text kept at most (AuditBytes summed over the rows)
  int64_t max_frame_bytes = 2048;  // raw_frame kept up to this length, then cut (and marked so)
};

// The record as the audit keeps it: raw_frame cut to limits.max_frame_bytes (at a UTF-8 boundary,
// followed by a note of the original length), the other frame-supplied fields to 256 bytes.
RejectedMessage BoundedForAudit(const RejectedMessage& rejected, const RejectedAuditLimits& limits);
// What one kept record counts against RejectedAuditLimits::max_bytes: the bytes of its texts.
int64_t AuditBytes(const RejectedMessage& rejected);

enum class StoreOutcome {
  kNew,        // first time seen: will be dispatched
  kDuplicate,  // already in the inbox (redelivery): ack SUCCESS, do not dispatch again
};

enum class MessageState {
  kPending,    // waiting for (its next) dispatch attempt
  kInFlight,   // claimed by a dispatcher
  kDone,
  kDead,       // gave up after N attempts, or rejected by the handler
  kUnhandled,  // no handler for its msgApi
};
std::string_view ToString(MessageState state);

struct StoredMessage {
  InboundMessage message;
  MessageState state = MessageState::kPending;
  int attempts = 0;            // dispatch attempts so far
  int delivery_count = 1;      // times the message arrived (1 + redeliveries seen)
  int64_t next_attempt_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::string last_error;
};

// The result of one dispatch attempt, as the inbox records it.
struct DispatchResult {
  enum class Kind { kDone, kRetry, kDead, kUnhandled } kind = Kind::kDone;
  int64_t retry_at_ms = 0;     // for kRetry
  std::string error;           // for kRetry / kDead / kUnhandled
};

// Whether the inbox can commit writes right now (for readiness): false from a commit that failed on
// a storage fault (disk full, I/O error, damage) until a write commits again.
struct InboxHealth {
  bool can_commit = true;
  std::string reason;        // the storage error, when !can_commit
  int64_t since_ms = 0;      // wall clock of the first failure, when !can_commit
};

struct InboxStats {
  int64_t pending = 0, in_flight = 0, done = 0, dead = 0, unhandled = 0;
  int64_t rejected = 0;        // audit rows kept (the oldest are pruned, see RejectedAuditLimits)
  int64_t rejected_total = 0;  // rejections recorded since the inbox was created, pruned ones included
  int64_t duplicates = 0;      // redeliveries absorbed since the inbox was created
  int64_t commits = 0;         // write transactions (group commits) since this Inbox was opened
  int64_t stored = 0;          // messages passed to Store/StoreAsync since this Inbox was opened
  int64_t store_waiting = 0;   // StoreAsync callers blocked now because the queue is full (backpressure)
  // Whether this opener should report the inbox-wide counts above (pending ... duplicates) in its
  // metrics: false when the inbox is shared and another live instance reports them, so that a sum
  // over instances counts them once. Always true for an inbox of one process (SQLite).
  bool reports_inbox_wide = true;
};

// What Inbox::Find selects; empty members match everything.
struct InboxQuery {
  std::optional<MessageState> state;
  std::string app_id;   // exact
  std::string msg_api;  // exact, "prefix.*" (that prefix, dot included) or "*"
  int limit = 100;      // most recent first; negative: no limit
};

// A transaction of the inbox's own database, handed to code that must commit atomically with the
// inbox (e.g. a handler recording its effect, or a sink's progress). native() is the sqlite3* of a
// SqliteInbox, the PGconn* (libpq, inside BEGIN ... COMMIT) of a PostgresInbox; backend() says which.
class InboxTransaction {
 public:
  virtual ~InboxTransaction() = default;
  virtual void* native() = 0;
  // "sqlite" or "postgresql": what native() points to.
  virtual std::string_view backend() const { return "sqlite"; }

  // Runs `hook` once, after every write of this transaction and right before it commits; an error
  // from it aborts the whole transaction (nothing of it commits, every request in it fails). For
  // effects outside the database that must be durable before the commit records them: e.g. one
  // fsync of a file for all the lines the transaction's writes appended to it. Only the first
  // registration per `key` and transaction counts (true for that one; later ones are ignored).
  // Hooks run in registration order; none runs when the transaction is abandoned.
  virtual bool BeforeCommit(const void* key, std::function<Status()> hook) = 0;

  // True when a failing effect aborts this whole transaction (the inbox then reruns its requests
  // each on its own, where this is false), so that nothing an effect did is ever undone while the
  // rest of the transaction commits. An effect may then keep its bookkeeping in memory and write it
  // once, from its BeforeCommit hook, instead of once per call. False: a failed request's writes
  // are undone on their own (a savepoint) and the others commit.
  virtual bool all_or_nothing() const { return false; }
};

// Takes new messages for dispatch as they are stored (a Dispatcher registers itself with
// Inbox::AddStoreClaimer): a store then claims them in its own transaction, written once and in
// flight, instead of the dispatcher claiming them in a transaction of its own after the store.
// Both calls come from the inbox's writer thread: keep them short and never call the inbox back.
class StoreClaimer {
 public:
  virtual ~StoreClaimer() = default;
  // At the start of a transaction holding stores of `count` messages in all: how many of them may
  // be claimed (0..count), first ones first; duplicates are never claimed. The slots stay reserved
  // until Claimed.
  virtual int Reserve(int count) = 0;
  // After that transaction's commit, exactly once per Reserve: the messages claimed (none of a
  // store that failed, none at all when the commit failed), the number reserved (released now), and
  // whether new messages were left pending (the claimer should claim them later).
  virtual void Claimed(std::vector<StoredMessage> messages, int reserved, bool left_pending) = 0;
};

class Inbox {
 public:
  using StoreCallback = std::function<void(Result<std::vector<StoreOutcome>>)>;

  virtual ~Inbox() = default;

  // Queues `batch` for the next group commit (one transaction and one fsync for everything queued
  // together) and calls `done` after the commit, on the inbox's writer thread, with one outcome per
  // message in order. Only after `done` reports kNew/kDuplicate may a message be acked SUCCESS.
  virtual void StoreAsync(std::vector<InboundMessage> batch, StoreCallback done) = 0;
  // Synchronous convenience over StoreAsync.
  virtual Result<std::vector<StoreOutcome>> Store(std::vector<InboundMessage> batch) = 0;

  // Keeps `rejected` for audit, within the inbox's RejectedAuditLimits (oldest rows pruned), and
  // counts it in rejected_total. Not durable on its own (a power cut may lose the last few records).
  virtual Status RecordRejected(const RejectedMessage& rejected) = 0;

  // Claims up to `max` messages due for dispatch (pending with next_attempt_at_ms <= now),
  // marking them in flight. In-flight messages left by a crash become pending again on open.
  virtual Result<std::vector<StoredMessage>> Claim(int max, int64_t now_ms) = 0;

  // Claims one given message if it is pending, due or not (a dispatch requested right now, e.g. for
  // ack mode after-handle). nullopt when it is absent or not pending (done, dead, in flight, ...).
  // Stores that cannot claim a single message return an error (the default).
  virtual Result<std::optional<StoredMessage>> ClaimOne(const std::string& app_id,
                                                        const std::string& msg_id, int64_t now_ms) {
    (void)app_id, (void)msg_id, (void)now_ms;
    return Status(StatusCode::kUnavailable, "this inbox cannot claim a single message");
  }

  // Makes later stores claim through `claimer`. False when this inbox cannot claim as it stores (the
  // default; the claimer then claims with Claim()) or another claimer is registered.
  virtual bool AddStoreClaimer(StoreClaimer* claimer) {
    (void)claimer;
    return false;
  }
  // Undoes AddStoreClaimer (nothing when `claimer` is not the one registered). Waits until no store
  // is using it, so that it may be destroyed once this returns.
  virtual void RemoveStoreClaimer(StoreClaimer* claimer) { (void)claimer; }

  // The earliest next_attempt_at_ms among pending messages (nullopt: none pending, or the store
  // cannot tell cheaply, the default); a dispatcher sleeps until then instead of polling.
  virtual Result<std::optional<int64_t>> NextDueMs() { return std::optional<int64_t>(); }

  // Records a dispatch result. `in_transaction`, when given, runs inside the same transaction
  // (its error aborts both), so a handler's effect and "done" commit together or not at all.
  virtual Status Complete(const std::string& app_id, const std::string& msg_id,
                          const DispatchResult& result, int64_t now_ms,
                          const std::function<Status(InboxTransaction&)>& in_transaction = {}) = 0;

  // Complete without waiting for the commit: `done` gets its status after the commit (on the
  // writer thread for a SqliteInbox: keep it short), so that many results share one commit. The
  // default runs Complete and then `done`.
  virtual void CompleteAsync(const std::string& app_id, const std::string& msg_id,
                             const DispatchResult& result, int64_t now_ms,
                             std::function<Status(InboxTransaction&)> in_transaction,
                             std::function<void(Status)> done) {
    Status status = Complete(app_id, msg_id, result, now_ms, in_transaction);
    if (done) done(status);
  }

  // Puts dead and unhandled messages (or just the given one) back to pending. Returns how many.
  virtual Result<int> Replay(std::optional<std::string> app_id, std::optional<std::string> msg_id,
                             int64_t now_ms) = 0;

  virtual Result<std::optional<StoredMessage>> Get(const std::string& app_id,
                                                   const std::string& msg_id) = 0;
  // Most recent first; `state` filters when given.
  virtual Result<std::vector<StoredMessage>> List(std::optional<MessageState> state, int limit) = 0;
  // Like List, with filters applied by the store (so a rare app or msgApi costs no full scan in
  // memory). Stores that cannot filter return an error (the default).
  virtual Result<std::vector<StoredMessage>> Find(const InboxQuery& query) {
    (void)query;
    return Status(StatusCode::kUnavailable, "this inbox cannot filter messages");
  }
  virtual Result<InboxStats> Stats() = 0;

  // Runs `body` in a write transaction of its own and commits it (BeforeCommit hooks included): for
  // setup that must live in the inbox's database (e.g. a sink's progress row). Stores that cannot
  // return an error (the default).
  virtual Status RunInTransaction(const std::function<Status(InboxTransaction&)>& body) {
    (void)body;
    return Status(StatusCode::kUnavailable, "this inbox cannot run a transaction of its own");
  }

  // Cheap and thread-safe. Stores that cannot tell report healthy (the default).
  virtual InboxHealth Health() const { return {}; }

  // Flushes queued stores and stops the writer thread. Idempotent.
  virtual void Close() = 0;
};

struct SqliteInboxOptions {
  int max_batch = 512;             // messages per group commit at most
  int max_queued = 8192;           // StoreAsync beyond this blocks the caller (backpressure)
  bool synchronous_full = true;    // fsync per commit (durability); false only for benchmarks
  int busy_timeout_ms = 5000;      // waits this long for another process's lock (e.g. the CLI)
  // CompleteAsync results wait up to this long to share one commit, so that stores (whose acks
  // someone waits for) get commits of their own instead of queueing behind the completions' fsyncs
  // (and a sink's, e.g. jsonl). A completion still commits durably before its callback runs; a crash
  // in the window re-dispatches the message, as a crash during its handling would. 0: no wait.
  // 2 ms: a jsonl line (written in the completion's transaction) appears ~3 ms after delivery instead
  // of ~8 with 10 ms, for ~0.1 ms more ack latency at 2,000 msg/s (BENCHMARKS.md, 2026-12-07).
  int complete_linger_ms = 2;
  // Inspection beside a running daemon (`alipay-msg inbox list/show/stats`): the file must exist
  // (kNotFound otherwise), nothing is ever written, no owner lock is taken and no writer thread runs;
  // every write (Store, Claim, Complete, Replay, ...) fails with kUnavailable.
  bool read_only = false;
  // false: never becomes the owner, so never turns in-flight messages back into pending, even when
  // no daemon holds the lock. For short-lived second writers (`alipay-msg inbox replay`, `send`) that
  // must not race the recovery and first claims of a daemon starting at the same moment.
  bool may_own = true;
  RejectedAuditLimits rejected;    // bounds on the audit of rejected messages
  // The owner runs PRAGMA quick_check at open and refuses a damaged file (IsInboxCorrupt). It
  // reads the whole file: on a very large inbox it gives up after this long and opens it unchecked
  // (`alipay-msg inbox check` runs the full check). 0: no check.
  int quick_check_budget_ms = 20000;
};

// What the inbox at `path` looks like to PRAGMA integrity_check (the full check; read only, safe
// beside a running daemon): the problems found (at most `max_problems`), none when it is sound.
Result<std::vector<std::string>> CheckSqliteInbox(const std::string& path, int max_problems = 100);

// True for the error OpenSqliteInbox (or any inbox call) returns for a damaged file; its message
// says that the inbox is corrupt and what to do.
bool IsInboxCorrupt(const Status& status);

// Opens (creating if needed, unless read_only) a SQLite inbox in WAL mode at `path`. The first
// process to open it (unless may_own is false) becomes its owner (an advisory lock on `path`.lock, released by the kernel if the process dies) and
// turns in-flight messages left by a crash back into pending; later openers (e.g. the CLI inspecting a
// running daemon's inbox) leave them alone. Synchronous calls may be made from a StoreCallback.
Result<std::unique_ptr<Inbox>> OpenSqliteInbox(const std::string& path,
                                               const SqliteInboxOptions& options = {});

// ---- PostgreSQL: one inbox shared by several instances (processes, machines) ----
//
// Claims take a lease: the claiming instance's id, a claim token and an expiry (database time). The
// inbox renews the leases of its own claims until they complete; a claim whose lease has expired (its
// instance died or lost the database) becomes pending again and any instance may claim it. A
// completion is recorded only while its claim token still matches (fencing): a late result of an
// instance whose lease was taken over is refused, never overwriting the new owner's.
struct PostgresInboxOptions {
  // The lease owner, in logs and in the `claimed_by` column. Empty: "<hostname>-<pid>". Held
  // exclusively while open (an advisory lock): a second inbox with the same id fails to open. On
  // open, claims left by an earlier process with this same id go back to pending at once.
  std::string instance_id;
  int lease_ms = 15000;            // a claim's lease; renewed every lease_ms / 3 while held
  int max_batch = 512;             // messages per group commit at most
  int max_queued = 8192;           // StoreAsync beyond this blocks the caller (backpressure)
  int complete_linger_ms = 10;     // as in SqliteInboxOptions (2 there; not measured here yet)
  int connect_timeout_ms = 5000;
  // Used when the URL carries no password (libpq then also tries PGPASSWORD and ~/.pgpass).
  std::string password;
  // Inspection: the schema must exist and have this build's version; nothing is written, no
  // writer or lease thread runs, no instance lock is taken; writes fail with kUnavailable.
  bool read_only = false;
  // false: takes no instance lock and recovers no earlier claims (short-lived CLI writers).
  bool may_own = true;
  // Bounds on the audit of rejected messages. Instances sharing the inbox may differ: each prunes to
  // its own when it records a rejection (and an owning instance at open).
  RejectedAuditLimits rejected;
};

// Connects to `url` ("postgresql://user@host:5432/db" or libpq key=value), creates or migrates the
// schema (under an advisory lock: instances starting together do not race) and opens the inbox.
// Errors never contain the password.
Result<std::unique_ptr<Inbox>> OpenPostgresInbox(const std::string& url,
                                                 const PostgresInboxOptions& options = {});

// The inbox schema version found at `url` (0: not created yet), for `alipay-msg check-config`.
Result<int> PostgresInboxSchemaVersion(const std::string& url, const std::string& password = "",
                                       int connect_timeout_ms = 5000);
// The schema version this build creates and reads.
int PostgresInboxCurrentSchemaVersion();

// `url` with any password replaced by "***" (safe to log).
std::string RedactInboxUrl(std::string_view url);

}  // namespace alipaymsg
