// The jsonl sink: exactly-once lines, committed with the inbox (see JsonlSink in sinks.h).
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "daemon/sinks.h"
#include "inbox/libpq.h"

namespace alipaymsg::daemon {
namespace {

using inbox::Pq;  // libpq, loaded by the PostgreSQL inbox that made the transaction

constexpr const char* kCreateTable =
    "CREATE TABLE IF NOT EXISTS daemon_jsonl_sink ("
    " path TEXT PRIMARY KEY,"
    " committed_size INTEGER NOT NULL,"
    " lines INTEGER NOT NULL DEFAULT 0)";
constexpr const char* kReadCommitted =
    "SELECT committed_size, lines FROM daemon_jsonl_sink WHERE path = ?1";
constexpr const char* kWriteCommitted =
    "INSERT INTO daemon_jsonl_sink (path, committed_size, lines) VALUES (?1, ?2, ?3) "
    "ON CONFLICT(path) DO UPDATE SET committed_size = excluded.committed_size, lines = excluded.lines";

Status SqliteError(sqlite3* db, const std::string& what) {
  return IoError(what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

Status Errno(const std::string& what) { return IoError(what + ": " + std::strerror(errno)); }

struct Committed {
  int64_t size = 0;
  int64_t lines = 0;
};

// Runs the prepared kReadCommitted for `path` (bound as ?1), leaving it reset.
Result<Committed> ReadCommitted(sqlite3* db, sqlite3_stmt* stmt, const std::string& path) {
  sqlite3_bind_text(stmt, 1, path.data(), static_cast<int>(path.size()), SQLITE_STATIC);
  Committed committed;
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    committed.size = sqlite3_column_int64(stmt, 0);
    committed.lines = sqlite3_column_int64(stmt, 1);
  }
  sqlite3_reset(stmt);
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

// The one row's first column of `r` (which it frees), or what went wrong while doing `what`.
Result<int64_t> SinkRowInt(PGresult* r, const std::string& what) {
  Status status = Pq().PQresultStatus(r) == PGRES_TUPLES_OK && Pq().PQntuples(r) == 1
                      ? Status::Ok()
                      : IoError(what + (Pq().PQresultStatus(r) == PGRES_TUPLES_OK ? " (no row: was Recover() called?)"
                                                                              : ": " + std::string(Pq().PQresultErrorMessage(r))));
  const int64_t value = status.ok() ? std::strtoll(Pq().PQgetvalue(r, 0, 0), nullptr, 10) : 0;
  Pq().PQclear(r);
  if (!status.ok()) return status;
  return value;
}

}  // namespace

JsonlSink::~JsonlSink() {
  CloseFile();
  // The inbox closes its connection with sqlite3_close_v2: it stays a zombie until these go.
  sqlite3_finalize(read_);
  sqlite3_finalize(write_);
}

void JsonlSink::CloseFile() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  disk_size_ = pending_offset_ = 0;
  pending_.clear();
}

Status JsonlSink::Recover(const std::string& inbox_db_path) {
  std::lock_guard lock(mu_);
  CloseFile();
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
  Result<Committed> committed = SqliteError(db, "creating the jsonl sink table");
  sqlite3_stmt* read = nullptr;
  if (sqlite3_exec(db, kCreateTable, nullptr, nullptr, nullptr) == SQLITE_OK) {
    if (sqlite3_prepare_v2(db, kReadCommitted, -1, &read, nullptr) == SQLITE_OK) {
      committed = ReadCommitted(db, read, path_);
    } else {
      committed = SqliteError(db, "reading the jsonl sink table");
    }
  }
  sqlite3_finalize(read);
  sqlite3_close(db);
  if (!committed.ok()) return committed.status();
  return TruncateToCommitted(committed->size);
}

Status JsonlSink::TruncateToCommitted(int64_t committed_size) {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();  // created by the first line
    return Errno("stat " + path_);
  }
  if (st.st_size <= committed_size) return Status::Ok();
  // Lines written by transactions that never committed: not part of the output.
  int fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Errno("opening " + path_);
  int rc = ::ftruncate(fd, committed_size);
  if (rc == 0) rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  errno = saved;
  return rc == 0 ? Status::Ok() : Errno("truncating " + path_ + " to its committed size");
}

std::string JsonlSinkKey(const std::string& path) {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof(host), "localhost");
  return std::string(host) + ":" + path;
}

