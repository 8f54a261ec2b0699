// The client's per-CONSUME work on the socket thread (client/intake.h ClassifyFrame: parse, verify,
// InboundMessage), without sockets. Its inverse is the most one io thread can receive per second.
//   micro_bench --benchmark_filter=ClassifyFrame
#include <benchmark/benchmark.h>

#include "alipaymsg/credentials.h"
#include "bench_fixtures.h"
#include "client/intake.h"

namespace alipaymsg {
namespace {

void BM_ClassifyFrame(benchmark::State& state) {
  const auto f = bench::MakeConsumeFrame(static_cast<size_t>(state.range(0)));
  auto private_key = PrivateKey::FromText(bench::TestKeys().private_pem);
  auto public_key = PublicKey::FromText(bench::TestKeys().public_pem);
  if (!private_key.ok() || !public_key.ok()) return state.SkipWithError("keys");
  Credentials credentials = Credentials::FromKeys("2021000000000001", SignType::kRsa2, *private_key, *public_key);
  for (auto _ : state) {
    client::Intake intake = client::ClassifyFrame(f.frame, credentials, "2021000000000001", 1714979289123);
    if (intake.kind != client::Intake::Kind::kConsume) return state.SkipWithError(intake.reason.c_str());
    benchmark::DoNotOptimize(intake);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClassifyFrame)->Arg(300)->Arg(1000)->Arg(2000)->UseRealTime();

}  // namespace
}  // namespace alipaymsg
