// Attestation verification throughput: verifications per second on one core
// for SEV-SNP (S1: ECDSA P-384 report signature + RSA-PSS-4096 chain) and
// TDX (T3: quote, QE report, PCK chain, CRLs, TCB info, QE identity), from a
// warm cache of parsed roots. The bundle is parsed once (BM_*Verify) or on
// every iteration (BM_*ParseAndVerify), as a key broker receiving bundles
// over the wire would. Target (issue 6): >= 500/s per platform.
#include <benchmark/benchmark.h>

#include <fstream>
#include <iterator>
#include <string>

#include "attest/bundle.h"

namespace {

using namespace arca;
using namespace arca::attest;

Bytes Read(const std::string& rel) {
  std::ifstream f(std::string(ARCA_SOURCE_DIR) + "/../shared/vectors/attestation/" + rel, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::string SnpBundle() {
  BundleBuilder b;
  (void)b.SetSnpReport(Read("snp/s2-milan-report.bin"));
  (void)b.AddCertificates(Read("snp/s2-milan-vcek.der"));
  (void)b.AddCertificates(Read("snp/s2-cert-chain-milan.pem"));
  return *SerializeBundle(*b.Finish());
}

std::string TdxBundle() {
  BundleBuilder b;
  (void)b.SetTdxQuote(Read("tdx/t3-quote-v4.dat"));
  (void)b.AddCollateral(Read("tdx/t3-collateral.json"));
  return *SerializeBundle(*b.Finish());
}

void Run(benchmark::State& state, const std::string& text, const char* time, bool parse_each) {
  const RootStore& roots = *RootStore::Pinned();  // warm: parsed once per process
  VerifyOptions o;
  o.time = *ParseRfc3339(time);
  EvidenceBundle parsed = *ParseBundle(text);
  for (auto _ : state) {
    Verdict v = parse_each ? VerifyBundle(*ParseBundle(text), roots, o) : VerifyBundle(parsed, roots, o);
    if (!v.ok()) {
      state.SkipWithError(v.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_SnpVerify(benchmark::State& s) { Run(s, SnpBundle(), "2025-06-01T00:00:00Z", false); }
void BM_SnpParseAndVerify(benchmark::State& s) { Run(s, SnpBundle(), "2025-06-01T00:00:00Z", true); }
void BM_TdxVerify(benchmark::State& s) { Run(s, TdxBundle(), "2025-07-01T00:00:00Z", false); }
void BM_TdxParseAndVerify(benchmark::State& s) { Run(s, TdxBundle(), "2025-07-01T00:00:00Z", true); }

BENCHMARK(BM_SnpVerify)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SnpParseAndVerify)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TdxVerify)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TdxParseAndVerify)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