// PostgreSQL: the row lives in the inbox schema (alipaymsg_jsonl_sink); one statement per line both
// reads the committed size and records the new one.
Status JsonlSink::Recover(Inbox& inbox, const std::string& key) {
  std::lock_guard lock(mu_);
  CloseFile();
  key_ = key;
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return IoError("creating directory " + parent.string() + ": " + ec.message());
  struct stat st;
  int64_t existing = 0;
  if (::stat(path_.c_str(), &st) == 0) {
    existing = st.st_size;
  } else if (errno != ENOENT) {
    return Errno("stat " + path_);
  }
  int64_t committed = 0;
  Status status = inbox.RunInTransaction([&](InboxTransaction& tx) -> Status {
    if (tx.backend() != "postgresql") return Internal("the jsonl sink's shared-inbox recovery needs a PostgreSQL inbox");
    auto* conn = static_cast<PGconn*>(tx.native());
    const std::string size = std::to_string(existing);
    const char* params[] = {key_.c_str(), size.c_str()};
    PGresult* r = Pq().PQexecParams(conn,
                               "WITH ins AS (INSERT INTO alipaymsg_jsonl_sink (sink, committed_size) VALUES ($1, "
                               "$2::bigint) ON CONFLICT (sink) DO NOTHING RETURNING committed_size) "
                               "SELECT committed_size FROM ins UNION ALL "
                               "SELECT committed_size FROM alipaymsg_jsonl_sink WHERE sink = $1",
                               2, nullptr, params, nullptr, nullptr, 0);
    Status result = Pq().PQresultStatus(r) == PGRES_TUPLES_OK && Pq().PQntuples(r) > 0
                        ? Status::Ok()
                        : IoError(std::string("reading the jsonl sink table: ") + Pq().PQresultErrorMessage(r));
    if (result.ok()) committed = std::strtoll(Pq().PQgetvalue(r, 0, 0), nullptr, 10);
    Pq().PQclear(r);
    return result;
  });
  if (!status.ok()) return status;
  return TruncateToCommitted(committed);
}

Status JsonlSink::AppendPostgres(InboxTransaction& tx, std::string_view line) {
  auto* conn = static_cast<PGconn*>(tx.native());
  if (key_.empty()) return Internal("the jsonl sink " + path_ + " was not recovered against the inbox");
  if (tx.all_or_nothing()) return AppendPostgresDeferred(tx, conn, line);
  const bool first_in_transaction = tx.BeforeCommit(this, [this] { return SyncBeforeCommit(); });
  ALIPAYMSG_RETURN_IF_ERROR(first_in_transaction ? OpenForTransaction() : StillOpen());
  const int64_t total = static_cast<int64_t>(line.size()) + 1;
  // The offset is the committed size, or the file's end when someone cut the file shorter.
  const std::string file_size = std::to_string(FileEnd()), length = std::to_string(total);
  const char* params[] = {key_.c_str(), file_size.c_str(), length.c_str()};
  Result<int64_t> offset = SinkRowInt(
      Pq().PQexecParams(conn,
                   "UPDATE alipaymsg_jsonl_sink SET committed_size = LEAST(committed_size, $2::bigint) "
                   "+ $3::bigint, lines = lines + 1 WHERE sink = $1 RETURNING committed_size - $3::bigint",
                   3, nullptr, params, nullptr, nullptr, 0),
      "recording the jsonl sink's size");
  if (!offset.ok()) return offset.status();
  return WriteAt(*offset, line);
}

// In a transaction that no failure commits partly, the row is read (and locked) by the first line
// and written once by the before-commit hook: one statement each per transaction, not per line.
Status JsonlSink::AppendPostgresDeferred(InboxTransaction& tx, PGconn* conn, std::string_view line) {
  const bool first_in_transaction =
      tx.BeforeCommit(this, [this, conn] { return RecordDeferredBeforeCommit(conn); });
  if (!first_in_transaction && (fd_ < 0 || !deferred_)) {
    // Only after a failure earlier in this transaction, which then cannot commit.
    return Internal("the jsonl sink " + path_ + " lost its place in the transaction");
  }
  if (first_in_transaction) {
    deferred_.reset();
    ALIPAYMSG_RETURN_IF_ERROR(OpenForTransaction());
    const char* params[] = {key_.c_str()};
    Result<int64_t> committed = SinkRowInt(
        Pq().PQexecParams(conn, "SELECT committed_size FROM alipaymsg_jsonl_sink WHERE sink = $1 FOR UPDATE", 1,
                     nullptr, params, nullptr, nullptr, 0),
        "reading the jsonl sink's size");
    if (!committed.ok()) return committed.status();
    // The committed size, or the file's end when someone cut the file shorter (as per line above).
    deferred_ = Deferred{std::min(*committed, FileEnd()), 0};
  }
  ALIPAYMSG_RETURN_IF_ERROR(WriteAt(deferred_->end, line));
  deferred_->end = FileEnd();
  ++deferred_->lines;
  return Status::Ok();
}

