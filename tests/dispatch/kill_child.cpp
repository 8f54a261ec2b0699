// The process the SIGKILL test kills: stores a stream of messages into an inbox (with redeliveries)
// while a dispatcher handles them; the handler records its effect in the inbox's own transaction.
// Started again after every kill, it re-stores the whole stream (what Alipay does for unacked
// messages) and exits 0 once every message is done.
//
//   inbox_kill_child DB_PATH COUNT [HANDLER_SLEEP_US]
//
// stdout: "A <app_id> <msg_id>" for each message whose store was reported committed (= acked), one
// write(2) per commit so that a kill never leaves half a line; "H <app_id> <msg_id>" once a
// message's "done" is committed; "COMPLETE" at the end.
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "alipaymsg/dispatcher.h"
#include "alipaymsg/inbox.h"
#include "alipaymsg/router.h"

namespace {

using namespace alipaymsg;

std::string AppOf(int n) { return n % 2 == 0 ? "2021000000000001" : "2021000000000002"; }
std::string IdOf(int n) { return "m" + std::to_string(n); }
std::string ApiOf(int n) {
  static const char* apis[] = {"alipay.open.mini.version.audit.passed",
                               "alipay.open.auth.appauth.cancelled",
                               "alipay.trade.refund.depositback.completed"};
  return apis[n % 3];
}

void WriteAll(const std::string& text) {
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(1, text.data() + off, text.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "inbox_kill_child: %s\n", what.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Fail("usage: inbox_kill_child DB_PATH COUNT [HANDLER_SLEEP_US]");
  const std::string path = argv[1];
  const int count = std::atoi(argv[2]);
  const int sleep_us = argc > 3 ? std::atoi(argv[3]) : 0;

  {  // The handler's own table lives in the inbox database.
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return Fail("cannot open " + path);
    sqlite3_busy_timeout(db, 10000);
    const char* sql =
        "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS effects (app_id TEXT NOT NULL, "
        "msg_id TEXT NOT NULL, attempt INTEGER NOT NULL)";
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Fail(std::string("cannot create effects: ") + sqlite3_errmsg(db));
    }
    sqlite3_close(db);
  }

  auto opened = OpenSqliteInbox(path);
  if (!opened.ok()) return Fail(opened.status().ToString());
  Inbox& inbox = **opened;

  Handler record = [sleep_us](MessageView& m) -> HandlerOutcome {
    const int n = std::atoi(m.msg_id().c_str() + 1);
    if (m.attempt() == 1 && n % 5 == 0) return HandlerOutcome::RetryLater("simulated 503");
    if (m.attempt() == 1 && n % 7 == 0) throw std::runtime_error("simulated crash in handler");
    if (sleep_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
    const int attempt = m.attempt();
    std::string app = m.app_id(), id = m.msg_id();
    m.InTransaction([app, id, attempt](InboxTransaction& tx) -> Status {
      auto* db = static_cast<sqlite3*>(tx.native());
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db, "INSERT INTO effects (app_id, msg_id, attempt) VALUES (?, ?, ?)",
                             -1, &stmt, nullptr) != SQLITE_OK) {
        return Internal(sqlite3_errmsg(db));
      }
      sqlite3_bind_text(stmt, 1, app.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(stmt, 2, id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(stmt, 3, attempt);
      int rc = sqlite3_step(stmt);
      sqlite3_finalize(stmt);
      if (rc != SQLITE_DONE) return Internal(sqlite3_errmsg(db));
      return Status::Ok();
    });
    return HandlerOutcome::Done();
  };
  Router router;
  (void)router.On("alipay.open.mini.*", record);
  (void)router.On("alipay.open.auth.appauth.cancelled", record);
  (void)router.On("*", record);

  DispatcherOptions options;
  options.threads = 4;
  options.max_attempts = 1000;  // kills interrupt attempts; only exactly-once is under test here
  options.initial_backoff = std::chrono::milliseconds(5);
  options.max_backoff = std::chrono::milliseconds(20);
  options.poll_interval = std::chrono::milliseconds(50);
  options.on_result = [](const StoredMessage& m, const DispatchResult& r) {
    if (r.kind == DispatchResult::Kind::kDone) {
      WriteAll("H " + m.message.app_id + " " + m.message.msg_id + "\n");
    }
  };
  Dispatcher dispatcher(inbox, router, options);
  if (Status s = dispatcher.Start(); !s.ok()) return Fail(s.ToString());

  // Two producers, each its half of the stream in batches of 1..16, now and then redelivering an
  // earlier message of the batch (the inbox must absorb it).
  std::atomic<int> failures{0};
  auto produce = [&](int parity, uint64_t seed) {
    std::mt19937_64 rng(seed);
    int n = parity;
    while (n < count) {
      std::vector<InboundMessage> batch;
      const int size = 1 + static_cast<int>(rng() % 16);
      for (int i = 0; i < size && n < count; ++i, n += 2) {
        InboundMessage m;
        m.app_id = AppOf(n);
        m.msg_id = IdOf(n);
        m.msg_api = ApiOf(n);
        m.biz_content = "{\"n\":" + std::to_string(n) + "}";
        m.channel = "websocket";
        m.received_at_ms = 1;
        batch.push_back(m);
        if (rng() % 10 == 0) batch.push_back(batch.front());
      }
      inbox.StoreAsync(batch, [&, batch](Result<std::vector<StoreOutcome>> r) {
        if (!r.ok()) {
          failures.fetch_add(1);
          return;
        }
        std::string acked;
        for (const auto& m : batch) acked += "A " + m.app_id + " " + m.msg_id + "\n";
        WriteAll(acked);
        dispatcher.Notify();
      });
    }
  };
  const auto started = std::chrono::steady_clock::now();
  std::random_device rd;
  std::thread p0(produce, 0, rd()), p1(produce, 1, rd());
  p0.join();
  p1.join();
  if (!inbox.Store({}).ok()) return Fail("final store failed");  // behind every queued store
  if (failures.load() != 0) return Fail("stores failed");

  while (true) {
    auto stats = inbox.Stats();
    if (!stats.ok()) return Fail(stats.status().ToString());
    if (stats->dead + stats->unhandled > 0) return Fail("a message went dead or unhandled");
    if (stats->done == count) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  dispatcher.Stop();
  if (std::getenv("KILL_CHILD_VERBOSE") != nullptr) {
    auto stats = inbox.Stats();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started).count();
    std::fprintf(stderr, "stored %lld in %lld commits, handled %lld, %lld ms\n",
                 static_cast<long long>(stats->stored), static_cast<long long>(stats->commits),
                 static_cast<long long>(dispatcher.Stats().handled), static_cast<long long>(ms));
  }
  inbox.Close();
  WriteAll("COMPLETE\n");
  return 0;
}
