// SqliteInbox's requests (store, claim, complete, replay, audit) as the writer thread runs them, and
// its reads on the second connection. The connections, the writer thread and the group commit are
// in sqlite_inbox.cpp.
#include <algorithm>
#include <exception>
#include <future>
#include <utility>

#include "inbox/backend_common.h"
#include "inbox/schema.h"
#include "inbox/sqlite_inbox.h"

namespace alipaymsg::inbox {
namespace {

class SqliteTransaction final : public InboxTransaction {
 public:
  SqliteTransaction(sqlite3* db, std::vector<SqliteInbox::BeforeCommitHook>* hooks)
      : db_(db), hooks_(hooks) {}
  void* native() override { return db_; }
  bool BeforeCommit(const void* key, std::function<Status()> hook) override {
    if (hooks_ == nullptr) return false;  // not inside a group (cannot happen for our writes)
    for (const auto& registered : *hooks_) {
      if (registered.key == key) return false;
    }
    hooks_->push_back({key, std::move(hook)});
    return true;
  }

 private:
  sqlite3* db_;
  std::vector<SqliteInbox::BeforeCommitHook>* hooks_;
};


// Why a conditional update on one message changed nothing: absent, or in another state.
Status ExplainNoChange(Db& db, const std::string& app_id, const std::string& msg_id,
                       std::string_view expected) {
  auto query = db.Prepare("SELECT state FROM messages WHERE app_id = ?1 AND msg_id = ?2");
  if (!query.ok()) return query.status();
  (*query)->Bind(1, app_id).Bind(2, msg_id);
  Result<bool> row = (*query)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound(MessageKey(app_id, msg_id) + " is not in the inbox");
  return InvalidArgument(MessageKey(app_id, msg_id) + " is " + (*query)->Text(0) + ", not " +
                         std::string(expected));
}

}  // namespace

// ---- writes ----

namespace {

const std::string kInsertMessage =
    "INSERT INTO messages (app_id, msg_id, msg_api, channel, received_at_ms, state, updated_at_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?5) ON CONFLICT (app_id, msg_id) DO NOTHING";
// The same, claimed as it is inserted (as Claim would: in flight, first attempt).
const std::string kInsertClaimedMessage =
    "INSERT INTO messages (app_id, msg_id, msg_api, channel, received_at_ms, state, attempts, updated_at_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, 'in_flight', 1, ?5) ON CONFLICT (app_id, msg_id) DO NOTHING";
const std::string kInsertBody = "INSERT INTO message_bodies (id, biz_content) VALUES (?1, ?2)";


// Inserts each message unless its (app_id, msg_id) is already there (this batch included); a
// duplicate only bumps its delivery_count and the duplicates counter. New messages are inserted
// claimed (appended to `claimed`) while it holds fewer than `reserved`; `left_pending` is set when
// a new one is not.
Status InsertMessages(Db& db, std::vector<InboundMessage>& messages, std::vector<StoreOutcome>& outcomes,
                      int reserved, std::vector<InboundMessage*>& claimed, bool& left_pending) {
  outcomes.clear();
  outcomes.reserve(messages.size());
  auto insert = db.Prepare(kInsertMessage);
  if (!insert.ok()) return insert.status();
  std::unique_ptr<Stmt> insert_claimed;  // only when this group may claim
  if (reserved > 0) {
    auto prepared = db.Prepare(kInsertClaimedMessage);
    if (!prepared.ok()) return prepared.status();
    insert_claimed = std::move(*prepared);
  }
  auto insert_body = db.Prepare(kInsertBody);
  if (!insert_body.ok()) return insert_body.status();
  static const std::string kBumpDeliveryCount =
      "UPDATE messages SET delivery_count = delivery_count + 1 WHERE app_id = ?1 AND msg_id = ?2";
  auto bump = db.Prepare(kBumpDeliveryCount);
  if (!bump.ok()) return bump.status();
  int64_t duplicates = 0;
  for (InboundMessage& m : messages) {
    if (m.app_id.empty() || m.msg_id.empty()) {
      return InvalidArgument("cannot store a message without app_id and msg_id (msg_api \"" +
                             m.msg_api + "\")");
    }
    const bool claiming = static_cast<int>(claimed.size()) < reserved;
    Stmt& stmt = claiming ? *insert_claimed : **insert;
    stmt.Bind(1, m.app_id).Bind(2, m.msg_id).Bind(3, m.msg_api).Bind(4, m.channel);
    stmt.Bind(5, m.received_at_ms);
    ALIPAYMSG_RETURN_IF_ERROR(stmt.Run());
    if (db.Changes() == 1) {
      (*insert_body)->Bind(1, db.LastInsertRowid()).Bind(2, m.biz_content);
      ALIPAYMSG_RETURN_IF_ERROR((*insert_body)->Run());
      outcomes.push_back(StoreOutcome::kNew);
      if (claiming) {
        claimed.push_back(&m);
      } else {
        left_pending = true;
      }
      continue;
    }
    outcomes.push_back(StoreOutcome::kDuplicate);
    ++duplicates;
    (*bump)->Bind(1, m.app_id).Bind(2, m.msg_id);
    ALIPAYMSG_RETURN_IF_ERROR((*bump)->Run());
  }
  if (duplicates > 0) {
    auto count = db.Prepare("UPDATE counters SET value = value + ?1 WHERE name = 'duplicates'");
    if (!count.ok()) return count.status();
    (*count)->Bind(1, duplicates);
    ALIPAYMSG_RETURN_IF_ERROR((*count)->Run());
  }
  return Status::Ok();
}

}  // namespace

SqliteInbox::WriteOp SqliteInbox::MakeStoreOp(std::vector<InboundMessage> batch,
                                              StoreCallback done) {
  auto messages = std::make_shared<std::vector<InboundMessage>>(std::move(batch));
  auto outcomes = std::make_shared<std::vector<StoreOutcome>>();
  WriteOp op;
  op.weight = std::max<int64_t>(static_cast<int64_t>(messages->size()), 1);
  op.is_store = true;
  op.apply = [this, messages, outcomes](Db& db) {
    if (group_claim_ == nullptr) {
      std::vector<InboundMessage*> none;
      bool left_pending = false;
      return InsertMessages(db, *messages, *outcomes, 0, none, left_pending);
    }
    // A failed request's rows roll back with its savepoint: so do its claims.
    GroupClaim& claim = *group_claim_;
    const size_t mark = claim.claimed.size();
    bool left_pending = false;
    Status status;
    try {
      status = InsertMessages(db, *messages, *outcomes, claim.reserved, claim.claimed, left_pending);
    } catch (...) {
      claim.claimed.resize(mark);  // rolled back by the caller, as for an error
      throw;
    }
    if (status.ok()) {
      claim.left_pending = claim.left_pending || left_pending;
    } else {
      claim.claimed.resize(mark);
    }
    return status;
  };
  op.finish = [outcomes, done = std::move(done)](const Status& status) {
    if (!done) return;
    if (status.ok()) {
      done(std::move(*outcomes));
    } else {
      done(status);
    }
  };
  return op;
}

void SqliteInbox::StoreAsync(std::vector<InboundMessage> batch, StoreCallback done) {
  if (options_.read_only) {
    if (done) done(ReadOnlyRefusal());
    return;
  }
  const auto count = static_cast<int64_t>(batch.size());
  WriteOp op = MakeStoreOp(std::move(batch), std::move(done));
  {
    std::unique_lock lock(mu_);
    // Backpressure: wait for room, except on the writer thread (it is the one making room) and for
    // a batch larger than the whole queue (it goes alone once the queue is empty).
    auto has_room = [&] {
      return closing_ || uncommitted_messages_ == 0 || uncommitted_messages_ + op.weight <= options_.max_queued;
    };
    if (!OnWriterThread() && !has_room()) {
      store_waiting_.fetch_add(1, std::memory_order_relaxed);
      space_cv_.wait(lock, has_room);
      store_waiting_.fetch_sub(1, std::memory_order_relaxed);
    }
    if (!closing_) {
      uncommitted_messages_ += op.weight;
      stored_.fetch_add(count, std::memory_order_relaxed);
      queue_.push_back(std::move(op));
      lock.unlock();
      work_cv_.notify_one();
      return;
    }
  }
  op.finish(Unavailable("the inbox is closed"));
}

Result<std::vector<StoreOutcome>> SqliteInbox::Store(std::vector<InboundMessage> batch) {
  std::optional<Result<std::vector<StoreOutcome>>> result;
  if (OnWriterThread()) {
    // From a callback: queueing would wait behind ourselves, so commit it here as its own group.
    if (!writer_db_) return Unavailable("the inbox is closed");
    stored_.fetch_add(static_cast<int64_t>(batch.size()), std::memory_order_relaxed);
    std::vector<WriteOp> ops;
    ops.push_back(MakeStoreOp(std::move(batch), [&result](Result<std::vector<StoreOutcome>> r) {
      result.emplace(std::move(r));
    }));
    CommitGroup(ops);
    return std::move(*result);
  }
  std::promise<Result<std::vector<StoreOutcome>>> promise;
  auto future = promise.get_future();
  StoreAsync(std::move(batch), [&promise](Result<std::vector<StoreOutcome>> r) {
    promise.set_value(std::move(r));
  });
  return future.get();
}

namespace {

// AuditBytes of a row of `rejected`, in SQL.
constexpr const char* kAuditBytesSql =
    "length(CAST(app_id AS BLOB)) + length(CAST(msg_id AS BLOB)) + length(CAST(msg_api AS BLOB)) + "
    "length(CAST(reason AS BLOB)) + length(CAST(raw_frame AS BLOB)) + length(CAST(channel AS BLOB))";

}  // namespace

Status SqliteInbox::CountAudit(Db& db) {
  auto stmt = db.Prepare(std::string("SELECT COUNT(*), COALESCE(SUM(") + kAuditBytesSql + "), 0) FROM rejected");
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  audit_rows_ = *row ? (*stmt)->Int(0) : 0;
  audit_bytes_ = *row ? (*stmt)->Int(1) : 0;
  ALIPAYMSG_RETURN_IF_ERROR((*stmt)->Run());
  audit_counts_known_ = true;
  return Status::Ok();
}

Status SqliteInbox::PruneAudit(Db& db) {
  const RejectedAuditLimits& limits = options_.rejected;
  if (!AuditOverLimits(audit_rows_, audit_bytes_, limits)) return Status::Ok();
  auto prune = db.Prepare(std::string("DELETE FROM rejected WHERE id IN (SELECT id FROM rejected ORDER BY id "
                                      "LIMIT ?1) RETURNING ") + kAuditBytesSql);
  if (!prune.ok()) return prune.status();
  while (int64_t n = AuditRowsToPrune(audit_rows_, audit_bytes_, limits)) {
    (*prune)->Reset();
    (*prune)->Bind(1, n);
    int64_t deleted = 0;
    while (true) {
      Result<bool> row = (*prune)->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      ++deleted;
      --audit_rows_;
      audit_bytes_ -= (*prune)->Int(0);
    }
    if (deleted == 0) break;  // the table is empty: the counts had drifted (another writer pruned)
  }
  if (audit_rows_ <= 0) audit_rows_ = audit_bytes_ = 0;
  return Status::Ok();
}

Status SqliteInbox::RecordRejected(const RejectedMessage& rejected) {
  const RejectedMessage r = BoundedForAudit(rejected, options_.rejected);
  return RunWrite([this, &r](Db& db) -> Status {
    Status status = [&]() -> Status {
      if (!audit_counts_known_) ALIPAYMSG_RETURN_IF_ERROR(CountAudit(db));
      auto stmt = db.Prepare(
          "INSERT INTO rejected (app_id, msg_id, msg_api, reason, raw_frame, channel, "
          "received_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      if (!stmt.ok()) return stmt.status();
      (*stmt)->Bind(1, r.app_id).Bind(2, r.msg_id).Bind(3, r.msg_api).Bind(4, r.reason);
      (*stmt)->Bind(5, r.raw_frame).Bind(6, r.channel).Bind(7, r.received_at_ms);
      ALIPAYMSG_RETURN_IF_ERROR((*stmt)->Run());
      ++audit_rows_;
      audit_bytes_ += AuditBytes(r);
      auto count = db.Prepare("UPDATE counters SET value = value + 1 WHERE name = 'rejected'");
      if (!count.ok()) return count.status();
      ALIPAYMSG_RETURN_IF_ERROR((*count)->Run());
      return PruneAudit(db);
    }();
    // Rolled back with its savepoint: the counts in memory no longer match the table.
    if (!status.ok()) audit_counts_known_ = false;
    return status;
  }, /*durable=*/false);  // best-effort audit: no fsync of its own (a flood must not cost one per frame)
}

Result<std::vector<StoredMessage>> SqliteInbox::Claim(int max, int64_t now_ms) {
  if (max <= 0) return std::vector<StoredMessage>{};
  std::vector<std::pair<int64_t, StoredMessage>> claimed;
  Status status = RunWrite([&](Db& db) -> Status {
    claimed.clear();
    auto stmt = db.Prepare(std::string(
        "UPDATE messages SET state = 'in_flight', attempts = attempts + 1, updated_at_ms = ?1 "
        "WHERE rowid IN (SELECT rowid FROM messages WHERE state = 'pending' AND "
        "next_attempt_at_ms <= ?1 ORDER BY next_attempt_at_ms, rowid LIMIT ?2) RETURNING rowid, ") +
        kMessageColumns);
    if (!stmt.ok()) return stmt.status();
    (*stmt)->Bind(1, now_ms).BindInt(2, max);
    while (true) {
      Result<bool> row = (*stmt)->Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::Ok();
      claimed.emplace_back((*stmt)->Int(0), ReadStoredMessage(**stmt, 1));
    }
  }, /*durable=*/false);
  if (!status.ok()) return status;
  // RETURNING gives no order: hand them out oldest due first, then in arrival order.
  std::sort(claimed.begin(), claimed.end(), [](const auto& a, const auto& b) {
    if (a.second.next_attempt_at_ms != b.second.next_attempt_at_ms) {
      return a.second.next_attempt_at_ms < b.second.next_attempt_at_ms;
    }
    return a.first < b.first;
  });
  std::vector<StoredMessage> out;
  out.reserve(claimed.size());
  for (auto& [rowid, message] : claimed) out.push_back(std::move(message));
  return out;
}

Result<std::optional<StoredMessage>> SqliteInbox::ClaimOne(const std::string& app_id,
                                                           const std::string& msg_id,
                                                           int64_t now_ms) {
  std::optional<StoredMessage> claimed;
  Status status = RunWrite([&](Db& db) -> Status {
    claimed.reset();
    auto stmt = db.Prepare(std::string(
        "UPDATE messages SET state = 'in_flight', attempts = attempts + 1, updated_at_ms = ?3 "
        "WHERE app_id = ?1 AND msg_id = ?2 AND state = 'pending' RETURNING ") + kMessageColumns);
    if (!stmt.ok()) return stmt.status();
    (*stmt)->Bind(1, app_id).Bind(2, msg_id).Bind(3, now_ms);
    Result<bool> row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (*row) claimed = ReadStoredMessage(**stmt);
    return (*stmt)->Run();
  }, /*durable=*/false);
  if (!status.ok()) return status;
  return claimed;
}

namespace {

// Records `result` for an in-flight message and runs `in_transaction` in the same savepoint.
Status ApplyComplete(Db& db, const std::string& app_id, const std::string& msg_id,
                     const DispatchResult& result, int64_t now_ms,
                     const std::function<Status(InboxTransaction&)>& in_transaction,
                     std::vector<SqliteInbox::BeforeCommitHook>* hooks) {
  static const std::string kCompleteRetry =
      "UPDATE messages SET state = ?3, last_error = ?4, updated_at_ms = ?5, "
      "next_attempt_at_ms = ?6 WHERE app_id = ?1 AND msg_id = ?2 AND state = 'in_flight'";
  static const std::string kComplete =
      "UPDATE messages SET state = ?3, last_error = ?4, updated_at_ms = ?5 "
      "WHERE app_id = ?1 AND msg_id = ?2 AND state = 'in_flight'";
  const bool retry = result.kind == DispatchResult::Kind::kRetry;
  auto stmt = db.Prepare(retry ? kCompleteRetry : kComplete);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, app_id).Bind(2, msg_id).Bind(3, std::string_view(StateOfResult(result.kind)));
  (*stmt)->Bind(4, result.error).Bind(5, now_ms);
  if (retry) (*stmt)->Bind(6, result.retry_at_ms);
  ALIPAYMSG_RETURN_IF_ERROR((*stmt)->Run());
  if (db.Changes() == 0) return ExplainNoChange(db, app_id, msg_id, "in_flight");
  if (in_transaction) {
    SqliteTransaction tx(db.handle(), hooks);
    return in_transaction(tx);
  }
  return Status::Ok();
}

}  // namespace

Status SqliteInbox::Complete(const std::string& app_id, const std::string& msg_id,
                             const DispatchResult& result, int64_t now_ms,
                             const std::function<Status(InboxTransaction&)>& in_transaction) {
  return RunWrite([&](Db& db) {
    return ApplyComplete(db, app_id, msg_id, result, now_ms, in_transaction, before_commit_);
  });
}

void SqliteInbox::CompleteAsync(const std::string& app_id, const std::string& msg_id,
                                const DispatchResult& result, int64_t now_ms,
                                std::function<Status(InboxTransaction&)> in_transaction,
                                std::function<void(Status)> done) {
  QueueWrite(
      [this, app_id, msg_id, result, now_ms, in_transaction = std::move(in_transaction)](Db& db) {
        return ApplyComplete(db, app_id, msg_id, result, now_ms, in_transaction, before_commit_);
      },
      [done = std::move(done)](const Status& status) {
        if (done) done(status);
      },
      /*linger=*/true);
}

Result<int> SqliteInbox::Replay(std::optional<std::string> app_id,
                                std::optional<std::string> msg_id, int64_t now_ms) {
  int replayed = 0;
  Status status = RunWrite([&](Db& db) -> Status {
    std::string sql =
        "UPDATE messages SET state = 'pending', attempts = 0, next_attempt_at_ms = ?1, "
        "updated_at_ms = ?1 WHERE state IN ('dead', 'unhandled')";
    if (app_id) sql += " AND app_id = ?2";
    if (msg_id) sql += " AND msg_id = ?3";
    auto stmt = db.Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    (*stmt)->Bind(1, now_ms);
    if (app_id) (*stmt)->Bind(2, *app_id);
    if (msg_id) (*stmt)->Bind(3, *msg_id);
    ALIPAYMSG_RETURN_IF_ERROR((*stmt)->Run());
    replayed = static_cast<int>(db.Changes());
    if (replayed == 0 && app_id && msg_id) {
      Status why = ExplainNoChange(db, *app_id, *msg_id, "dead or unhandled");
      if (why.code() == StatusCode::kNotFound) return why;
    }
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return replayed;
}

// ---- reads (second connection) ----

Result<std::optional<StoredMessage>> SqliteInbox::Get(const std::string& app_id,
                                                      const std::string& msg_id) {
  std::lock_guard lock(reader_mu_);
  if (!reader_db_) return Unavailable("the inbox is closed");
  auto stmt = reader_db_->Prepare(std::string("SELECT ") + kMessageColumns +
                                  " FROM messages WHERE app_id = ?1 AND msg_id = ?2");
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, app_id).Bind(2, msg_id);
  Result<bool> row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<StoredMessage>();
  return std::optional<StoredMessage>(ReadStoredMessage(**stmt));
}

Result<std::vector<StoredMessage>> SqliteInbox::List(std::optional<MessageState> state, int limit) {
  InboxQuery query;
  query.state = state;
  query.limit = limit;
  return Find(query);
}

Result<std::vector<StoredMessage>> SqliteInbox::Find(const InboxQuery& query) {
  std::string where;
  auto add = [&where](const char* condition) { where += (where.empty() ? " WHERE " : " AND ") + std::string(condition); };
  if (query.state) add("state = ?2");
  if (!query.app_id.empty()) add("app_id = ?3");
  std::string api = query.msg_api;
  const bool prefix = api.ends_with("*");
  if (prefix) api.pop_back();  // "alipay.open.*" -> "alipay.open.", "*" -> ""
  if (!api.empty()) add(prefix ? "substr(msg_api, 1, length(?4)) = ?4" : "msg_api = ?4");
  std::lock_guard lock(reader_mu_);
  if (!reader_db_) return Unavailable("the inbox is closed");
  auto stmt = reader_db_->Prepare(std::string("SELECT ") + kMessageColumns + " FROM messages" + where +
                                  " ORDER BY rowid DESC LIMIT ?1");
  if (!stmt.ok()) return stmt.status();
  (*stmt)->BindInt(1, query.limit < 0 ? -1 : query.limit);
  if (query.state) (*stmt)->Bind(2, ToString(*query.state));
  if (!query.app_id.empty()) (*stmt)->Bind(3, query.app_id);
  if (!api.empty()) (*stmt)->Bind(4, api);
  std::vector<StoredMessage> out;
  while (true) {
    Result<bool> row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(ReadStoredMessage(**stmt));
  }
}

Result<std::optional<int64_t>> SqliteInbox::NextDueMs() {
  std::lock_guard lock(reader_mu_);
  if (!reader_db_) return Unavailable("the inbox is closed");
  auto stmt =
      reader_db_->Prepare("SELECT MIN(next_attempt_at_ms) FROM messages WHERE state = 'pending'");
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  if (!*row || (*stmt)->IsNull(0)) return std::optional<int64_t>();
  return std::optional<int64_t>((*stmt)->Int(0));
}

Result<InboxStats> SqliteInbox::Stats() {
  InboxStats stats;
  stats.commits = commits_.load(std::memory_order_relaxed);
  stats.stored = stored_.load(std::memory_order_relaxed);
  stats.store_waiting = store_waiting_.load(std::memory_order_relaxed);
  std::lock_guard lock(reader_mu_);
  if (!reader_db_) return Unavailable("the inbox is closed");
  // One read transaction so the numbers are from one snapshot.
  ALIPAYMSG_RETURN_IF_ERROR(reader_db_->Exec("BEGIN"));
  auto read = [&]() -> Status {
    auto by_state = reader_db_->Prepare("SELECT state, COUNT(*) FROM messages GROUP BY state");
    if (!by_state.ok()) return by_state.status();
    while (true) {
      Result<bool> row = (*by_state)->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      int64_t n = (*by_state)->Int(1);
      switch (ParseState((*by_state)->Text(0)).value_or(MessageState::kDead)) {
        case MessageState::kPending: stats.pending += n; break;
        case MessageState::kInFlight: stats.in_flight += n; break;
        case MessageState::kDone: stats.done += n; break;
        case MessageState::kDead: stats.dead += n; break;
        case MessageState::kUnhandled: stats.unhandled += n; break;
      }
    }
    auto counts = reader_db_->Prepare(
        "SELECT (SELECT COUNT(*) FROM rejected), "
        "(SELECT value FROM counters WHERE name = 'duplicates'), "
        "(SELECT value FROM counters WHERE name = 'rejected')");
    if (!counts.ok()) return counts.status();
    Result<bool> row = (*counts)->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      stats.rejected = (*counts)->Int(0);
      stats.duplicates = (*counts)->Int(1);
      // An inbox last written by an older build has no such counter: its rows are all there.
      stats.rejected_total = (*counts)->IsNull(2) ? stats.rejected : (*counts)->Int(2);
    }
    return (*counts)->Run();
  };
  Status status = read();
  (void)reader_db_->Exec("COMMIT");
  if (!status.ok()) return status;
  return stats;
}

}  // namespace alipaymsg::inbox
