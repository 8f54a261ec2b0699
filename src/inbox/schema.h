// The inbox's SQLite schema and its migrations.
#pragma once

#include <optional>
#include <string_view>

#include "alipaymsg/inbox.h"
#include "inbox/sqlite_db.h"

namespace alipaymsg::inbox {

inline constexpr int kSchemaVersion = 2;

// Creates the schema in a fresh database, or migrates an older one up to kSchemaVersion. Refuses a
// database written by a newer build (its version is higher than ours).
Status MigrateSchema(Db& db);

// Column text of each MessageState in the `state` column (also MessageState's ToString).
std::optional<MessageState> ParseState(std::string_view text);

// The column list every message query selects (from `messages`, or RETURNING of an UPDATE of it),
// in the order ReadStoredMessage expects; the biz content comes from message_bodies by id.
inline constexpr const char* kMessageColumns =
    "app_id, msg_id, msg_api, "
    "(SELECT biz_content FROM message_bodies WHERE message_bodies.id = messages.id), "
    "channel, received_at_ms, state, attempts, "
    "delivery_count, next_attempt_at_ms, updated_at_ms, last_error";
StoredMessage ReadStoredMessage(const Stmt& stmt, int first_column = 0);

}  // namespace alipaymsg::inbox
