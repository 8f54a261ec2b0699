// A thin RAII layer over the sqlite3 C API: one connection, cached prepared statements, errors as
// Status values that name the statement that failed.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "alipaymsg/status.h"

namespace alipaymsg::inbox {

// A prepared statement borrowed from the connection's cache; reset and unbound when it goes away.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  Stmt& Bind(int index, int64_t value);
  Stmt& Bind(int index, std::string_view value);
  Stmt& BindInt(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }

  // SQLITE_ROW → true, SQLITE_DONE → false; other codes become an error Status.
  Result<bool> Step();
  // Steps to completion, ignoring rows, then resets (bindings stay) so the statement can run again.
  Status Run();
  // Makes the statement ready to bind and run again.
  void Reset() { sqlite3_reset(stmt_); }

  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string Text(int column) const;
  bool IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

 private:
  sqlite3_stmt* stmt_;
};

// True when `status` comes from a storage fault (disk full, I/O error, damaged or unwritable file),
// as opposed to a request's own error (a constraint, a missing message).
bool IsStorageFault(const Status& status);

class Db {
 public:
  // Opens `path` (creating it when `create`), with busy_timeout applied.
  static Result<std::unique_ptr<Db>> Open(const std::string& path, bool create, int busy_timeout_ms);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* handle() { return db_; }

  // Runs one or more statements without parameters (schema, pragmas, BEGIN/COMMIT).
  Status Exec(std::string_view sql);
  // A cached prepared statement for `sql` (prepared on first use).
  Result<std::unique_ptr<Stmt>> Prepare(const std::string& sql);
  int64_t Changes() { return sqlite3_changes64(db_); }
  int64_t LastInsertRowid() { return sqlite3_last_insert_rowid(db_); }
  // The connection's last error, formatted with `what` for context.
  Status Error(std::string_view what, int rc);

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
};

}  // namespace alipaymsg::inbox
