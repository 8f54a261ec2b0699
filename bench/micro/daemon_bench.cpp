// jsonl sink micro benchmarks: formatting a line (MessageJson) and the exactly-once append
// (JsonlSink::AppendInTransaction: write at the committed size, record the size in the inbox
// database, one fdatasync per inbox transaction), through a real SqliteInbox's group commits.
//   micro_bench --benchmark_filter=Jsonl
#include <benchmark/benchmark.h>

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include "alipaymsg/inbox.h"
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

// Lines per second through the sink's durable append, as the daemon runs it: `range(0)` claimed
// messages completed with CompleteAsync (one jsonl line each) on a SqliteInbox with fsync, so they
// share group commits; one fdatasync of the jsonl file and one WAL fsync per group.
void BM_JsonlAppendInTransaction(benchmark::State& state) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "jsonl-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return state.SkipWithError("mkdtemp");
  const std::string db_path = tmpl + "/inbox.db", jsonl_path = tmpl + "/messages.jsonl";
  {
    auto inbox = OpenSqliteInbox(db_path);
    if (!inbox.ok()) return state.SkipWithError(inbox.status().ToString().c_str());
    daemon::JsonlSink sink(jsonl_path);
    if (!sink.Recover(db_path).ok()) return state.SkipWithError("recover");
    StoredMessage stored = Stored(1000);
    MessageView view(stored);
    const std::string line = daemon::MessageJson(view);
    const int per_round = static_cast<int>(state.range(0));
    int64_t n = 0, lines = 0;
    for (auto _ : state) {
      state.PauseTiming();
      std::vector<InboundMessage> batch;
      for (int i = 0; i < per_round; ++i) {
        InboundMessage m = stored.message;
        m.msg_id = "j" + std::to_string(n++);
        batch.push_back(std::move(m));
      }
      (void)(*inbox)->Store(std::move(batch));
      auto claimed = (*inbox)->Claim(per_round, stored.message.received_at_ms);
      if (!claimed.ok() || static_cast<int>(claimed->size()) != per_round) {
        return state.SkipWithError("claim failed");
      }
      const int64_t commits_before = (*inbox)->Stats()->commits;
      state.ResumeTiming();
      std::promise<void> all;
      std::atomic<int> left{per_round};
      std::atomic<bool> failed{false};
      for (const StoredMessage& m : *claimed) {
        (*inbox)->CompleteAsync(
            m.message.app_id, m.message.msg_id, DispatchResult{}, 1,
            [&sink, &line](InboxTransaction& tx) { return sink.AppendInTransaction(tx, line); },
            [&](Status status) {
              if (!status.ok()) failed = true;
              if (left.fetch_sub(1) == 1) all.set_value();
            });
      }
      all.get_future().wait();
      state.PauseTiming();
      if (failed) return state.SkipWithError("append failed");
      lines += per_round;
      state.counters["lines_per_commit"] = benchmark::Counter(
          static_cast<double>(per_round) / static_cast<double>((*inbox)->Stats()->commits - commits_before));
      state.ResumeTiming();
    }
    state.SetItemsProcessed(lines);
  }
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}
BENCHMARK(BM_JsonlAppendInTransaction)->Arg(1)->Arg(64)->Arg(512)->UseRealTime()->MinTime(0.5);

}  // namespace
}  // namespace alipaymsg
