// jsonl sink micro benchmarks: formatting a line (MessageJson) and the exactly-once append
// (JsonlSink::AppendInTransaction: write at the committed size, fdatasync, record the size in the
// inbox database), inside SQLite transactions of `range(0)` lines as the inbox writer runs them.
//   micro_bench --benchmark_filter=Jsonl
#include <benchmark/benchmark.h>

#ifdef ALIPAYMSG_DAEMON_WITH_SINKS
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "alipaymsg/router.h"
#include "bench_fixtures.h"
#include "daemon/sinks.h"

namespace alipaymsg {
namespace {

StoredMessage Stored(size_t content_bytes) {
  StoredMessage s;
  s.message.app_id = "2021000000000001";
  s.message.msg_id = "0b7d2f3a9c4e5f60718293a4b5c6d7e8";
  s.message.msg_api = "alipay.open.mini.order.changed";
  s.message.biz_content = bench::BizContent(content_bytes);
  s.message.channel = "websocket";
  s.message.received_at_ms = 1714979289123;
  return s;
}

void BM_JsonlFormatLine(benchmark::State& state) {
  StoredMessage stored = Stored(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    MessageView view(stored);
    std::string line = daemon::MessageJson(view);
    benchmark::DoNotOptimize(line);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JsonlFormatLine)->Arg(300)->Arg(1000)->Arg(2000);

// Lines per second through the sink's durable append, `range(0)` lines per transaction.
void BM_JsonlAppendInTransaction(benchmark::State& state) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "jsonl-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return state.SkipWithError("mkdtemp");
  const std::string db_path = tmpl + "/inbox.db", jsonl_path = tmpl + "/messages.jsonl";
  sqlite3* db = nullptr;
  sqlite3_open(db_path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr, nullptr, nullptr);
  daemon::JsonlSink sink(jsonl_path);
  if (!sink.Recover(db_path).ok()) return state.SkipWithError("recover");
  StoredMessage stored = Stored(1000);
  MessageView view(stored);
  const std::string line = daemon::MessageJson(view);
  const int per_tx = static_cast<int>(state.range(0));
  for (auto _ : state) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (int i = 0; i < per_tx; ++i) {
      if (!sink.AppendInTransaction(db, line).ok()) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return state.SkipWithError("append failed");
      }
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  state.SetItemsProcessed(state.iterations() * per_tx);
  sqlite3_close(db);
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}
BENCHMARK(BM_JsonlAppendInTransaction)->Arg(1)->Arg(64)->UseRealTime()->MinTime(0.5);

}  // namespace
}  // namespace alipaymsg
#endif  // ALIPAYMSG_DAEMON_WITH_SINKS
