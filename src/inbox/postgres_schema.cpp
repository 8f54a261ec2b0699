#include "inbox/postgres_schema.h"

#include "inbox/schema.h"  // ParseState

namespace alipaymsg::inbox {
namespace {

// pg_advisory_xact_lock key for schema changes ("alipaymsg" in ASCII, as a bigint).
constexpr const char* kSchemaLock = "SELECT pg_advisory_xact_lock(7020383575301498215)";

// Version 1. biz_content and raw_frame are bytea: the wire may carry bytes that are not valid UTF-8
// (or NUL), which a text column refuses; such a message must still be stored and acked. Keys and
// names stay text (readable in psql) and are checked before they are sent.
// `id` gives arrival order (List, Claim). A claim sets claimed_by, claim_token (from a sequence:
// never reused) and lease_expires_at (database time, so that clocks of different machines do not
// matter); both partial indexes only cover in-flight rows, a handful at any time.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE alipaymsg_messages (
  id                 BIGSERIAL PRIMARY KEY,
  app_id             TEXT    NOT NULL,
  msg_id             TEXT    NOT NULL,
  msg_api            TEXT    NOT NULL,
  biz_content        BYTEA   NOT NULL,
  channel            TEXT    NOT NULL,
  received_at_ms     BIGINT  NOT NULL,
  state              TEXT    NOT NULL,
  attempts           INTEGER NOT NULL DEFAULT 0,
  delivery_count     INTEGER NOT NULL DEFAULT 1,
  next_attempt_at_ms BIGINT  NOT NULL DEFAULT 0,
  updated_at_ms      BIGINT  NOT NULL,
  last_error         TEXT    NOT NULL DEFAULT '',
  claimed_by         TEXT,
  claim_token        BIGINT,
  lease_expires_at   TIMESTAMPTZ,
  UNIQUE (app_id, msg_id)
);
CREATE INDEX alipaymsg_messages_due ON alipaymsg_messages (state, next_attempt_at_ms, id);
CREATE INDEX alipaymsg_messages_leases ON alipaymsg_messages (lease_expires_at) WHERE state = 'in_flight';
CREATE INDEX alipaymsg_messages_claims ON alipaymsg_messages (claim_token) WHERE state = 'in_flight';
CREATE SEQUENCE alipaymsg_claim_tokens;
CREATE TABLE alipaymsg_rejected (
  id             BIGSERIAL PRIMARY KEY,
  app_id         TEXT   NOT NULL,
  msg_id         TEXT   NOT NULL,
  msg_api        TEXT   NOT NULL,
  reason         TEXT   NOT NULL,
  raw_frame      BYTEA  NOT NULL,
  channel        TEXT   NOT NULL,
  received_at_ms BIGINT NOT NULL
);
-- One row per (counter, instance): instances never wait on each other's counter row.
CREATE TABLE alipaymsg_counters (
  name     TEXT   NOT NULL,
  instance TEXT   NOT NULL,
  value    BIGINT NOT NULL,
  PRIMARY KEY (name, instance)
);
-- The jsonl sinks' committed sizes (sink = "<host>:<path>").
CREATE TABLE alipaymsg_jsonl_sink (
  sink           TEXT   PRIMARY KEY,
  committed_size BIGINT NOT NULL,
  lines          BIGINT NOT NULL DEFAULT 0
);
)sql";

// Version 2: the rejected-message audit's bookkeeping (RejectedAuditLimits) in one row: the rows and
// bytes kept, and the exact number of rejections ever recorded (pruned ones included). Every
// instance updates it in the transaction that inserts or prunes audit rows, so the row lock
// serialises the instances' pruning and the numbers stay exact; it is the last lock such a
// transaction takes (audit writes go last in a group), so it cannot be part of a deadlock. Started
// from the rows already there (a version-1 inbox never pruned: they are every rejection so far).
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE alipaymsg_rejected_audit (
  singleton  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
  kept_rows  BIGINT NOT NULL,
  kept_bytes BIGINT NOT NULL,
  total      BIGINT NOT NULL
);
)sql";

