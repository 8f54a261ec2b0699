#include "inbox/sqlite_db.h"

namespace alipaymsg::inbox {

bool IsStorageFault(const Status& status) {
  if (status.ok()) return false;
  // sqlite3_errstr texts (stable), and strerror for files written in the same transaction.
  static constexpr std::string_view kFaults[] = {
      "database or disk is full", "disk I/O error", "database disk image is malformed",
      "file is not a database", "unable to open database file", "attempt to write a readonly database",
      "No space left on device", "Input/output error", "Disk quota exceeded"};
  for (std::string_view fault : kFaults) {
    if (status.message().find(fault) != std::string::npos) return true;
  }
  return false;
}

Stmt::~Stmt() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Stmt& Stmt::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Stmt& Stmt::Bind(int index, std::string_view value) {
  sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(stmt_);
  std::string message = "sqlite: ";
  message += sqlite3_errmsg(db);
  message += " (";
  message += sqlite3_errstr(rc);
  message += ") in: ";
  message += sqlite3_sql(stmt_);
  return Status(rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? StatusCode::kUnavailable
                                                          : StatusCode::kIoError,
                message);
}

Status Stmt::Run() {
  while (true) {
    Result<bool> row = Step();
    if (!row.ok()) {
      sqlite3_reset(stmt_);
      return row.status();
    }
    if (!*row) {
      sqlite3_reset(stmt_);
      return Status::Ok();
    }
  }
}

std::string Stmt::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

Result<std::unique_ptr<Db>> Db::Open(const std::string& path, bool create, int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = "cannot open inbox database " + path + ": ";
    message += raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close_v2(raw);
    return IoError(message);
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  return std::unique_ptr<Db>(new Db(raw));
}

Db::~Db() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status Db::Error(std::string_view what, int rc) {
  std::string message = "sqlite: ";
  message += what;
  message += ": ";
  message += sqlite3_errmsg(db_);
  message += " (";
  message += sqlite3_errstr(rc);
  message += ")";
  return Status((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED
                    ? StatusCode::kUnavailable
                    : StatusCode::kIoError,
                message);
}

Status Db::Exec(std::string_view sql) {
  std::string text(sql);
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(text, rc);
  return Status::Ok();
}

Result<std::unique_ptr<Stmt>> Db::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return Error("preparing " + sql, rc);
    it = cache_.emplace(sql, stmt).first;
  }
  return std::make_unique<Stmt>(it->second);
}

}  // namespace alipaymsg::inbox
