// The inbox file's integrity: PRAGMA quick_check when the owner opens it (bounded in time), the full
// integrity_check for `alipay-msg inbox check`, and the one error that says what to do about damage.
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "inbox/sqlite_db.h"
#include "inbox/sqlite_inbox.h"

namespace alipaymsg {
namespace {

constexpr std::string_view kCorruptMarker = " is corrupt (";

// The problems PRAGMA `pragma` reports ("ok" alone: none). kTimeout when the progress handler's
// deadline passed first.
Result<std::vector<std::string>> RunCheck(inbox::Db& db, const std::string& pragma,
                                          std::chrono::milliseconds budget) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point deadline = budget.count() > 0 ? Clock::now() + budget : Clock::time_point::max();
  sqlite3_progress_handler(
      db.handle(), 10000,
      [](void* arg) { return Clock::now() > *static_cast<Clock::time_point*>(arg) ? 1 : 0; }, &deadline);
  std::vector<std::string> problems;
  Status status = [&]() -> Status {
    auto stmt = db.Prepare(pragma);
    if (!stmt.ok()) return stmt.status();
    while (true) {
      Result<bool> row = (*stmt)->Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::Ok();
      std::string line = (*stmt)->Text(0);
      if (line != "ok") problems.push_back(std::move(line));
    }
  }();
  const bool interrupted = sqlite3_errcode(db.handle()) == SQLITE_INTERRUPT;
  sqlite3_progress_handler(db.handle(), 0, nullptr, nullptr);
  if (!status.ok()) {
    if (interrupted) return Timeout(pragma + " took longer than " + std::to_string(budget.count()) + " ms");
    return status;
  }
  return problems;
}

bool LooksCorrupt(const Status& status) {
  const std::string& m = status.message();
  // sqlite3_errstr of SQLITE_CORRUPT and SQLITE_NOTADB (stable texts).
  return m.find("database disk image is malformed") != std::string::npos ||
         m.find("file is not a database") != std::string::npos;
}

}  // namespace

bool IsInboxCorrupt(const Status& status) {
  return !status.ok() && status.message().find(kCorruptMarker) != std::string::npos;
}

Result<std::vector<std::string>> CheckSqliteInbox(const std::string& path, int max_problems) {
  auto db = inbox::Db::Open(path, /*create=*/false, 5000);
  if (!db.ok()) return db.status();
  ALIPAYMSG_RETURN_IF_ERROR((*db)->Exec("PRAGMA query_only=1"));
  auto problems = RunCheck(**db, "PRAGMA integrity_check(" + std::to_string(std::max(max_problems, 1)) + ")",
                           std::chrono::milliseconds(0));
  if (!problems.ok() && LooksCorrupt(problems.status())) {
    return std::vector<std::string>{problems.status().message()};  // too damaged to even check
  }
  return problems;
}

namespace inbox {

Status CorruptInbox(const std::string& path, const std::string& details) {
  return IoError("the inbox " + path + std::string(kCorruptMarker) + details +
                 "). Nothing was written to it. Keep a copy of the file, see the damage with "
                 "`alipay-msg inbox check --config FILE`, then recover what can be read into a new file "
                 "(README, \"A damaged inbox\": sqlite3 " + path +
                 " .dump | sed 's/^ROLLBACK; -- due to errors$/COMMIT;/' | sqlite3 NEW_FILE) and point inbox.path "
                 "at it, or move the damaged file aside to start empty");
}

Status AsCorruptIfDamaged(const std::string& path, const Status& status) {
  if (status.ok() || IsInboxCorrupt(status) || !LooksCorrupt(status)) return status;
  return CorruptInbox(path, status.message());
}

Status SqliteInbox::QuickCheck() {
  if (options_.quick_check_budget_ms <= 0) return Status::Ok();
  auto problems = RunCheck(*writer_db_, "PRAGMA quick_check(10)",
                           std::chrono::milliseconds(options_.quick_check_budget_ms));
  if (!problems.ok()) {
    // Too large to check in the budget: opened unchecked (`alipay-msg inbox check` does it in full).
    if (problems.status().code() == StatusCode::kTimeout) return Status::Ok();
    return AsCorruptIfDamaged(path_, problems.status());
  }
  if (problems->empty()) return Status::Ok();
  std::string details = "PRAGMA quick_check: ";
  for (size_t i = 0; i < problems->size(); ++i) details += (i ? "; " : "") + (*problems)[i];
  return CorruptInbox(path_, details);
}

}  // namespace inbox
}  // namespace alipaymsg
