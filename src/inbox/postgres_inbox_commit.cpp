// PostgresInbox's writer threads: the group commit of stores, completions and their effects, retried
// against other instances' deadlocks; what each op's caller hears. Opening and queueing are in
// postgres_inbox.cpp.
#include <algorithm>
#include <exception>
#include <set>
#include <string_view>
#include <utility>

#include "inbox/postgres_inbox.h"

namespace alipaymsg::inbox {
namespace {

constexpr int kGroupAttempts = 5;  // deadlocks / serialization failures against other instances

}  // namespace

// ---- the writer thread ----

void PostgresInbox::WriterLoop() {
  const auto linger = std::chrono::milliseconds(options_.complete_linger_ms);
  while (true) {
    std::vector<WriteOp> ops;
    {
      std::unique_lock lock(mu_);
      if (!WaitForWriteGroup(lock, work_cv_, lingering_, queue_, closing_, options_.max_batch, linger, health_,
                             [this] { ProbeCommit(); }, ops)) {
        return;  // closing, and drained
      }
    }
    CommitGroup(ops);
  }
}

void PostgresInbox::StoreLoop() {
  while (true) {
    std::vector<WriteOp> ops;
    int64_t weight = 0;
    {
      std::unique_lock lock(mu_);
      store_cv_.wait(lock, [this] { return closing_ || !store_queue_.empty(); });
      if (store_queue_.empty()) return;  // closing, and drained
      while (!store_queue_.empty() && (ops.empty() || weight + store_queue_.front().weight <= options_.max_batch)) {
        weight += store_queue_.front().weight;
        ops.push_back(std::move(store_queue_.front()));
        store_queue_.pop_front();
      }
    }
    CommitStores(ops);
    {
      std::lock_guard lock(mu_);
      uncommitted_messages_ -= weight;
    }
    space_cv_.notify_all();
  }
}

namespace {

Status Guarded(const std::function<Status()>& run, const char* what) {
  try {
    return run();
  } catch (const std::exception& e) {
    return Internal(std::string(what) + " threw: " + e.what());
  } catch (...) {
    return Internal(std::string(what) + " threw a non-standard exception");
  }
}

bool Retryable(const std::string& sqlstate) {
  return sqlstate == "40P01" || sqlstate == "40001";  // deadlock_detected, serialization_failure
}

// Whether the last failure on `conn` says that the database cannot commit now (rather than that one
// request was wrong): the connection is gone, or the server is out of space or memory, shutting
// down, failing on I/O or damaged, or read-only (a standby after a failover).
bool CannotCommit(const PgConn& conn) {
  if (conn.broken()) return true;
  const std::string& state = conn.last_sqlstate();
  static constexpr std::string_view kClasses[] = {"08", "53", "57P", "58", "XX"};
  for (std::string_view prefix : kClasses) {
    if (state.starts_with(prefix)) return true;
  }
  return state == "25006";  // read_only_sql_transaction
}

}  // namespace

void PostgresInbox::CommitGroup(std::vector<WriteOp>& ops) {
  std::vector<Status> results(ops.size());
  Status group;
  std::optional<Status> fault;
  bool batch_effects = true;
  for (int attempt = 1; attempt <= kGroupAttempts; ++attempt) {
    bool retryable = false, rerun_alone = false;
    fault.reset();
    std::fill(results.begin(), results.end(), Status::Ok());
    for (WriteOp& op : ops) {
      if (op.outcomes) op.outcomes->clear();
      op.effect_failed = false;
    }
    group = TryGroup(ops, results, retryable, fault, batch_effects, rerun_alone);
    if (rerun_alone && batch_effects) {
      batch_effects = false;  // an effect failed: find out which, and fail only its request
      --attempt;
      continue;
    }
    if (group.ok() || !retryable) break;
  }
  FinishGroup(ops, group, results, fault);
}

void PostgresInbox::CommitStores(std::vector<WriteOp>& ops) {
  std::vector<Status> results(ops.size());
  std::vector<WriteOp*> stores;
  for (WriteOp& op : ops) stores.push_back(&op);
  Status group;
  std::optional<Status> fault;
  for (int attempt = 1; attempt <= kGroupAttempts; ++attempt) {
    fault.reset();
    std::fill(results.begin(), results.end(), Status::Ok());
    if (!store_conn_) {
      group = Unavailable("the inbox is closed");
      break;
    }
    PgConn& conn = *store_conn_;
    group = EnsureConnected(conn, store_reconnect_);
    if (!group.ok()) {
      fault = group;
      break;
    }
    // One statement without BEGIN: it commits by itself (or not at all).
    group = ApplyStores(conn, stores, results, ops);
    if (group.ok()) break;
    if (CannotCommit(conn)) fault = group;
    if (!Retryable(conn.last_sqlstate())) break;
  }
  FinishGroup(ops, group, results, fault);
}

void PostgresInbox::FinishGroup(std::vector<WriteOp>& ops, const Status& group, const std::vector<Status>& results,
                                const std::optional<Status>& fault) {
  if (group.ok()) commits_.fetch_add(1, std::memory_order_relaxed);
  if (fault) {
    health_.NoteFault(*fault);
    if (!OnWriterThread()) {
      // The writer probes while unhealthy: wake it if it went to sleep before this fault (under mu_,
      // so that it either sees the fault or is already waiting for this notification).
      { std::lock_guard lock(mu_); }
      work_cv_.notify_all();
    }
  } else if (group.ok() && std::any_of(results.begin(), results.end(), [](const Status& s) { return s.ok(); })) {
    health_.NoteWritten();  // every request of ours that succeeds writes (and COMMIT went through)
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    WriteOp& op = ops[i];
    const Status& status = group.ok() ? results[i] : group;
    if (op.kind == WriteOp::Kind::kComplete) {
      // A claim whose effect failed stays ours (the dispatcher records that failure next); any other
      // outcome ends it here: done, refused, or unknown (then its lease lapses and the message goes
      // back to pending for whoever claims it next).
      if (!(group.ok() && op.effect_failed)) {
        const std::string key = Key(op.app_id, op.msg_id);
        if (auto token = TokenOf(key)) ForgetClaim(key, *token);
      }
    }
    if (!op.finish) continue;
    try {
      op.finish(status);
    } catch (...) {
    }
  }
}

Status PostgresInbox::TryGroup(std::vector<WriteOp>& ops, std::vector<Status>& results, bool& retryable,
                               std::optional<Status>& fault, bool batch_effects, bool& rerun_alone) {
  if (!writer_conn_) return Unavailable("the inbox is closed");
  PgConn& conn = *writer_conn_;
  if (Status connected = EnsureConnected(conn, writer_reconnect_); !connected.ok()) {
    fault = connected;
    return connected;
  }
  std::vector<WriteOp*> stores;
  std::vector<size_t> plain, others, audits;
  for (size_t i = 0; i < ops.size(); ++i) {
    WriteOp& op = ops[i];
    if (op.kind == WriteOp::Kind::kStore) {
      stores.push_back(&op);
    } else if (op.kind == WriteOp::Kind::kComplete && !op.effect) {
      plain.push_back(i);
    } else if (op.kind == WriteOp::Kind::kAudit) {
      audits.push_back(i);
    } else {
      others.push_back(i);
    }
  }
  // Completions with effects join the plain ones when nothing else in the group needs a savepoint
  // (another write's savepoint could otherwise undo some of an all_or_nothing effect's work).
  std::vector<size_t> effects;
  if (batch_effects && !others.empty() &&
      std::all_of(others.begin(), others.end(), [&ops](size_t i) { return ops[i].kind == WriteOp::Kind::kComplete; })) {
    effects = std::move(others);
    others.clear();
    plain.insert(plain.end(), effects.begin(), effects.end());
  }
  // A group of stores alone is one statement: it commits by itself, one round trip.
  const bool single_statement = plain.empty() && others.empty() && audits.empty();
  auto fail = [&](Status status) {
    retryable = Retryable(conn.last_sqlstate());
    if (!fault && CannotCommit(conn)) fault = status;
    if (!single_statement && !conn.broken()) (void)conn.Run("ROLLBACK");
    return status;
  };
  if (!single_statement) {
    Status begun = conn.Run("BEGIN");
    if (!begun.ok()) return fail(begun);
  }
  std::vector<BeforeCommitHook> hooks;
  std::vector<BeforeCommitHook>* const outer = std::exchange(before_commit_, &hooks);
  struct Restore {
    std::vector<BeforeCommitHook>*& slot;
    std::vector<BeforeCommitHook>* value;
    ~Restore() { slot = value; }
  } restore{before_commit_, outer};

  if (!stores.empty()) {
    Status status = ApplyStores(conn, stores, results, ops);
    if (!status.ok()) return fail(status);
  }
  if (!plain.empty()) {
    Status status = ApplyPlainCompletions(conn, plain, ops, results);
    if (!status.ok()) return fail(status);
  }
  for (size_t i : effects) {  // in queue order (the order of a sink's lines)
    WriteOp& op = ops[i];
    if (!results[i].ok()) continue;  // not recorded (no longer ours): its effect must not happen
    PgTransaction tx(conn, before_commit_, /*all_or_nothing=*/true);
    Status status = Guarded([&] { return op.effect(tx); }, "the completion's effect");
    if (!status.ok()) {
      if (!conn.broken() && !Retryable(conn.last_sqlstate()) && !CannotCommit(conn)) rerun_alone = true;
      return fail(status);
    }
  }
  for (size_t i : others) {
    WriteOp& op = ops[i];
    Status status = conn.Run("SAVEPOINT op");
    if (!status.ok()) return fail(status);
    if (op.kind == WriteOp::Kind::kComplete) {
      status = Guarded([&] { return ApplyCompletion(conn, op); }, "inbox completion");
    } else {
      status = Guarded([&] { return op.apply(conn); }, "inbox write");
    }
    if (!status.ok()) {
      if (conn.broken()) return fail(status);
      if (Retryable(conn.last_sqlstate())) return fail(status);
      if (!fault && CannotCommit(conn)) fault = status;
      Status rolled = conn.Run("ROLLBACK TO SAVEPOINT op");
      if (!rolled.ok()) return fail(rolled);
    }
    Status released = conn.Run("RELEASE SAVEPOINT op");
    if (!released.ok()) return fail(released);
    results[i] = status;
  }
  // Last: its statement locks the audit's row, which must never be held while waiting for another lock.
  if (!audits.empty()) {
    Status status = ApplyAudits(conn, audits, ops);
    if (!status.ok()) return fail(status);
  }
  for (BeforeCommitHook& hook : hooks) {
    Status status = Guarded(hook.run, "inbox before-commit hook");
    if (!status.ok()) return fail(status);
  }
  if (!single_statement) {
    Status committed = conn.Run("COMMIT");
    if (!committed.ok()) return fail(committed);
  }
  return Status::Ok();
}

Status PostgresInbox::ApplyStores(PgConn& conn, std::vector<WriteOp*>& stores,
                                  std::vector<Status>& results, const std::vector<WriteOp>& ops) {
  // One row per distinct key (ON CONFLICT DO UPDATE may touch a row only once per statement), with
  // its count in the group; sorted, so that two instances storing the same redeliveries lock their
  // rows in the same order.
  struct Row {
    const InboundMessage* first;
    int count = 0;
    bool inserted = false;
  };
  std::map<std::pair<std::string, std::string>, Row> rows;
  int64_t total = 0;
  for (WriteOp* op : stores) {
    const size_t index = static_cast<size_t>(op - ops.data());
    for (const InboundMessage& m : *op->messages) {
      if (m.app_id.empty() || m.msg_id.empty()) {
        results[index] = InvalidArgument("cannot store a message without app_id and msg_id (msg_api \"" +
                                         m.msg_api + "\")");
        break;
      }
      if (!IsPgText(m.app_id) || !IsPgText(m.msg_id) || !IsPgText(m.msg_api) || !IsPgText(m.channel)) {
        results[index] = InvalidArgument("cannot store message " + ToPgText(m.msg_id) +
                                         ": app_id, msg_id, msg_api and channel must be UTF-8 text");
        break;
      }
    }
    if (!results[index].ok()) continue;
    for (const InboundMessage& m : *op->messages) {
      Row& row = rows[{m.app_id, m.msg_id}];
      if (row.count++ == 0) row.first = &m;
      ++total;
    }
  }
  if (!rows.empty()) {
    // One statement text whatever the number of rows (arrays, unnested in order), prepared once.
    static const std::string kSql =
        "WITH ins AS (INSERT INTO alipaymsg_messages AS m (app_id, msg_id, msg_api, channel, "
        "received_at_ms, state, updated_at_ms, delivery_count) "
        "SELECT app_id, msg_id, msg_api, channel, received_at_ms, 'pending', received_at_ms, n "
        "FROM unnest($3::text[], $4::text[], $5::text[], $7::text[], $8::bigint[], $9::integer[]) "
        "WITH ORDINALITY AS v(app_id, msg_id, msg_api, channel, received_at_ms, n, ord) ORDER BY ord "
        "ON CONFLICT (app_id, msg_id) DO UPDATE SET delivery_count = m.delivery_count + "
        "EXCLUDED.delivery_count RETURNING m.id, m.app_id, m.msg_id, (m.xmax = 0) AS inserted), "
        // Only a message this statement inserted gets its content: a redelivery's is the same.
        "body AS (INSERT INTO alipaymsg_message_bodies (id, biz_content) "
        "SELECT ins.id, v.biz_content FROM ins JOIN unnest($3::text[], $4::text[], $6::bytea[]) "
        "AS v(app_id, msg_id, biz_content) ON v.app_id = ins.app_id AND v.msg_id = ins.msg_id "
        "WHERE ins.inserted), "
        "bump AS (INSERT INTO alipaymsg_counters (name, instance, value) "
        "SELECT 'duplicates', $2, $1::bigint - (SELECT count(*) FROM ins WHERE inserted) "
        "WHERE $1::bigint > (SELECT count(*) FROM ins WHERE inserted) "
        "ON CONFLICT (name, instance) DO UPDATE SET value = alipaymsg_counters.value + EXCLUDED.value) "
        "SELECT app_id, msg_id, inserted FROM ins";
    PgArray app_ids(PgArray::Type::kText), msg_ids(PgArray::Type::kText), msg_apis(PgArray::Type::kText),
        bodies(PgArray::Type::kBytea), channels(PgArray::Type::kText), received(PgArray::Type::kInt8),
        counts(PgArray::Type::kInt4);
    for (const auto& [key, row] : rows) {  // sorted by key: the lock order
      const InboundMessage& m = *row.first;
      app_ids.AddBytes(m.app_id);
      msg_ids.AddBytes(m.msg_id);
      msg_apis.AddBytes(m.msg_api);
      bodies.AddBytes(m.biz_content);
      channels.AddBytes(m.channel);
      received.AddInt8(m.received_at_ms);
      counts.AddInt4(row.count);
    }
    auto result = conn.ExecPrepared(
        "alipaymsg_store", kSql,
        {PgParam::Int(total), PgParam::Text(instance_id_), app_ids.Param(), msg_ids.Param(), msg_apis.Param(),
         bodies.Param(), channels.Param(), received.Param(), counts.Param()});
    if (!result.ok()) return result.status().WithContext("storing messages");
    for (int r = 0; r < result->rows(); ++r) {
      auto it = rows.find({result->Text(r, 0), result->Text(r, 1)});
      if (it != rows.end()) it->second.inserted = result->Bool(r, 2);
    }
  }
  // Outcomes in order: the first copy of a new key is new, every other copy a duplicate.
  std::set<std::pair<std::string, std::string>> seen;
  for (WriteOp* op : stores) {
    const size_t index = static_cast<size_t>(op - ops.data());
    if (!results[index].ok()) continue;
    op->outcomes->clear();
    for (const InboundMessage& m : *op->messages) {
      std::pair<std::string, std::string> key{m.app_id, m.msg_id};
      const bool fresh = seen.insert(key).second && rows[key].inserted;
      op->outcomes->push_back(fresh ? StoreOutcome::kNew : StoreOutcome::kDuplicate);
    }
  }
  return Status::Ok();
}

namespace {

// Results recorded in one fixed-text statement (prepared once per connection): row i of the arrays
// is one completion, fenced by the claim token this inbox got.
class CompletionRows {
 public:
  void Add(int64_t token, const std::string& app_id, const std::string& msg_id, const DispatchResult& result,
           int64_t now_ms) {
    const bool retry = result.kind == DispatchResult::Kind::kRetry;
    app_ids_.AddBytes(app_id);
    msg_ids_.AddBytes(msg_id);
    tokens_.AddInt8(token);
    states_.AddBytes(StateOfResult(result.kind));
    errors_.AddBytes(ToPgText(result.error));
    nows_.AddInt8(now_ms);
    retries_.AddBool(retry);
    retry_ats_.AddInt8(retry ? result.retry_at_ms : 0);
  }
  bool empty() const { return app_ids_.size() == 0; }
  // The (app_id, msg_id) of each row it changed; only rows still in flight under their token change.
  Result<PgResult> Run(PgConn& conn) const {
    static const std::string kSql =
        "UPDATE alipaymsg_messages AS m SET state = v.state, last_error = v.error, updated_at_ms = v.now, "
        "next_attempt_at_ms = CASE WHEN v.retry THEN v.retry_at ELSE m.next_attempt_at_ms END, "
        "claimed_by = NULL, claim_token = NULL, lease_expires_at = NULL "
        "FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::boolean[], "
        "$8::bigint[]) AS v(app_id, msg_id, token, state, error, now, retry, retry_at) "
        "WHERE m.app_id = v.app_id AND m.msg_id = v.msg_id AND m.state = 'in_flight' AND "
        "m.claim_token = v.token RETURNING m.app_id, m.msg_id";
    return conn.ExecPrepared("alipaymsg_complete", kSql,
                             {app_ids_.Param(), msg_ids_.Param(), tokens_.Param(), states_.Param(), errors_.Param(),
                              nows_.Param(), retries_.Param(), retry_ats_.Param()});
  }

