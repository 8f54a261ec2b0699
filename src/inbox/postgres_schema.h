// The PostgreSQL inbox's schema (tables prefixed alipaymsg_, so it can live in a database the user
// already runs) and its versioned creation / migration under an advisory lock.
#pragma once

#include "alipaymsg/inbox.h"
#include "inbox/pg_conn.h"

namespace alipaymsg::inbox {

inline constexpr int kPgSchemaVersion = 3;

// Creates the schema, or migrates it up to kPgSchemaVersion, in one transaction holding a
// transaction-scoped advisory lock: instances starting at the same moment wait for each other
// instead of racing on CREATE TABLE. Refuses a schema newer than this build.
Status MigratePgSchema(PgConn& conn);

// The version found (0: none yet).
Result<int> ReadPgSchemaVersion(PgConn& conn);

// The columns every message query selects, in the order ReadPgMessage expects (`m` = the messages
// table's alias; the content is in alipaymsg_message_bodies since version 3).
inline constexpr const char* kPgMessageColumns =
    "m.app_id, m.msg_id, m.msg_api, "
    "(SELECT b.biz_content FROM alipaymsg_message_bodies AS b WHERE b.id = m.id), "
    "m.channel, m.received_at_ms, m.state, "
    "m.attempts, m.delivery_count, m.next_attempt_at_ms, m.updated_at_ms, m.last_error";
inline constexpr int kPgMessageColumnCount = 12;
// AuditBytes of a row of alipaymsg_rejected, in SQL.
inline constexpr const char* kPgAuditBytesSql =
    "octet_length(app_id) + octet_length(msg_id) + octet_length(msg_api) + octet_length(reason) + "
    "octet_length(raw_frame) + octet_length(channel)";

StoredMessage ReadPgMessage(const PgResult& result, int row, int first_column = 0);

}  // namespace alipaymsg::inbox
