// Sinks: where alipay-msgd hands each message. A sink is a dispatcher handler (router.h): it answers
// Done, RetryLater (the dispatcher backs off, then marks the message dead) or Reject.
//
//   jsonl    one line per message, exactly once: the line is written inside the inbox transaction
//            that marks the message done (see JsonlSink).
//   exec     runs a program (no shell) with the message JSON on stdin; exit 0 = done.
//   webhook  POSTs the message JSON; 2xx = done.
//   redis    XADD into a Redis Stream, exactly once (sink_bus.h).
//   nats     JetStream publish, deduplicated by Nats-Msg-Id (sink_bus.h).
// exec and webhook are at-least-once (a crash after the receiver's success and before the inbox
// commit repeats the delivery); X-Alipay-Msg-Id / ALIPAY_MSG_ID let receivers deduplicate.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alipaymsg/router.h"
#include "daemon/config.h"

struct sqlite3;
struct pg_conn;  // libpq's PGconn
struct sqlite3_stmt;

namespace alipaymsg {
class Inbox;
}

namespace alipaymsg::daemon {

// "2024-05-06T07:08:09.123Z" (UTC, milliseconds).
std::string Rfc3339Utc(int64_t unix_ms);

// The message as one line of JSON (no newline):
// {"app_id","msg_api","msg_id","biz_content":<the JSON object>,"channel","received_at","delivery_count"}
// biz_content is embedded as received when it is JSON on one line, re-serialized compactly when it
// spans lines, and as a JSON string when it is not JSON at all (the line stays valid JSON).
std::string MessageJson(const MessageView& message);

class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::string_view kind() const = 0;
  // Called on dispatcher workers, possibly concurrently.
  virtual HandlerOutcome Deliver(MessageView& message) = 0;
  // Shutdown: kill running programs, abort requests; later deliveries answer RetryLater.
  virtual void Cancel() {}
};

// Counts deliveries per sink and outcome, for /metrics.
struct SinkCounters {
  std::string name;  // "sinks[0]"
  std::string kind;  // "jsonl"
  int64_t done = 0, retry = 0, reject = 0;
  // Time spent in Deliver (every outcome), as a histogram over kSinkLatencyBoundsS.
  std::vector<int64_t> latency_counts = std::vector<int64_t>(kSinkLatencyBounds, 0);
  double latency_sum_s = 0;
  int64_t latency_count = 0;
  static constexpr size_t kSinkLatencyBounds = 10;
};
inline constexpr double kSinkLatencyBoundsS[SinkCounters::kSinkLatencyBounds] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1, 10};

// First match wins, over the sinks in config order.
class SinkRouter {
 public:
  void Add(std::string name, std::vector<std::string> patterns, std::shared_ptr<Sink> sink);
  // The first sink whose patterns match; nullptr when none does.
  Sink* Find(std::string_view msg_api, size_t* index = nullptr) const;
  // Registers one handler per distinct pattern on `router` (whose own precedence is "most specific
  // wins"); each handler re-runs the first-match search, so the config order decides. A message no
  // pattern matches finds no handler and stays unhandled in the inbox.
  Status RegisterOn(Router& router);
  void CancelAll();
  std::vector<SinkCounters> Counters() const;

 private:
  HandlerOutcome Deliver(MessageView& message);
  struct Entry {
    std::string name;
    std::vector<std::string> patterns;
    std::shared_ptr<Sink> sink;
  };
  std::vector<Entry> entries_;
  mutable std::mutex mu_;
  std::vector<SinkCounters> counters_;
};

// A counting semaphore whose Acquire gives up when cancelled.
class Slots {
 public:
  explicit Slots(int count) : free_(count) {}
  bool Acquire();  // false: cancelled
  void Release();
  void Cancel();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int free_;
  bool cancelled_ = false;
};

// ---- jsonl ----------------------------------------------------------------------------------------
// Exactly once across crashes: the sink keeps (path → committed size) in a table of the inbox
// database. A delivery registers an effect that runs inside the inbox transaction marking the
// message done: it writes the line at the committed size (truncating whatever an aborted transaction
// left after it) and records the new size. The lines of one transaction are made durable together by
// one fdatasync, registered as the transaction's before-commit hook (InboxTransaction::BeforeCommit),
// so the recorded size never covers bytes that are not on disk. If that transaction does not commit
// (crash, error), the bytes beyond the recorded size are not part of the output: Recover() truncates
// them at start-up, and the next write overwrites them anyway. Writes happen on the inbox's single
// writer thread, in commit order; the file stays open and the statements stay prepared between them.
// In a PostgreSQL transaction that is all_or_nothing (InboxTransaction), the row is read and locked
// by the transaction's first line and written once by its before-commit hook, not once per line.
class JsonlSink final : public Sink {
 public:
  explicit JsonlSink(std::string path) : path_(std::move(path)) {}
  ~JsonlSink() override;
  JsonlSink(const JsonlSink&) = delete;
  JsonlSink& operator=(const JsonlSink&) = delete;
  std::string_view kind() const override { return "jsonl"; }
  HandlerOutcome Deliver(MessageView& message) override;

  // Creates the sink's table in the inbox database at `inbox_db_path` (own connection) and
  // truncates the file to its last committed size. Call once before dispatching starts.
  Status Recover(const std::string& inbox_db_path);
  // The same through an inbox that runs transactions of its own (the PostgreSQL inbox, whose
  // schema has the sink table), the file known by `key` there. A file the inbox has no record of
  // is adopted at its current size (its lines predate this inbox: kept, never rewritten).
  Status Recover(Inbox& inbox, const std::string& key);

