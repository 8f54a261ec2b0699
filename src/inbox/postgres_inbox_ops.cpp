// PostgresInbox's claims (own connection, FOR UPDATE SKIP LOCKED, leases), the writes that go through
// the writer as ordinary requests (replay) and the rejected-message audit, the reads, and the lease
// thread.
#include <algorithm>
#include <chrono>
#include <thread>
#include <tuple>
#include <utility>

#include "inbox/postgres_inbox.h"
#include "inbox/postgres_schema.h"

namespace alipaymsg::inbox {
namespace {

// The claim's SET list: $1 now (ms, the caller's clock, for updated_at_ms), $3 instance, $4 lease ms
// ($2 is the statement's own).
// The lease expiry is database time: instances on machines whose clocks differ agree on it.
constexpr const char* kClaimSet =
    "state = 'in_flight', attempts = m.attempts + 1, updated_at_ms = $1::bigint, claimed_by = $3, "
    "claim_token = nextval('alipaymsg_claim_tokens'), "
    "lease_expires_at = clock_timestamp() + $4::bigint * interval '1 millisecond'";

}  // namespace

Result<std::vector<StoredMessage>> PostgresInbox::Claim(int max, int64_t now_ms) {
  if (options_.read_only) return ReadOnlyRefusal();
  if (max <= 0) return std::vector<StoredMessage>{};
  std::lock_guard lock(claim_mu_);
  if (!claim_conn_) return Unavailable("the inbox is closed");
  ALIPAYMSG_RETURN_IF_ERROR(EnsureConnected(*claim_conn_, claim_reconnect_));
  static const std::string kSql = std::string("UPDATE alipaymsg_messages AS m SET ") + kClaimSet +
                                 " FROM (SELECT id FROM alipaymsg_messages WHERE state = 'pending' AND next_attempt_at_ms <= "
          "$1::bigint ORDER BY next_attempt_at_ms, id LIMIT $2::integer FOR UPDATE SKIP LOCKED) AS c "
          "WHERE m.id = c.id RETURNING m.id, m.claim_token, " +
          kPgMessageColumns;
  auto r = claim_conn_->ExecPrepared("alipaymsg_claim", kSql,
      {PgParam::Int(now_ms), PgParam::Int(max), PgParam::Text(instance_id_), PgParam::Int(options_.lease_ms)});
  if (!r.ok()) return r.status().WithContext("claiming messages");
  std::vector<std::tuple<int64_t, int64_t, StoredMessage>> claimed;
  claimed.reserve(static_cast<size_t>(r->rows()));
  {
    std::lock_guard claims_lock(claims_mu_);
    for (int row = 0; row < r->rows(); ++row) {
      StoredMessage m = ReadPgMessage(*r, row, 2);
      claims_[Key(m.message.app_id, m.message.msg_id)] = r->Int(row, 1);
      claimed.emplace_back(m.next_attempt_at_ms, r->Int(row, 0), std::move(m));
    }
  }
  // RETURNING gives no order: oldest due first, then arrival order.
  std::sort(claimed.begin(), claimed.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
  });
  std::vector<StoredMessage> out;
  out.reserve(claimed.size());
  for (auto& entry : claimed) out.push_back(std::move(std::get<2>(entry)));
  return out;
}

Result<std::optional<StoredMessage>> PostgresInbox::ClaimOne(const std::string& app_id,
                                                             const std::string& msg_id,
                                                             int64_t now_ms) {
  if (options_.read_only) return ReadOnlyRefusal();
  if (!IsPgText(app_id) || !IsPgText(msg_id)) return std::optional<StoredMessage>();
  std::lock_guard lock(claim_mu_);
  if (!claim_conn_) return Unavailable("the inbox is closed");
  ALIPAYMSG_RETURN_IF_ERROR(EnsureConnected(*claim_conn_, claim_reconnect_));
  static const std::string kSql =
      std::string("UPDATE alipaymsg_messages AS m SET ") + kClaimSet +
      " WHERE m.app_id = $2 AND m.msg_id = $5 AND m.state = 'pending' RETURNING m.claim_token, " + kPgMessageColumns;
  auto r = claim_conn_->ExecPrepared("alipaymsg_claim_one", kSql,
      {PgParam::Int(now_ms), PgParam::Text(app_id), PgParam::Text(instance_id_), PgParam::Int(options_.lease_ms),
       PgParam::Text(msg_id)});
  if (!r.ok()) return r.status().WithContext("claiming message " + msg_id);
  if (r->rows() == 0) return std::optional<StoredMessage>();
  StoredMessage m = ReadPgMessage(*r, 0, 1);
  {
    std::lock_guard claims_lock(claims_mu_);
    claims_[Key(app_id, msg_id)] = r->Int(0, 0);
  }
  return std::optional<StoredMessage>(std::move(m));
}