Status JsonlSink::RecordDeferredBeforeCommit(PGconn* conn) {
  {
    std::lock_guard lock(mu_);
    if (!deferred_) return Internal("the jsonl sink " + path_ + " lost its lines before recording them");
    const std::string end = std::to_string(deferred_->end), lines = std::to_string(deferred_->lines);
    deferred_.reset();  // whatever happens next, the next transaction starts from the table
    const char* params[] = {key_.c_str(), end.c_str(), lines.c_str()};
    PGresult* r = Pq().PQexecParams(conn,
                               "UPDATE alipaymsg_jsonl_sink SET committed_size = $2::bigint, "
                               "lines = lines + $3::bigint WHERE sink = $1",
                               3, nullptr, params, nullptr, nullptr, 0);
    Status status = Pq().PQresultStatus(r) == PGRES_COMMAND_OK && std::strcmp(Pq().PQcmdTuples(r), "1") == 0
                        ? Status::Ok()
                        : IoError(std::string("recording the jsonl sink's size: ") + Pq().PQresultErrorMessage(r));
    Pq().PQclear(r);
    if (!status.ok()) return status;
  }
  return SyncBeforeCommit();
}

Status JsonlSink::PrepareFor(sqlite3* db) {
  if (db == stmt_db_ && read_ != nullptr && write_ != nullptr) return Status::Ok();
  sqlite3_finalize(read_);
  sqlite3_finalize(write_);
  read_ = write_ = nullptr;
  stmt_db_ = nullptr;
  if (sqlite3_prepare_v3(db, kReadCommitted, -1, SQLITE_PREPARE_PERSISTENT, &read_, nullptr) != SQLITE_OK) {
    return SqliteError(db, "reading the jsonl sink table (was Recover() called?)");
  }
  if (sqlite3_prepare_v3(db, kWriteCommitted, -1, SQLITE_PREPARE_PERSISTENT, &write_, nullptr) != SQLITE_OK) {
    return SqliteError(db, "recording the jsonl sink's size");
  }
  stmt_db_ = db;
  return Status::Ok();
}

// Later in a transaction: the file must still be open. A write that failed closed it, dropping the
// transaction's gathered lines, so reopening now would commit the requests before it without
// theirs; the transaction fails instead (SyncBeforeCommit refuses it) and its results are retried.
Status JsonlSink::StillOpen() const {
  if (fd_ >= 0) return Status::Ok();
  return IoError("the jsonl sink " + path_ + " lost its file after a failed write in this transaction");
}

// Once per transaction: (re)opens the file when it is not open or the path now names another file
// (rotated or removed by an operator), and learns its size.
Status JsonlSink::OpenForTransaction() {
  struct stat by_path, by_fd;
  const bool exists = ::stat(path_.c_str(), &by_path) == 0;
  if (!exists && errno != ENOENT) return Errno("stat " + path_);
  if (fd_ >= 0 && exists && ::fstat(fd_, &by_fd) == 0 && by_fd.st_dev == by_path.st_dev &&
      by_fd.st_ino == by_path.st_ino) {
    // Also notices a truncation behind our back. Lines still pending belong to a transaction that
    // did not reach its commit: dropped.
    disk_size_ = pending_offset_ = by_fd.st_size;
    pending_.clear();
    return Status::Ok();
  }
  CloseFile();
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return Errno("opening " + path_);
  if (::fstat(fd_, &by_fd) != 0) {
    Status status = Errno("stat " + path_);
    CloseFile();
    return status;
  }
  disk_size_ = pending_offset_ = by_fd.st_size;
  pending_.clear();
  if (!exists) created_ = true;
  return Status::Ok();
}