  // The effect itself: appends `line` + "\n" as described above, inside `tx` (a SqliteInbox
  // transaction). Public for tests and benchmarks.
  Status AppendInTransaction(InboxTransaction& tx, std::string_view line);

  const std::string& path() const { return path_; }

 private:
  Status PrepareFor(sqlite3* db);
  Status AppendPostgres(InboxTransaction& tx, std::string_view line);
  Status AppendPostgresDeferred(InboxTransaction& tx, pg_conn* conn, std::string_view line);
  Status RecordDeferredBeforeCommit(pg_conn* conn);
  Status TruncateToCommitted(int64_t committed_size);
  Status WriteAt(int64_t offset, std::string_view line);
  Status FlushPending();
  Status OpenForTransaction();
  Status StillOpen() const;
  Status SyncBeforeCommit();
  void CloseFile();

  const std::string path_;
  std::string key_;  // the file's row in a PostgreSQL inbox (set by Recover(Inbox&, key))
  std::mutex mu_;  // the writer thread normally; tests may use several inboxes
  int fd_ = -1;
  int64_t disk_size_ = 0;      // of the open file, as written so far
  // A transaction's lines, gathered and written at once before its commit (FlushPending): one
  // write per transaction instead of one per line. They go at pending_offset_.
  std::string pending_;
  int64_t pending_offset_ = 0;
  // The end of the file as this sink leaves it, gathered lines included.
  int64_t FileEnd() const { return pending_offset_ + static_cast<int64_t>(pending_.size()); }
  bool unsynced_ = false;      // written since the last fdatasync
  bool created_ = false;       // created since the last sync: its directory entry needs an fsync
  // The current all_or_nothing PostgreSQL transaction's lines: where the next goes, and how many.
  struct Deferred {
    int64_t end = 0;
    int64_t lines = 0;
  };
  std::optional<Deferred> deferred_;
  sqlite3* stmt_db_ = nullptr;  // the connection the statements below belong to
  sqlite3_stmt* read_ = nullptr;
  sqlite3_stmt* write_ = nullptr;
};

// ---- exec -----------------------------------------------------------------------------------------
struct ExecResult {
  bool started = false;
  bool timed_out = false;
  int exit_code = -1;   // when exited normally
  int signal = 0;       // when killed by a signal
  std::string output;   // stdout+stderr, the last 4 KiB
  std::string error;    // why it could not start
};

// Runs argv (argv[0] a path; no shell) with `input` on stdin and `extra_env` added to this process's
// environment; kills the process group after `timeout_ms`. SIGPIPE-safe.
ExecResult RunProgram(const std::vector<std::string>& argv, const std::string& input,
                      const std::map<std::string, std::string>& extra_env, int timeout_ms);

class ExecSink final : public Sink {
 public:
  ExecSink(std::vector<std::string> argv, int timeout_ms, int concurrency)
      : argv_(std::move(argv)), timeout_ms_(timeout_ms), slots_(concurrency) {}
  std::string_view kind() const override { return "exec"; }
  HandlerOutcome Deliver(MessageView& message) override;
  void Cancel() override { slots_.Cancel(); }

 private:
  std::vector<std::string> argv_;
  int timeout_ms_;
  Slots slots_;
};

// ---- webhook --------------------------------------------------------------------------------------
struct HttpResponse {
  int status = 0;
  std::string body;  // the first 4 KiB
};
// The TLS client settings of https:// webhooks: peer verification always on, the system trust store
// plus an optional extra CA bundle, host name checked. Built once per sink (loading the store is slow).
class TlsClientContext;
Result<std::shared_ptr<TlsClientContext>> MakeTlsClientContext(const std::string& extra_ca_file);

// One POST on a fresh connection, the whole exchange bounded by timeout_ms (sink_webhook.cpp, the
// only Beast translation unit among the sinks). An https:// URL needs `tls` (else one is made with
// the system store alone).
Result<HttpResponse> HttpPost(const std::string& url, const std::map<std::string, std::string>& headers,
                              const std::string& body, int timeout_ms,
                              const std::shared_ptr<TlsClientContext>& tls = nullptr);

class WebhookSink final : public Sink {
 public:
  WebhookSink(std::string url, std::map<std::string, std::string> headers, int timeout_ms,
              int concurrency, std::shared_ptr<TlsClientContext> tls = nullptr)
      : url_(std::move(url)), headers_(std::move(headers)), timeout_ms_(timeout_ms), slots_(concurrency),
        tls_(std::move(tls)) {}
  std::string_view kind() const override { return "webhook"; }
  HandlerOutcome Deliver(MessageView& message) override;
  void Cancel() override { slots_.Cancel(); }

 private:
  std::string url_;
  std::map<std::string, std::string> headers_;
  int timeout_ms_;
  Slots slots_;
  std::shared_ptr<TlsClientContext> tls_;
};

// Builds the sinks of `config` (one JsonlSink per distinct path, recovered against the inbox:
// the SQLite file at config.inbox_path, or `inbox` when config.inbox_url is set).
Result<std::unique_ptr<SinkRouter>> BuildSinks(const DaemonConfig& config, Inbox* inbox = nullptr);

// The key of a jsonl file in a shared inbox: "<hostname>:<path>" (instances on other machines may
// use the same path for their own files).
std::string JsonlSinkKey(const std::string& path);

}  // namespace alipaymsg::daemon
