// The inbox's SQLite schema and its migrations.
#pragma once

#include <optional>
#include <string_view>

#include "alipaymsg/inbox.h"
#include "inbox/sqlite_db.h"

namespace alipaymsg::inbox {

inline constexpr int kSchemaVersion = 1;

// Creates the schema in a fresh database, or migrates an older one up to kSchemaVersion. Refuses a
// database written by a newer build (its version is higher than ours).
Status MigrateSchema(Db& db);

// Column text of each MessageState in the `state` column (also MessageState's ToString).
std::optional<MessageState> ParseState(std::string_view text);

// The column list every message query selects, in the order ReadStoredMessage expects.
inline constexpr const char* kMessageColumns =
    "app_id, msg_id, msg_api, biz_content, channel, received_at_ms, state, attempts, "
    "delivery_count, next_attempt_at_ms, updated_at_ms, last_error";
StoredMessage ReadStoredMessage(const Stmt& stmt, int first_column = 0);

}  // namespace alipaymsg::inbox
