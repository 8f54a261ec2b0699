// RSA2 (SHA256withRSA, 2048-bit) verification: the library's Verify, and the ceiling -- bare
// OpenSSL EVP_DigestVerify on one core with a context prepared once -- measured in the same run,
// so bench/run can report end-to-end throughput as a fraction of it.
//   micro_bench --benchmark_filter='Rsa2|Base64'
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <vector>

#include "bench_fixtures.h"

namespace alipaymsg {
namespace {

// alipaymsg::Verify: charset handling, base64 decode, prepared-context copy, SHA-256, RSA public op.
void BM_Rsa2VerifyLibrary(benchmark::State& state) {
  const auto f = bench::MakeConsumeFrame(static_cast<size_t>(state.range(0)));
  auto key = PublicKey::FromText(bench::TestKeys().public_pem);
  if (!key.ok()) return state.SkipWithError("public key");
  for (auto _ : state) {
    Status s = Verify(*key, SignType::kRsa2, f.data, f.sign, "UTF-8");
    if (!s.ok()) return state.SkipWithError("verify failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Rsa2VerifyLibrary)->Arg(300)->Arg(1000)->Arg(2000)->UseRealTime();

// The ceiling: OpenSSL alone, no base64, one EVP_MD_CTX reused (EVP_DigestVerifyInit each time, as
// the cheapest correct use of the EVP API), 1000-byte content. items_per_second = verifies/s/core.
void BM_Rsa2VerifyOpenSslCeiling(benchmark::State& state) {
  const auto f = bench::MakeConsumeFrame(1000);
  auto key = PublicKey::FromText(bench::TestKeys().public_pem);
  if (!key.ok()) return state.SkipWithError("public key");
  std::string sig = Base64Decode(f.sign).value();
  EVP_PKEY* pkey = static_cast<EVP_PKEY*>(key->native());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  for (auto _ : state) {
    EVP_MD_CTX_reset(ctx);
    if (EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) != 1 ||
        EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>(f.data.data()), f.data.size()) != 1) {
      EVP_MD_CTX_free(ctx);
      return state.SkipWithError("openssl verify failed");
    }
  }
  EVP_MD_CTX_free(ctx);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Rsa2VerifyOpenSslCeiling)->UseRealTime();

// The RSA public operation alone (no hashing, no EVP setup): the hard floor of a verify.
void BM_Rsa2PublicOpOnly(benchmark::State& state) {
  const auto f = bench::MakeConsumeFrame(1000);
  auto key = PublicKey::FromText(bench::TestKeys().public_pem);
  if (!key.ok()) return state.SkipWithError("public key");
  std::string sig = Base64Decode(f.sign).value();
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new(static_cast<EVP_PKEY*>(key->native()), nullptr);
  EVP_PKEY_verify_recover_init(pctx);
  EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_NO_PADDING);
  std::vector<unsigned char> out(512);
  for (auto _ : state) {
    size_t outlen = out.size();
    if (EVP_PKEY_verify_recover(pctx, out.data(), &outlen, reinterpret_cast<const unsigned char*>(sig.data()),
                                sig.size()) != 1) {
      EVP_PKEY_CTX_free(pctx);
      return state.SkipWithError("public op failed");
    }
  }
  EVP_PKEY_CTX_free(pctx);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Rsa2PublicOpOnly)->UseRealTime();

void BM_Base64DecodeSignature(benchmark::State& state) {
  const auto f = bench::MakeConsumeFrame(300);
  for (auto _ : state) {
    auto bytes = Base64Decode(f.sign);
    benchmark::DoNotOptimize(bytes);
  }
}
BENCHMARK(BM_Base64DecodeSignature);

}  // namespace
}  // namespace alipaymsg
