#include "inbox/schema.h"

#include <string>

namespace alipaymsg {

std::string_view ToString(MessageState state) {
  switch (state) {
    case MessageState::kPending: return "pending";
    case MessageState::kInFlight: return "in_flight";
    case MessageState::kDone: return "done";
    case MessageState::kDead: return "dead";
    case MessageState::kUnhandled: return "unhandled";
  }
  return "unknown";
}

namespace inbox {
namespace {

// Version 2 (the current one). `state` is text so that the file stays readable with the sqlite3
// shell. The biz content lives in a table of its own, written once: a claim or a completion then
// rewrites a row of ~100 bytes instead of one that carries up to several KB of content (v1 kept it
// in `messages`, which made every state change rewrite it and tripled the write volume per
// message). `id` is an INTEGER PRIMARY KEY so VACUUM cannot renumber it: message_bodies.id refers to it.
// A fresh file and a migrated one get these same definitions.
constexpr const char* kMessagesColumns = R"sql((
  id                 INTEGER PRIMARY KEY,
  app_id             TEXT    NOT NULL,
  msg_id             TEXT    NOT NULL,
  msg_api            TEXT    NOT NULL,
  channel            TEXT    NOT NULL,
  received_at_ms     INTEGER NOT NULL,
  state              TEXT    NOT NULL,
  attempts           INTEGER NOT NULL DEFAULT 0,
  delivery_count     INTEGER NOT NULL DEFAULT 1,
  next_attempt_at_ms INTEGER NOT NULL DEFAULT 0,
  updated_at_ms      INTEGER NOT NULL,
  last_error         TEXT    NOT NULL DEFAULT '',
  UNIQUE (app_id, msg_id)
);
)sql";
constexpr const char* kMessagesIndex =
    "CREATE INDEX messages_by_state_due ON messages (state, next_attempt_at_ms);\n";
constexpr const char* kMessageBodies = R"sql(
CREATE TABLE message_bodies (
  id          INTEGER PRIMARY KEY,  -- messages.id
  biz_content TEXT    NOT NULL
);
)sql";
constexpr const char* kAuditAndCounters = R"sql(
CREATE TABLE rejected (
  id             INTEGER PRIMARY KEY,
  app_id         TEXT    NOT NULL,
  msg_id         TEXT    NOT NULL,
  msg_api        TEXT    NOT NULL,
  reason         TEXT    NOT NULL,
  raw_frame      TEXT    NOT NULL,
  channel        TEXT    NOT NULL,
  received_at_ms INTEGER NOT NULL
);
CREATE TABLE counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('duplicates', 0);
)sql";

std::string SchemaV2() {
  return std::string("CREATE TABLE messages ") + kMessagesColumns + kMessagesIndex + kMessageBodies +
         kAuditAndCounters;
}

// Version 1 -> 2: the same rows, ids kept (v1's implicit rowids), biz content moved out. One
// transaction (MigrateSchema's), so an interrupted migration leaves the v1 file as it was.
std::string MigrateV1ToV2() {
  return std::string("CREATE TABLE messages_v2 ") + kMessagesColumns + R"sql(
INSERT INTO messages_v2 (id, app_id, msg_id, msg_api, channel, received_at_ms, state, attempts,
                         delivery_count, next_attempt_at_ms, updated_at_ms, last_error)
  SELECT rowid, app_id, msg_id, msg_api, channel, received_at_ms, state, attempts,
         delivery_count, next_attempt_at_ms, updated_at_ms, last_error FROM messages;
)sql" + kMessageBodies + R"sql(
INSERT INTO message_bodies (id, biz_content) SELECT rowid, biz_content FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v2 RENAME TO messages;
)sql" + kMessagesIndex;
}

}  // namespace

Status MigrateSchema(Db& db) {
  ALIPAYMSG_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  auto migrate = [&db]() -> Status {
    ALIPAYMSG_RETURN_IF_ERROR(
        db.Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
    int64_t version = 0;
    {
      // Scoped: the statement must be reset before DROP TABLE, which refuses while one is active.
      auto query = db.Prepare("SELECT MAX(version) FROM schema_version");
      if (!query.ok()) return query.status();
      Result<bool> row = (*query)->Step();
      if (!row.ok()) return row.status();
      if (*row && !(*query)->IsNull(0)) version = (*query)->Int(0);
    }
    if (version > kSchemaVersion) {
      return InvalidArgument("the inbox database has schema version " + std::to_string(version) +
                             ", newer than this build understands (" +
                             std::to_string(kSchemaVersion) + "); upgrade alipay-msg");
    }
    if (version < 1) {
      ALIPAYMSG_RETURN_IF_ERROR(db.Exec(SchemaV2()));
      ALIPAYMSG_RETURN_IF_ERROR(db.Exec("INSERT INTO schema_version (version) VALUES (2)"));
      return Status::Ok();
    }
    if (version < 2) {
      ALIPAYMSG_RETURN_IF_ERROR(db.Exec(MigrateV1ToV2()));
      ALIPAYMSG_RETURN_IF_ERROR(db.Exec("INSERT INTO schema_version (version) VALUES (2)"));
    }
    // Later versions: `if (version < 3) { ...; INSERT INTO schema_version VALUES (3); }`.
    return Status::Ok();
  };
  Status status = migrate();
  if (!status.ok()) {
    (void)db.Exec("ROLLBACK");
    return status;
  }
  return db.Exec("COMMIT");
}

std::optional<MessageState> ParseState(std::string_view text) {
  for (MessageState state : {MessageState::kPending, MessageState::kInFlight, MessageState::kDone,
                             MessageState::kDead, MessageState::kUnhandled}) {
    if (ToString(state) == text) return state;
  }
  return std::nullopt;
}

StoredMessage ReadStoredMessage(const Stmt& stmt, int c) {
  StoredMessage out;
  out.message.app_id = stmt.Text(c + 0);
  out.message.msg_id = stmt.Text(c + 1);
  out.message.msg_api = stmt.Text(c + 2);
  out.message.biz_content = stmt.Text(c + 3);
  out.message.channel = stmt.Text(c + 4);
  out.message.received_at_ms = stmt.Int(c + 5);
  // An unknown state can only come from a foreign writer; treating it as dead keeps it out of
  // dispatch while staying visible and replayable.
  out.state = ParseState(stmt.Text(c + 6)).value_or(MessageState::kDead);
  out.attempts = static_cast<int>(stmt.Int(c + 7));
  out.delivery_count = static_cast<int>(stmt.Int(c + 8));
  out.next_attempt_at_ms = stmt.Int(c + 9);
  out.updated_at_ms = stmt.Int(c + 10);
  out.last_error = stmt.Text(c + 11);
  return out;
}

}  // namespace inbox
}  // namespace alipaymsg
