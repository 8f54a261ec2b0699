// Frame codec micro benchmarks: what the socket thread spends per CONSUME besides RSA.
//   micro_bench --benchmark_filter='Frame|Signed|ConsumeAck'
#include <benchmark/benchmark.h>

#include "bench_fixtures.h"

namespace alipaymsg {
namespace {

// ParseFrame: header lines, strict JSON, x-* fields, §9.2 signed text, data.header, content span.
void BM_FrameParse(benchmark::State& state) {
  const auto f = bench::MakeConsumeFrame(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto frame = ParseFrame(f.frame);
    if (!frame.ok()) return state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(frame);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(f.frame.size()));
  state.counters["frame_bytes"] = static_cast<double>(f.frame.size());
}
BENCHMARK(BM_FrameParse)->Arg(300)->Arg(1000)->Arg(2000);

// §9.2 alone: the signed text span of a document.
void BM_SignedTextExtraction(benchmark::State& state) {
  const auto f = bench::MakeConsumeFrame(static_cast<size_t>(state.range(0)));
  const std::string_view json = std::string_view(f.frame).substr(f.frame.find("\r\n\r\n") + 4);
  for (auto _ : state) {
    auto span = ExtractSignedData(json);
    if (!span) return state.SkipWithError("no data span");
    benchmark::DoNotOptimize(span);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(json.size()));
}
BENCHMARK(BM_SignedTextExtraction)->Arg(300)->Arg(1000)->Arg(2000);

void BM_ConsumeAckBuild(benchmark::State& state) {
  const auto f = bench::MakeConsumeFrame(1000);
  const Frame frame = ParseFrame(f.frame).value();
  for (auto _ : state) {
    std::string ack = BuildConsumeAck(frame, true);
    benchmark::DoNotOptimize(ack);
  }
}
BENCHMARK(BM_ConsumeAckBuild);

// Parse + RSA2 verification of the CONSUME (VerifyConsumeSignature: base64 decode, SHA-256, RSA).
void BM_FrameParseAndVerify(benchmark::State& state) {
  const auto f = bench::MakeConsumeFrame(static_cast<size_t>(state.range(0)));
  auto key = PublicKey::FromText(bench::TestKeys().public_pem);
  if (!key.ok()) return state.SkipWithError("public key");
  for (auto _ : state) {
    auto frame = ParseFrame(f.frame);
    Status verified = VerifyConsumeSignature(*frame, *key);
    if (!verified.ok()) return state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(verified);
  }
}
BENCHMARK(BM_FrameParseAndVerify)->Arg(1000)->UseRealTime();

}  // namespace
}  // namespace alipaymsg
