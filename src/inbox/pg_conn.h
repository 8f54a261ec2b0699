// A thin RAII layer over libpq: one connection, parameterised statements in text format (bytea
// parameters in binary), errors as Status values that name the statement and carry the SQLSTATE.
// Internal to the PostgreSQL inbox (and the jsonl sink's PostgreSQL path).
#pragma once


#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "alipaymsg/status.h"
#include "inbox/libpq.h"

namespace alipaymsg::inbox {

// One statement parameter: text, NULL (nullopt), or bytes sent in binary (bytea).
struct PgParam {
  std::optional<std::string> value;
  bool binary = false;
  static PgParam Text(std::string v) { return {std::move(v), false}; }
  static PgParam Int(int64_t v) { return {std::to_string(v), false}; }
  static PgParam Bytes(std::string v) { return {std::move(v), true}; }
  static PgParam Null() { return {std::nullopt, false}; }
};

// A one-dimensional array parameter in PostgreSQL's binary format (array_recv), so that a statement
// takes any number of rows in a fixed number of parameters (`unnest($1::text[], ...)`): one text
// whatever the batch size, which can then be prepared once per connection. The element type must be
// the one the statement casts the parameter to.
class PgArray {
 public:
  enum class Type : uint32_t { kBool = 16, kBytea = 17, kInt8 = 20, kInt4 = 23, kText = 25 };
  explicit PgArray(Type type) : type_(type) {}
  // kText (valid UTF-8, no NUL: see IsPgText) or kBytea.
  void AddBytes(std::string_view bytes);
  void AddInt8(int64_t value);
  void AddInt4(int32_t value);
  void AddBool(bool value);
  int size() const { return count_; }
  PgParam Param() const;

 private:
  void Length(uint32_t length);
  Type type_;
  int count_ = 0;
  std::string elements_;  // each: int32 length, then the bytes
};

class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result) {}
  PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  ~PgResult() { Pq().PQclear(result_); }

  int rows() const { return Pq().PQntuples(result_); }
  bool IsNull(int row, int column) const { return Pq().PQgetisnull(result_, row, column) != 0; }
  std::string Text(int row, int column) const;
  int64_t Int(int row, int column) const;
  // A bytea column (text result format: "\x..." hex).
  std::string Bytes(int row, int column) const;
  bool Bool(int row, int column) const { return Text(row, column) == "t"; }
  // Rows changed by an UPDATE/INSERT/DELETE without RETURNING.
  int64_t Changed() const;

 private:
  PGresult* result_;
};

class PgConn {
 public:
  // Connects with `url` (a postgresql:// URI or key=value string). `password` (may be empty) is used
  // unless the URL has one; libpq falls back to PGPASSWORD and ~/.pgpass.
  static Result<std::unique_ptr<PgConn>> Connect(const std::string& url, const std::string& password,
                                                 int connect_timeout_ms,
                                                 const std::string& application_name);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  PGconn* handle() { return conn_; }
  bool broken() const { return Pq().PQstatus(conn_) == CONNECTION_BAD; }
  // Reconnects a broken connection (same parameters).
  Status Reset();

  // Runs `sql` (one statement, or several without parameters) and returns its result.
  Result<PgResult> Exec(const std::string& sql, const std::vector<PgParam>& params = {});
  // Exec through a statement prepared on this connection under `name` (prepared on first use, again
  // after a reconnect): parsed and planned once, not on every call. `sql` must always be the same for
  // one `name`.
  Result<PgResult> ExecPrepared(const char* name, const std::string& sql, const std::vector<PgParam>& params);

  // Exec for statements whose rows do not matter.
  Status Run(const std::string& sql, const std::vector<PgParam>& params = {}) {
    auto r = Exec(sql, params);
    return r.ok() ? Status::Ok() : r.status();
  }

  // The SQLSTATE of the last failed Exec ("40P01" deadlock, ...); empty when none or unknown.
  const std::string& last_sqlstate() const { return last_sqlstate_; }

 private:
  explicit PgConn(PGconn* conn) : conn_(conn) {}
  // The result of `raw` (consumed) as Exec returns it; `sql` names the statement in errors.
  Result<PgResult> Finish(PGresult* raw, const std::string& sql);
  PGconn* conn_;
  std::string last_sqlstate_;
  std::set<std::string> prepared_;  // names prepared in this session
};

// Keeps only the failure text of a libpq error (no trailing newline). libpq never puts the password
// in it; the URL is not in it either.
std::string PgErrorText(const char* message);

// The URL with its password (user:PASSWORD@ in a URI, password=... in key=value form) replaced by
// "***", for logs and error messages.
std::string RedactPgUrl(std::string_view url);

// True when `s` is valid UTF-8 without NUL bytes (what a PostgreSQL text value accepts).
bool IsPgText(std::string_view s);
// `s` with every byte that would break IsPgText replaced by '?'.
std::string ToPgText(std::string_view s);

}  // namespace alipaymsg::inbox