Status JsonlSink::SyncBeforeCommit() {
  std::lock_guard lock(mu_);
  if (unsynced_) {
    if (fd_ < 0) return IoError("the jsonl sink lost its file before syncing " + path_ + " (a write failed)");
    ALIPAYMSG_RETURN_IF_ERROR(FlushPending());
    if (::fdatasync(fd_) != 0) {
      Status status = Errno("syncing " + path_);
      CloseFile();  // reopened (and rewritten from the committed size) by the next transaction
      return status;
    }
    unsynced_ = false;
  }
  if (created_) {
    ALIPAYMSG_RETURN_IF_ERROR(FsyncDirectoryOf(path_));
    created_ = false;
  }
  return Status::Ok();
}

Status JsonlSink::AppendInTransaction(InboxTransaction& tx, std::string_view line) {
  std::lock_guard lock(mu_);
  if (tx.backend() == "postgresql") return AppendPostgres(tx, line);
  auto* db = static_cast<sqlite3*>(tx.native());
  if (!db) return Internal("the jsonl sink needs a SQLite or PostgreSQL inbox");
  ALIPAYMSG_RETURN_IF_ERROR(PrepareFor(db));
  // The first line of a transaction registers its one fdatasync and checks the file.
  const bool first_in_transaction = tx.BeforeCommit(this, [this] { return SyncBeforeCommit(); });
  ALIPAYMSG_RETURN_IF_ERROR(first_in_transaction ? OpenForTransaction() : StillOpen());

  // Read inside the transaction, so a rolled-back request's line is overwritten by the next one.
  Result<Committed> committed = ReadCommitted(db, read_, path_);
  if (!committed.ok()) return committed.status();
  // Normally the file is exactly the committed size, or longer by writes whose transaction or
  // request did not commit (overwritten here). Shorter means someone truncated or replaced it:
  // append at its end.
  const int64_t offset = std::min<int64_t>(committed->size, FileEnd());
  ALIPAYMSG_RETURN_IF_ERROR(WriteAt(offset, line));
  const int64_t new_size = FileEnd();

  sqlite3_bind_text(write_, 1, path_.data(), static_cast<int>(path_.size()), SQLITE_STATIC);
  sqlite3_bind_int64(write_, 2, new_size);
  sqlite3_bind_int64(write_, 3, committed->lines + 1);
  const int rc = sqlite3_step(write_);
  sqlite3_reset(write_);
  if (rc != SQLITE_DONE) return SqliteError(db, "recording the jsonl sink's size");
  return Status::Ok();
}

// Puts `line` + "\n" at `offset`, cutting off whatever followed (a rolled-back request's or an
// aborted transaction's lines); FileEnd() becomes the new end. The bytes reach the file in
// FlushPending, before the commit (or once a megabyte has gathered). Under mu_.
Status JsonlSink::WriteAt(int64_t offset, std::string_view line) {
  constexpr size_t kFlushAtBytes = 1 << 20;
  if (offset > FileEnd()) return Internal("the jsonl sink was asked to write past its end in " + path_);
  if (offset < pending_offset_) {
    pending_.clear();  // everything gathered lies past the cut
    pending_offset_ = offset;
  } else {
    pending_.resize(static_cast<size_t>(offset - pending_offset_));
  }
  pending_.append(line);
  pending_ += '\n';
  unsynced_ = true;
  return pending_.size() >= kFlushAtBytes ? FlushPending() : Status::Ok();
}

// Writes the gathered bytes at pending_offset_ and cuts the file after them. Under mu_.
Status JsonlSink::FlushPending() {
  const int64_t end = FileEnd();
  size_t written = 0;
  while (written < pending_.size()) {
    const ssize_t n = ::pwrite(fd_, pending_.data() + written, pending_.size() - written,
                               static_cast<off_t>(pending_offset_ + static_cast<int64_t>(written)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status status = Errno("writing " + path_);
      CloseFile();
      return status;
    }
    written += static_cast<size_t>(n);
  }
  if (disk_size_ > end && ::ftruncate(fd_, end) != 0) {
    Status status = Errno("truncating " + path_);
    CloseFile();
    return status;
  }
  disk_size_ = end;
  pending_.clear();
  pending_offset_ = end;
  return Status::Ok();
}

HandlerOutcome JsonlSink::Deliver(MessageView& message) {
  message.InTransaction([this, line = MessageJson(message)](InboxTransaction& tx) {
    return AppendInTransaction(tx, line);
  });
  return HandlerOutcome::Done();
}

}  // namespace alipaymsg::daemon