// Version 3: the content in a table of its own, written once. In the messages row it was rewritten,
// and WAL-logged, by the claim and the completion of every message (as SQLite's schema v2 found:
// three writes of 0.3-2 KB per message); the row is now ~150 bytes. The column is dropped, not left
// empty, so that an instance of an older build still running fails its statements (its messages
// are answered FAIL and redelivered) rather than hand out messages without their content.
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE alipaymsg_message_bodies (
  id          BIGINT PRIMARY KEY,  -- alipaymsg_messages.id
  biz_content BYTEA  NOT NULL
);
INSERT INTO alipaymsg_message_bodies (id, biz_content) SELECT id, biz_content FROM alipaymsg_messages;
ALTER TABLE alipaymsg_messages DROP COLUMN biz_content;
)sql";

}  // namespace

Result<int> ReadPgSchemaVersion(PgConn& conn) {
  auto exists = conn.Exec("SELECT to_regclass('alipaymsg_schema_version') IS NOT NULL");
  if (!exists.ok()) return exists.status();
  if (!exists->Bool(0, 0)) return 0;
  auto version = conn.Exec("SELECT COALESCE(MAX(version), 0) FROM alipaymsg_schema_version");
  if (!version.ok()) return version.status();
  return static_cast<int>(version->Int(0, 0));
}

Status MigratePgSchema(PgConn& conn) {
  ALIPAYMSG_RETURN_IF_ERROR(conn.Run("BEGIN"));
  auto migrate = [&conn]() -> Status {
    ALIPAYMSG_RETURN_IF_ERROR(conn.Run(kSchemaLock));
    ALIPAYMSG_RETURN_IF_ERROR(conn.Run(
        "CREATE TABLE IF NOT EXISTS alipaymsg_schema_version (version INTEGER NOT NULL)"));
    Result<int> version = ReadPgSchemaVersion(conn);
    if (!version.ok()) return version.status();
    if (*version > kPgSchemaVersion) {
      return InvalidArgument("the PostgreSQL inbox has schema version " + std::to_string(*version) +
                             ", newer than this build understands (" +
                             std::to_string(kPgSchemaVersion) + "); upgrade alipay-msg");
    }
    if (*version < 1) {
      ALIPAYMSG_RETURN_IF_ERROR(conn.Run(kSchemaV1));
      ALIPAYMSG_RETURN_IF_ERROR(conn.Run("INSERT INTO alipaymsg_schema_version (version) VALUES (1)"));
    }
    if (*version < 2) {
      ALIPAYMSG_RETURN_IF_ERROR(conn.Run(kSchemaV2));
      ALIPAYMSG_RETURN_IF_ERROR(conn.Run(std::string("INSERT INTO alipaymsg_rejected_audit (kept_rows, kept_bytes, "
                                                     "total) SELECT count(*), COALESCE(sum(") +
                                         kPgAuditBytesSql + "), 0), count(*) FROM alipaymsg_rejected"));
      ALIPAYMSG_RETURN_IF_ERROR(conn.Run("INSERT INTO alipaymsg_schema_version (version) VALUES (2)"));
    }
    if (*version < 3) {
      ALIPAYMSG_RETURN_IF_ERROR(conn.Run(kSchemaV3));
      ALIPAYMSG_RETURN_IF_ERROR(conn.Run("INSERT INTO alipaymsg_schema_version (version) VALUES (3)"));
    }
    // Later versions: `if (*version < 4) { ...; INSERT INTO alipaymsg_schema_version VALUES (4); }`.
    return Status::Ok();
  };
  Status status = migrate();
  if (!status.ok()) {
    (void)conn.Run("ROLLBACK");
    return status.WithContext("creating the inbox schema");
  }
  return conn.Run("COMMIT");
}

StoredMessage ReadPgMessage(const PgResult& r, int row, int c) {
  StoredMessage out;
  out.message.app_id = r.Text(row, c + 0);
  out.message.msg_id = r.Text(row, c + 1);
  out.message.msg_api = r.Text(row, c + 2);
  out.message.biz_content = r.Bytes(row, c + 3);
  out.message.channel = r.Text(row, c + 4);
  out.message.received_at_ms = r.Int(row, c + 5);
  out.state = ParseState(r.Text(row, c + 6)).value_or(MessageState::kDead);
  out.attempts = static_cast<int>(r.Int(row, c + 7));
  out.delivery_count = static_cast<int>(r.Int(row, c + 8));
  out.next_attempt_at_ms = r.Int(row, c + 9);
  out.updated_at_ms = r.Int(row, c + 10);
  out.last_error = r.Text(row, c + 11);
  return out;
}

}  // namespace alipaymsg::inbox
