// One fixture for the tests every Inbox backend must pass (the contract suite in inbox_test.cpp, the
// rejected-message audit in audit_test.cpp): parameterised on the backend, it opens a fresh inbox
// (a file in a temp dir, or a fresh database of the shared PostgreSQL test cluster) and reads or
// writes the inbox's tables through a connection of the test's own.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>

#include "alipaymsg/inbox.h"
#include "inbox/scoped_temp_dir.h"
#include "inbox/sqlite_query.h"
#include "testing/postgres_server.h"

namespace alipaymsg::testing {

enum class Backend { kSqlite, kPostgres };
inline std::string BackendName(Backend backend) { return backend == Backend::kSqlite ? "Sqlite" : "Postgres"; }
inline void PrintTo(Backend backend, std::ostream* os) { *os << BackendName(backend); }  // in test names
inline std::string BackendTestName(const ::testing::TestParamInfo<Backend>& info) { return BackendName(info.param); }

// The options the backend tests vary, mapped onto each backend's own.
struct TestOptions {
  int max_batch = 512;
  int max_queued = 8192;
  int complete_linger_ms = 10;
  std::string instance = "instance-a";  // PostgreSQL's instance id (SQLite: ignored)
  RejectedAuditLimits rejected;
  bool fsync = true;  // SQLite's synchronous_full (the PostgreSQL test cluster runs without fsync)
};

class InboxBackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kSqlite) {
      path_ = dir_.path() + "/inbox.db";
      return;
    }
    PostgresServer* server = SharedPostgres();
    ASSERT_NE(server, nullptr);
    server_ = server;
    url_ = server->FreshDatabaseUrl("inbox");
    database_ = url_.substr(url_.rfind('/') + 1);
    ASSERT_FALSE(url_.empty());
  }

  Result<std::unique_ptr<Inbox>> TryOpen(const TestOptions& o) {
    auto common = [&o](auto& options) {
      options.max_batch = o.max_batch;
      options.max_queued = o.max_queued;
      options.complete_linger_ms = o.complete_linger_ms;
      options.rejected = o.rejected;
    };
    if (GetParam() == Backend::kSqlite) {
      SqliteInboxOptions options;
      common(options);
      options.synchronous_full = o.fsync;
      return OpenSqliteInbox(path_, options);
    }
    PostgresInboxOptions options;
    common(options);
    options.instance_id = o.instance;
    return OpenPostgresInbox(url_, options);
  }

  std::unique_ptr<Inbox> OpenInbox(const TestOptions& options = {}) {
    auto inbox = TryOpen(options);
    EXPECT_TRUE(inbox.ok()) << inbox.status().ToString();
    return inbox.ok() ? std::move(*inbox) : nullptr;
  }

  // What errors name the inbox by: the file, or the database's URL.
  std::string Where() const { return GetParam() == Backend::kSqlite ? path_ : url_; }
  // The backend's name of an inbox table.
  std::string T(const std::string& table) const {
    return GetParam() == Backend::kSqlite ? table : "alipaymsg_" + table;
  }
  int CurrentSchemaVersion() const {
    return GetParam() == Backend::kSqlite ? 2 : PostgresInboxCurrentSchemaVersion();
  }
  // SQL for the byte length of a column (text or blob/bytea).
  std::string Bytes(const std::string& column) const {
    return GetParam() == Backend::kSqlite ? "length(CAST(" + column + " AS BLOB))" : "octet_length(" + column + ")";
  }
  // SQL for a blob/bytea column as text.
  std::string AsText(const std::string& column) const {
    return GetParam() == Backend::kSqlite ? column : "convert_from(" + column + ", 'UTF8')";
  }

  // Runs SQL on the inbox's database through a connection of the test's own.
  void ExecSql(const std::string& sql) {
    if (GetParam() == Backend::kPostgres) {
      EXPECT_EQ(server_->Exec(database_, sql), "");
      return;
    }
    SqliteExec(path_, sql);
  }

  int64_t QueryInt(const std::string& sql) {
    if (GetParam() == Backend::kPostgres) {
      std::string value;
      EXPECT_EQ(server_->Exec(database_, sql, &value), "");
      return value.empty() ? -1 : std::stoll(value);
    }
    return SqliteQueryInt(path_, sql);
  }

  ScopedTempDir dir_{"inbox-test"};
  std::string path_;
  PostgresServer* server_ = nullptr;
  std::string url_, database_;
};

}  // namespace alipaymsg::testing