// ---- the rejected-message audit ----

Status PostgresInbox::RecordRejected(const RejectedMessage& rejected) {
  WriteOp op;
  op.kind = WriteOp::Kind::kAudit;
  op.rejected = BoundedForAudit(rejected, options_.rejected);
  return RunOp(std::move(op));
}

Status PostgresInbox::ApplyAudits(PgConn& conn, const std::vector<size_t>& indexes,
                                  const std::vector<WriteOp>& ops) {
  std::string sql =
      "WITH ins AS (INSERT INTO alipaymsg_rejected (app_id, msg_id, msg_api, reason, raw_frame, channel, "
      "received_at_ms) VALUES ";
  std::vector<PgParam> params;
  params.reserve(indexes.size() * 7);
  for (size_t i : indexes) {
    const RejectedMessage& r = ops[i].rejected;
    const int n = static_cast<int>(params.size()) + 1;
    auto p = [n](int k) { return "$" + std::to_string(n + k); };
    sql += std::string(params.empty() ? "" : ",") + "(" + p(0) + "," + p(1) + "," + p(2) + "," + p(3) + "," +
           p(4) + "::bytea," + p(5) + "," + p(6) + "::bigint)";
    params.push_back(PgParam::Text(ToPgText(r.app_id)));
    params.push_back(PgParam::Text(ToPgText(r.msg_id)));
    params.push_back(PgParam::Text(ToPgText(r.msg_api)));
    params.push_back(PgParam::Text(ToPgText(r.reason)));
    params.push_back(PgParam::Bytes(r.raw_frame));
    params.push_back(PgParam::Text(ToPgText(r.channel)));
    params.push_back(PgParam::Int(r.received_at_ms));
  }
  sql += std::string(" RETURNING ") + kPgAuditBytesSql +
         " AS bytes) UPDATE alipaymsg_rejected_audit SET kept_rows = kept_rows + (SELECT count(*) FROM ins), "
         "kept_bytes = kept_bytes + (SELECT COALESCE(sum(bytes), 0) FROM ins), "
         "total = total + (SELECT count(*) FROM ins) RETURNING kept_rows, kept_bytes";
  auto r = conn.Exec(sql, params);
  if (!r.ok()) return r.status().WithContext("recording rejected messages");
  if (r->rows() != 1) return Internal("the rejected-message audit's row is missing");
  return PruneAudit(conn, r->Int(0, 0), r->Int(0, 1));
}

