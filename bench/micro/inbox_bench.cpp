// Inbox micro benchmarks: what group commit buys (messages per fsync), claim/complete cost.
//   micro_bench --benchmark_filter=Inbox
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "alipaymsg/inbox.h"

namespace alipaymsg {
namespace {

class TempInbox {
 public:
  explicit TempInbox(const SqliteInboxOptions& options) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "inbox-bench-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
    auto opened = OpenSqliteInbox(dir_ + "/inbox.db", options);
    if (opened.ok()) inbox_ = std::move(*opened);
  }
  ~TempInbox() {
    inbox_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Inbox* get() { return inbox_.get(); }

 private:
  std::string dir_;
  std::unique_ptr<Inbox> inbox_;
};

InboundMessage Msg(int64_t n) {
  InboundMessage m;
  m.app_id = "2021000000000001";
  m.msg_id = "m" + std::to_string(n);
  m.msg_api = "alipay.open.mini.version.audit.passed";
  m.biz_content = R"({"mini_app_id":"2021004100000000","version":"0.0.3","audit_reason":""})";
  m.channel = "websocket";
  m.received_at_ms = 1700000000000;
  return m;
}

// One message per StoreAsync from `threads` producers, as the client does for each CONSUME:
// group commit turns them into few transactions.
void BM_InboxStoreAsyncSingles(benchmark::State& state) {
  SqliteInboxOptions options;
  options.synchronous_full = state.range(1) != 0;
  TempInbox temp(options);
  if (temp.get() == nullptr) return state.SkipWithError("cannot open inbox");
  const int producers = static_cast<int>(state.range(0));
  constexpr int kPerIteration = 2000;
  int64_t next = 0;
  for (auto _ : state) {
    std::atomic<int> pending{kPerIteration};
    std::promise<void> all;
    std::vector<std::thread> threads;
    const int64_t base = next;
    for (int t = 0; t < producers; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < kPerIteration; i += producers) {
          temp.get()->StoreAsync({Msg(base + i)}, [&](Result<std::vector<StoreOutcome>>) {
            if (pending.fetch_sub(1) == 1) all.set_value();
          });
        }
      });
    }
    for (auto& t : threads) t.join();
    all.get_future().wait();
    next += kPerIteration;
  }
  auto stats = temp.get()->Stats();
  state.SetItemsProcessed(next);
  if (stats.ok() && stats->commits > 0) {
    state.counters["msgs_per_commit"] = static_cast<double>(stats->stored) / stats->commits;
  }
}
BENCHMARK(BM_InboxStoreAsyncSingles)
    ->ArgsProduct({{1, 4}, {0, 1}})
    ->ArgNames({"producers", "fsync"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Store() waits for each commit: one transaction (one fsync) per message, the cost group commit
// avoids.
void BM_InboxStoreOneByOne(benchmark::State& state) {
  SqliteInboxOptions options;
  options.synchronous_full = state.range(0) != 0;
  TempInbox temp(options);
  if (temp.get() == nullptr) return state.SkipWithError("cannot open inbox");
  int64_t n = 0;
  for (auto _ : state) {
    auto r = temp.get()->Store({Msg(n++)});
    if (!r.ok()) return state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetItemsProcessed(n);
}
BENCHMARK(BM_InboxStoreOneByOne)
    ->Arg(0)
    ->Arg(1)
    ->ArgName("fsync")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// A redelivery: the duplicate path (no new row, delivery_count + 1).
void BM_InboxStoreDuplicate(benchmark::State& state) {
  SqliteInboxOptions options;
  options.synchronous_full = false;
  TempInbox temp(options);
  if (temp.get() == nullptr) return state.SkipWithError("cannot open inbox");
  std::vector<InboundMessage> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(Msg(i));
  (void)temp.get()->Store(batch);
  for (auto _ : state) {
    auto r = temp.get()->Store(batch);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_InboxStoreDuplicate)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Claim a batch and complete each message, synchronously (the dispatcher overlaps these).
void BM_InboxClaimComplete(benchmark::State& state) {
  SqliteInboxOptions options;
  options.synchronous_full = false;
  TempInbox temp(options);
  if (temp.get() == nullptr) return state.SkipWithError("cannot open inbox");
  const int batch = static_cast<int>(state.range(0));
  int64_t n = 0;
  DispatchResult done;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<InboundMessage> messages;
    for (int i = 0; i < batch; ++i) messages.push_back(Msg(n + i));
    (void)temp.get()->Store(messages);
    n += batch;
    state.ResumeTiming();
    auto claimed = temp.get()->Claim(batch, 1);
    if (!claimed.ok()) return state.SkipWithError(claimed.status().ToString().c_str());
    for (const auto& m : *claimed) {
      (void)temp.get()->Complete(m.message.app_id, m.message.msg_id, done, 2);
    }
  }
  state.SetItemsProcessed(n);
}
BENCHMARK(BM_InboxClaimComplete)->Arg(64)->ArgName("batch")->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace alipaymsg