 private:
  PgArray app_ids_{PgArray::Type::kText}, msg_ids_{PgArray::Type::kText}, tokens_{PgArray::Type::kInt8},
      states_{PgArray::Type::kText}, errors_{PgArray::Type::kText}, nows_{PgArray::Type::kInt8},
      retries_{PgArray::Type::kBool}, retry_ats_{PgArray::Type::kInt8};
};

}  // namespace

Status PostgresInbox::ExplainNotInFlight(PgConn& conn, const std::string& app_id, const std::string& msg_id) {
  auto r = conn.Exec("SELECT state, COALESCE(claimed_by, '') FROM alipaymsg_messages WHERE app_id = $1 AND msg_id = $2",
                     {PgParam::Text(ToPgText(app_id)), PgParam::Text(ToPgText(msg_id))});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return NotFound(MessageKey(app_id, msg_id) + " is not in the inbox");
  const std::string state = r->Text(0, 0);
  if (state == "in_flight" || TokenOf(Key(app_id, msg_id))) {
    return InvalidArgument(MessageKey(app_id, msg_id) + " is no longer claimed by instance " + instance_id_ +
                           " (its lease expired and " +
                           (state == "in_flight" ? "instance " + r->Text(0, 1) + " claimed it"
                                                 : "it is now " + state) +
                           "): this result is not recorded");
  }
  return InvalidArgument(MessageKey(app_id, msg_id) + " is " + state + ", not in_flight");
}

Status PostgresInbox::ApplyPlainCompletions(PgConn& conn, std::vector<size_t>& indexes,
                                            std::vector<WriteOp>& ops, std::vector<Status>& results) {
  // Sorted by key (lock order, as for stores); a key completed twice in one group: the later ones
  // go one by one after the batch (they find it no longer in flight).
  std::sort(indexes.begin(), indexes.end(), [&ops](size_t a, size_t b) {
    return std::tie(ops[a].app_id, ops[a].msg_id) < std::tie(ops[b].app_id, ops[b].msg_id);
  });
  CompletionRows rows;
  std::set<std::string> batched;
  std::vector<size_t> later;
  for (size_t i : indexes) {
    WriteOp& op = ops[i];
    const std::string key = Key(op.app_id, op.msg_id);
    std::optional<int64_t> token = TokenOf(key);
    if (!token || !IsPgText(op.app_id) || !IsPgText(op.msg_id) || !batched.insert(key).second) {
      later.push_back(i);
      continue;
    }
    rows.Add(*token, op.app_id, op.msg_id, op.result, op.now_ms);
  }
  std::set<std::string> updated;
  if (!rows.empty()) {
    auto r = rows.Run(conn);
    if (!r.ok()) return r.status().WithContext("recording results");
    for (int row = 0; row < r->rows(); ++row) updated.insert(Key(r->Text(row, 0), r->Text(row, 1)));
  }
  for (size_t i : indexes) {
    WriteOp& op = ops[i];
    if (updated.count(Key(op.app_id, op.msg_id)) && std::find(later.begin(), later.end(), i) == later.end()) {
      continue;
    }
    Status why = ExplainNotInFlight(conn, op.app_id, op.msg_id);
    if (conn.broken() || Retryable(conn.last_sqlstate())) return why;
    results[i] = why.ok() ? Internal("result not recorded") : why;
  }
  return Status::Ok();
}

Status PostgresInbox::ApplyCompletion(PgConn& conn, WriteOp& op) {
  std::optional<int64_t> token = TokenOf(Key(op.app_id, op.msg_id));
  if (!token || !IsPgText(op.app_id) || !IsPgText(op.msg_id)) return ExplainNotInFlight(conn, op.app_id, op.msg_id);
  CompletionRows rows;
  rows.Add(*token, op.app_id, op.msg_id, op.result, op.now_ms);
  auto r = rows.Run(conn);
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return ExplainNotInFlight(conn, op.app_id, op.msg_id);
  if (!op.effect) return Status::Ok();
  PgTransaction tx(conn, before_commit_);
  Status status = Guarded([&] { return op.effect(tx); }, "the completion's effect");
  op.effect_failed = !status.ok();
  return status;
}

}  // namespace alipaymsg::inbox