Status PostgresInbox::PruneAudit(PgConn& conn, int64_t rows, int64_t bytes) {
  const RejectedAuditLimits& limits = options_.rejected;
  if (!AuditOverLimits(rows, bytes, limits)) return Status::Ok();
  while (int64_t n = AuditRowsToPrune(rows, bytes, limits)) {
    auto r = conn.Exec(std::string("WITH d AS (DELETE FROM alipaymsg_rejected WHERE id IN (SELECT id FROM "
                                   "alipaymsg_rejected ORDER BY id LIMIT $1::bigint) RETURNING ") +
                           kPgAuditBytesSql +
                           " AS bytes) UPDATE alipaymsg_rejected_audit SET kept_rows = kept_rows - (SELECT "
                           "count(*) FROM d), kept_bytes = kept_bytes - (SELECT COALESCE(sum(bytes), 0) FROM d) "
                           "RETURNING kept_rows, kept_bytes",
                       {PgParam::Int(n)});
    if (!r.ok()) return r.status().WithContext("pruning the rejected-message audit");
    if (r->rows() != 1) return Internal("the rejected-message audit's row is missing");
    const int64_t deleted = rows - r->Int(0, 0);
    rows = r->Int(0, 0);
    bytes = r->Int(0, 1);
    if (deleted == 0) {
      // Nothing left to delete: the row had drifted from the table (rows deleted by hand). Recount.
      return conn.Run(std::string("UPDATE alipaymsg_rejected_audit SET kept_rows = (SELECT count(*) FROM "
                                  "alipaymsg_rejected), kept_bytes = (SELECT COALESCE(sum(") +
                      kPgAuditBytesSql + "), 0) FROM alipaymsg_rejected)");
    }
  }
  return Status::Ok();
}

