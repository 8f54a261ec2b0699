// The client's per-CONSUME work (client/intake.h ClassifyFrame: parse, §9.2 extraction, RSA2
// verify, InboundMessage), without sockets, and the verify pool (client/work_pool.h) that takes it
// off the io thread.
//   micro_bench --benchmark_filter='ClassifyFrame|VerifyPool'
#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "alipaymsg/credentials.h"
#include "bench_fixtures.h"
#include "client/intake.h"
#include "client/work_pool.h"

namespace alipaymsg {
namespace {

const Credentials& BenchCredentials() {
  static const Credentials credentials = [] {
    auto private_key = PrivateKey::FromText(bench::TestKeys().private_pem);
    auto public_key = PublicKey::FromText(bench::TestKeys().public_pem);
    return Credentials::FromKeys("2021000000000001", SignType::kRsa2, private_key.value(), public_key.value());
  }();
  return credentials;
}

// One thread's cost per frame; with ->Threads(2), items/s is what two cores verify together.
void BM_ClassifyFrame(benchmark::State& state) {
  const auto f = bench::MakeConsumeFrame(static_cast<size_t>(state.range(0)));
  const Credentials& credentials = BenchCredentials();
  for (auto _ : state) {
    client::Intake intake = client::ClassifyFrame(f.frame, credentials, "2021000000000001", 1714979289123);
    if (intake.kind != client::Intake::Kind::kConsume) return state.SkipWithError(intake.reason.c_str());
    benchmark::DoNotOptimize(intake);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClassifyFrame)->Arg(300)->Arg(1000)->Arg(2000)->UseRealTime();
BENCHMARK(BM_ClassifyFrame)->Arg(1000)->Threads(2)->UseRealTime();

// Frames through the pool as the session hands them over (a copy of the frame text per job, the
// job classifies it): frames/s with range(0) workers; 0 = inline on the submitting thread.
void BM_VerifyPool(benchmark::State& state) {
  const auto f = bench::MakeConsumeFrame(1000);
  const Credentials& credentials = BenchCredentials();
  const int threads = static_cast<int>(state.range(0));
  constexpr int kBatch = 256;
  std::unique_ptr<client::WorkPool> pool;
  if (threads > 0) pool = std::make_unique<client::WorkPool>(threads);
  std::mutex mu;
  std::condition_variable cv;
  int left = 0;
  std::atomic<int> bad{0};
  for (auto _ : state) {
    {
      std::lock_guard lock(mu);
      left = kBatch;
    }
    for (int i = 0; i < kBatch; ++i) {
      auto job = [&, text = f.frame] {
        client::Intake intake = client::ClassifyFrame(text, credentials, "2021000000000001", 1714979289123);
        if (intake.kind != client::Intake::Kind::kConsume) ++bad;
        std::lock_guard lock(mu);
        if (--left == 0) cv.notify_one();
      };
      if (pool) pool->Submit(std::move(job));
      else job();
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return left == 0; });
  }
  if (bad.load() != 0) state.SkipWithError("a frame did not verify");
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_VerifyPool)->Arg(0)->Arg(1)->Arg(2)->UseRealTime();

// What handing a job to a worker costs by itself (an empty job).
void BM_WorkPoolHandOff(benchmark::State& state) {
  client::WorkPool pool(1);
  std::atomic<int64_t> done{0};
  int64_t submitted = 0;
  for (auto _ : state) {
    pool.Submit([&done] { done.fetch_add(1, std::memory_order_relaxed); });
    ++submitted;
  }
  while (done.load() < submitted) {
  }
  state.SetItemsProcessed(submitted);
}
BENCHMARK(BM_WorkPoolHandOff)->UseRealTime();

}  // namespace
}  // namespace alipaymsg
