// The jsonl sink: exactly-once lines, committed with the inbox (see JsonlSink in sinks.h).
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "daemon/sinks.h"

namespace alipaymsg::daemon {
namespace {

constexpr const char* kCreateTable =
    "CREATE TABLE IF NOT EXISTS daemon_jsonl_sink ("
    " path TEXT PRIMARY KEY,"
    " committed_size INTEGER NOT NULL,"
    " lines INTEGER NOT NULL DEFAULT 0)";

Status SqliteError(sqlite3* db, const std::string& what) {
  return IoError(what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

Status Errno(const std::string& what) { return IoError(what + ": " + std::strerror(errno)); }

struct Committed {
  int64_t size = 0;
  int64_t lines = 0;
};

Result<Committed> ReadCommitted(sqlite3* db, const std::string& path) {
  if (sqlite3_exec(db, kCreateTable, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db, "creating the jsonl sink table");
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT committed_size, lines FROM daemon_jsonl_sink WHERE path = ?1", -1,
                         &stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db, "reading the jsonl sink table");
  }
  sqlite3_bind_text(stmt, 1, path.data(), static_cast<int>(path.size()), SQLITE_TRANSIENT);
  Committed committed;
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    committed.size = sqlite3_column_int64(stmt, 0);
    committed.lines = sqlite3_column_int64(stmt, 1);
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(db, "reading the jsonl sink table");
  return committed;
}

Status FsyncDirectoryOf(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("opening directory " + dir.string());
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Errno("fsync of directory " + dir.string());
}

}  // namespace

Status JsonlSink::Recover(const std::string& inbox_db_path) {
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return IoError("creating directory " + parent.string() + ": " + ec.message());

  sqlite3* db = nullptr;
  if (sqlite3_open_v2(inbox_db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    Status status = SqliteError(db, "opening inbox " + inbox_db_path);
    sqlite3_close(db);
    return status;
  }
  sqlite3_busy_timeout(db, 5000);
  Result<Committed> committed = ReadCommitted(db, path_);
  sqlite3_close(db);
  if (!committed.ok()) return committed.status();

  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();  // created by the first line
    return Errno("stat " + path_);
  }
  if (st.st_size <= committed->size) return Status::Ok();
  // Lines written by transactions that never committed: not part of the output.
  int fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Errno("opening " + path_);
  int rc = ::ftruncate(fd, committed->size);
  if (rc == 0) rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  errno = saved;
  return rc == 0 ? Status::Ok() : Errno("truncating " + path_ + " to its committed size");
}

Status JsonlSink::AppendInTransaction(void* native_db, const std::string& line) {
  auto* db = static_cast<sqlite3*>(native_db);
  if (!db) return Internal("the jsonl sink needs a SQLite inbox");
  Result<Committed> committed = ReadCommitted(db, path_);
  if (!committed.ok()) return committed.status();

  struct stat st;
  const bool created = ::stat(path_.c_str(), &st) != 0;
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("opening " + path_);
  if (::fstat(fd, &st) != 0) {
    Status status = Errno("stat " + path_);
    ::close(fd);
    return status;
  }
  // Normally the file is exactly the committed size, or longer by a write whose transaction did not
  // commit (overwritten here). Shorter means someone truncated or replaced it: append at its end.
  const int64_t offset = std::min<int64_t>(committed->size, st.st_size);
  const std::string data = line + "\n";
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + written, data.size() - written,
                         static_cast<off_t>(offset + static_cast<int64_t>(written)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status status = Errno("writing " + path_);
      ::close(fd);
      return status;
    }
    written += static_cast<size_t>(n);
  }
  const int64_t new_size = offset + static_cast<int64_t>(data.size());
  int rc = 0;
  if (st.st_size > new_size) rc = ::ftruncate(fd, new_size);
  if (rc == 0) rc = ::fdatasync(fd);
  if (rc != 0) {
    Status status = Errno("syncing " + path_);
    ::close(fd);
    return status;
  }
  ::close(fd);
  if (created) ALIPAYMSG_RETURN_IF_ERROR(FsyncDirectoryOf(path_));

  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO daemon_jsonl_sink (path, committed_size, lines) VALUES (?1, ?2, ?3) "
                         "ON CONFLICT(path) DO UPDATE SET committed_size = excluded.committed_size, "
                         "lines = excluded.lines",
                         -1, &stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db, "recording the jsonl sink's size");
  }
  sqlite3_bind_text(stmt, 1, path_.data(), static_cast<int>(path_.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt, 2, new_size);
  sqlite3_bind_int64(stmt, 3, committed->lines + 1);
  rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return SqliteError(db, "recording the jsonl sink's size");
  return Status::Ok();
}

HandlerOutcome JsonlSink::Deliver(MessageView& message) {
  message.InTransaction([this, line = MessageJson(message)](InboxTransaction& tx) {
    return AppendInTransaction(tx.native(), line);
  });
  return HandlerOutcome::Done();
}

}  // namespace alipaymsg::daemon