Result<int> PostgresInbox::Replay(std::optional<std::string> app_id, std::optional<std::string> msg_id,
                                  int64_t now_ms) {
  int replayed = 0;
  Status status = RunWrite([&](PgConn& conn) -> Status {
    std::string sql =
        "UPDATE alipaymsg_messages SET state = 'pending', attempts = 0, next_attempt_at_ms = $1::bigint, "
        "updated_at_ms = $1::bigint WHERE state IN ('dead', 'unhandled')";
    std::vector<PgParam> params{PgParam::Int(now_ms)};
    if (app_id) {
      params.push_back(PgParam::Text(ToPgText(*app_id)));
      sql += " AND app_id = $" + std::to_string(params.size());
    }
    if (msg_id) {
      params.push_back(PgParam::Text(ToPgText(*msg_id)));
      sql += " AND msg_id = $" + std::to_string(params.size());
    }
    auto r = conn.Exec(sql, params);
    if (!r.ok()) return r.status();
    replayed = static_cast<int>(r->Changed());
    if (replayed == 0 && app_id && msg_id) {
      auto found = conn.Exec("SELECT 1 FROM alipaymsg_messages WHERE app_id = $1 AND msg_id = $2",
                             {PgParam::Text(ToPgText(*app_id)), PgParam::Text(ToPgText(*msg_id))});
      if (!found.ok()) return found.status();
      if (found->rows() == 0) {
        return NotFound("message (app_id " + *app_id + ", msg_id " + *msg_id + ") is not in the inbox");
      }
    }
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return replayed;
}

// ---- reads (their own connection) ----

Result<std::optional<StoredMessage>> PostgresInbox::Get(const std::string& app_id, const std::string& msg_id) {
  if (!IsPgText(app_id) || !IsPgText(msg_id)) return std::optional<StoredMessage>();
  std::lock_guard lock(reader_mu_);
  if (!reader_conn_) return Unavailable("the inbox is closed");
  ALIPAYMSG_RETURN_IF_ERROR(EnsureConnected(*reader_conn_, reader_reconnect_));
  auto r = reader_conn_->Exec(std::string("SELECT ") + kPgMessageColumns +
                                  " FROM alipaymsg_messages AS m WHERE m.app_id = $1 AND m.msg_id = $2",
                              {PgParam::Text(app_id), PgParam::Text(msg_id)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return std::optional<StoredMessage>();
  return std::optional<StoredMessage>(ReadPgMessage(*r, 0));
}

Result<std::vector<StoredMessage>> PostgresInbox::List(std::optional<MessageState> state, int limit) {
  InboxQuery query;
  query.state = state;
  query.limit = limit;
  return Find(query);
}

Result<std::vector<StoredMessage>> PostgresInbox::Find(const InboxQuery& query) {
  std::vector<PgParam> params;
  std::string where;
  auto add = [&](const std::string& condition, std::string value) {
    params.push_back(PgParam::Text(ToPgText(value)));
    where += (where.empty() ? " WHERE " : " AND ") + condition + "$" + std::to_string(params.size());
  };
  if (query.state) add("m.state = ", std::string(ToString(*query.state)));
  if (!query.app_id.empty()) add("m.app_id = ", query.app_id);
  std::string api = query.msg_api;
  const bool prefix = api.ends_with("*");
  if (prefix) api.pop_back();
  if (!api.empty()) {
    if (prefix) {
      params.push_back(PgParam::Text(ToPgText(api)));
      where += (where.empty() ? " WHERE " : " AND ") + std::string("starts_with(m.msg_api, $") +
               std::to_string(params.size()) + ")";
    } else {
      add("m.msg_api = ", api);
    }
  }
  std::string sql = std::string("SELECT ") + kPgMessageColumns + " FROM alipaymsg_messages AS m" + where +
                    " ORDER BY m.id DESC";
  if (query.limit >= 0) sql += " LIMIT " + std::to_string(query.limit);
  std::lock_guard lock(reader_mu_);
  if (!reader_conn_) return Unavailable("the inbox is closed");
  ALIPAYMSG_RETURN_IF_ERROR(EnsureConnected(*reader_conn_, reader_reconnect_));
  auto r = reader_conn_->Exec(sql, params);
  if (!r.ok()) return r.status();
  std::vector<StoredMessage> out;
  out.reserve(static_cast<size_t>(r->rows()));
  for (int row = 0; row < r->rows(); ++row) out.push_back(ReadPgMessage(*r, row));
  return out;
}

Result<std::optional<int64_t>> PostgresInbox::NextDueMs() {
  std::lock_guard lock(reader_mu_);
  if (!reader_conn_) return Unavailable("the inbox is closed");
  ALIPAYMSG_RETURN_IF_ERROR(EnsureConnected(*reader_conn_, reader_reconnect_));
  auto r = reader_conn_->ExecPrepared("alipaymsg_next_due",
                                      "SELECT MIN(next_attempt_at_ms) FROM alipaymsg_messages WHERE state = 'pending'", {});
  if (!r.ok()) return r.status();
  if (r->rows() == 0 || r->IsNull(0, 0)) return std::optional<int64_t>();
  return std::optional<int64_t>(r->Int(0, 0));
}

Result<InboxStats> PostgresInbox::Stats() {
  InboxStats stats;
  stats.commits = commits_.load(std::memory_order_relaxed);
  stats.stored = stored_.load(std::memory_order_relaxed);
  stats.store_waiting = store_waiting_.load(std::memory_order_relaxed);
  std::lock_guard lock(reader_mu_);
  if (!reader_conn_) return Unavailable("the inbox is closed");
  ALIPAYMSG_RETURN_IF_ERROR(EnsureConnected(*reader_conn_, reader_reconnect_));
  // One statement: one snapshot.
  auto r = reader_conn_->Exec(
      "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'in_flight'), "
      "count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE state = 'dead'), "
      "count(*) FILTER (WHERE state = 'unhandled'), (SELECT count(*) FROM alipaymsg_rejected), "
      "(SELECT COALESCE(sum(value), 0) FROM alipaymsg_counters WHERE name = 'duplicates'), "
      "(SELECT total FROM alipaymsg_rejected_audit) "
      "FROM alipaymsg_messages");
  if (!r.ok()) return r.status();
  stats.pending = r->Int(0, 0);
  stats.in_flight = r->Int(0, 1);
  stats.done = r->Int(0, 2);
  stats.dead = r->Int(0, 3);
  stats.unhandled = r->Int(0, 4);
  stats.rejected = r->Int(0, 5);
  stats.duplicates = r->Int(0, 6);
  stats.rejected_total = r->Int(0, 7);
  // The reporter: the instance whose lease connection's name sorts first among those connected.
  auto reporter = reader_conn_->Exec(
      "SELECT min(application_name) FROM pg_stat_activity WHERE datname = current_database() AND "
      "application_name LIKE 'alipay-msg % lease'");
  if (reporter.ok() && reporter->rows() == 1 && !reporter->IsNull(0, 0)) {
    stats.reports_inbox_wide = reporter->Text(0, 0) == "alipay-msg " + instance_id_ + " lease";
  }
  return stats;
}

// ---- the lease thread ----

void PostgresInbox::LeaseLoop() {
  const auto interval = std::chrono::milliseconds(std::clamp(options_.lease_ms / 3, 20, 5000));
  std::chrono::steady_clock::time_point reconnect{};
  while (true) {
    {
      std::unique_lock lock(lease_mu_);
      if (lease_cv_.wait_for(lock, interval, [this] { return lease_stop_; })) return;
    }
    const bool was_broken = lease_conn_->broken();
    if (!EnsureConnected(*lease_conn_, reconnect).ok()) continue;
    if (was_broken && options_.may_own) {
      // The instance lock died with the old session: take it again (best effort; fencing keeps
      // results safe even if another process took the id meanwhile).
      (void)lease_conn_->Run("SELECT pg_try_advisory_lock(hashtextextended('alipaymsg instance ' || $1, 0))",
                             {PgParam::Text(instance_id_)});
    }
    (void)RenewAndReap(*lease_conn_);
  }
}

PgArray PostgresInbox::HeldClaimTokens(bool forget) {
  PgArray tokens(PgArray::Type::kInt8);
  std::lock_guard lock(claims_mu_);
  for (const auto& [key, token] : claims_) tokens.AddInt8(token);
  if (forget) claims_.clear();
  return tokens;
}

Status PostgresInbox::RenewAndReap(PgConn& conn) {
  const PgArray tokens = HeldClaimTokens(/*forget=*/false);
  if (tokens.size() > 0) {
    // SKIP LOCKED: a row the writer holds is being completed; waiting for it could deadlock against
    // the writer's own lock order.
    ALIPAYMSG_RETURN_IF_ERROR(conn.Run(
        "UPDATE alipaymsg_messages SET lease_expires_at = clock_timestamp() + $2::bigint * interval "
        "'1 millisecond' WHERE id IN (SELECT id FROM alipaymsg_messages WHERE state = 'in_flight' AND "
        "claim_token = ANY($1::bigint[]) FOR UPDATE SKIP LOCKED)",
        {tokens.Param(), PgParam::Int(options_.lease_ms)}));
  }
  // Anyone's expired claims (a dead instance's, or one cut off from the database) go back to pending;
  // their late results will be refused (the token is gone).
  return conn.Run(
      "UPDATE alipaymsg_messages SET state = 'pending', claimed_by = NULL, claim_token = NULL, "
      "lease_expires_at = NULL WHERE id IN (SELECT id FROM alipaymsg_messages WHERE state = 'in_flight' "
      "AND lease_expires_at < clock_timestamp() LIMIT 1000 FOR UPDATE SKIP LOCKED)");
}

// Never waits for a row lock: another instance's store of redeliveries locks existing rows in its
// own order, and an UPDATE here that waited for one of them while holding others could close a
// cycle (deadlock_detected after deadlock_timeout, failing whichever statement checks first; at
// open, that failed the start). Locked rows are skipped and tried again until `patience` runs out.
Status PostgresInbox::ReleaseClaims(PgConn& conn, const std::string& condition, const std::vector<PgParam>& params,
                                    std::chrono::milliseconds patience) {
  // `matched` counts the statement snapshot's rows, `released` what was updated: the rest was
  // locked (or changed by someone else since, which the next round no longer sees).
  const std::string sql =
      "WITH released AS (UPDATE alipaymsg_messages SET state = 'pending', claimed_by = NULL, claim_token = NULL, "
      "lease_expires_at = NULL WHERE id IN (SELECT id FROM alipaymsg_messages WHERE state = 'in_flight' AND " +
      condition + " FOR UPDATE SKIP LOCKED) RETURNING 1) SELECT (SELECT count(*) FROM alipaymsg_messages WHERE "
      "state = 'in_flight' AND " + condition + ") - (SELECT count(*) FROM released)";
  const auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    auto skipped = conn.Exec(sql, params);
    if (!skipped.ok()) return skipped.status();
    if (skipped->Int(0, 0) <= 0 || std::chrono::steady_clock::now() >= deadline) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace alipaymsg::inbox
