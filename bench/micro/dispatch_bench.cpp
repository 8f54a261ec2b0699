// Dispatch micro benchmarks: router lookup, end-to-end dispatch throughput from a SqliteInbox.
//   micro_bench --benchmark_filter='Router|Dispatch'
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "alipaymsg/dispatcher.h"
#include "alipaymsg/router.h"

namespace alipaymsg {
namespace {

Router ArticleRouter() {
  Router router;
  auto done = [](MessageView&) { return HandlerOutcome::Done(); };
  for (const char* api :
       {"alipay.open.app.api.field.changed", "alipay.open.auth.appauth.cancelled",
        "alipay.open.auth.userauth.cancelled", "alipay.open.mini.version.audit.passed",
        "alipay.open.mini.version.audit.rejected", "alipay.trade.refund.depositback.completed",
        "alipay.open.mini.merchant.confirmed"}) {
    (void)router.On(api, done);
  }
  (void)router.On("alipay.open.mini.*", done);
  (void)router.On("alipay.open.*", done);
  (void)router.On("*", done);
  return router;
}

void BM_RouterFind(benchmark::State& state) {
  Router router = ArticleRouter();
  const char* apis[] = {"alipay.open.mini.version.audit.passed",  // exact
                        "alipay.open.mini.instance.offline",      // prefix
                        "alipay.commerce.unknown.event"};         // default
  const std::string api = apis[state.range(0)];
  for (auto _ : state) benchmark::DoNotOptimize(router.Find(api));
}
BENCHMARK(BM_RouterFind)->DenseRange(0, 2)->ArgName("exact_prefix_default");

// Store N messages, then time a dispatcher taking them all to done (trivial handler): the cost the
// dispatcher and the inbox add per message.
void BM_DispatchThroughput(benchmark::State& state) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "dispatch-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return state.SkipWithError("mkdtemp");
  SqliteInboxOptions options;
  options.synchronous_full = state.range(1) != 0;
  auto inbox = OpenSqliteInbox(tmpl + "/inbox.db", options);
  if (!inbox.ok()) return state.SkipWithError(inbox.status().ToString().c_str());
  constexpr int kMessages = 2000;
  int64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<InboundMessage> batch;
    for (int i = 0; i < kMessages; ++i) {
      InboundMessage m;
      m.app_id = "2021000000000001";
      m.msg_id = "m" + std::to_string(n++);
      m.msg_api = i % 2 ? "alipay.open.mini.version.audit.passed" : "alipay.trade.other";
      m.biz_content = "{}";
      batch.push_back(std::move(m));
    }
    (void)(*inbox)->Store(std::move(batch));
    DispatcherOptions dopts;
    dopts.threads = static_cast<int>(state.range(0));
    Dispatcher dispatcher(**inbox, ArticleRouter(), dopts);
    state.ResumeTiming();
    (void)dispatcher.Start();
    dispatcher.WaitIdle(std::chrono::minutes(5));
    dispatcher.Stop();
  }
  auto stats = (*inbox)->Stats();
  state.SetItemsProcessed(n);
  if (stats.ok()) state.counters["done"] = static_cast<double>(stats->done);
  inbox->reset();
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}
BENCHMARK(BM_DispatchThroughput)
    ->ArgsProduct({{1, 4}, {0, 1}})
    ->ArgNames({"threads", "fsync"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace alipaymsg
