// Attestation verification throughput: verifications per second on one core
// for SEV-SNP (S1: ECDSA P-384 report signature + RSA-PSS-4096 chain) and
// TDX (T3: quote, QE report, PCK chain, CRLs, TCB info, QE identity), from a
// warm cache of parsed roots. The bundle is parsed once (BM_*Verify) or on
// every iteration (BM_*ParseAndVerify), as a key broker receiving bundles
// over the wire would. Target (issue 6): >= 500/s per platform.
//
// Baselines measured in the same run: BM_*Cold empties the memo of parsed
// certificates, CRLs, collateral and chain/collateral signature facts
// (attest/internal/cache.h) before every iteration, which is what every
// verification cost before the memo existed; BM_*SignatureFloor is the
// OpenSSL cost of the signatures no memo may skip (SNP: the report's ECDSA
// P-384; TDX: the quote's and the QE report's ECDSA P-256), a lower bound.
// Counters: cache hits per verification.
#include <benchmark/benchmark.h>

#include <fstream>
#include <iterator>
#include <string>

#include "attest/bundle.h"
#include "attest/internal/cache.h"
#include "attest/internal/x509.h"
#include "attest/snp.h"
#include "attest/tdx.h"

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

enum class Mode { kWarm, kParseEach, kCold };

void Run(benchmark::State& state, const std::string& text, const char* time, Mode mode) {
  const RootStore& roots = *RootStore::Pinned();  // warm: parsed once per process
  VerifyOptions o;
  o.time = *ParseRfc3339(time);
  EvidenceBundle parsed = *ParseBundle(text);
  (void)VerifyBundle(parsed, roots, o);  // warm the memo
  internal::CacheStats before = internal::GetCacheStats();
  for (auto _ : state) {
    if (mode == Mode::kCold) internal::ClearCaches();
    Verdict v = mode == Mode::kParseEach ? VerifyBundle(*ParseBundle(text), roots, o) : VerifyBundle(parsed, roots, o);
    if (!v.ok()) {
      state.SkipWithError(v.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(v);
  }
  internal::CacheStats after = internal::GetCacheStats();
  double n = double(state.iterations());
  if (mode != Mode::kCold && n > 0) {
    state.counters["parse_hits"] = double(after.parse_hits - before.parse_hits) / n;
    state.counters["sig_hits"] = double(after.signature_hits - before.signature_hits) / n;
    state.counters["sig_misses"] = double(after.signature_misses - before.signature_misses) / n;
  }
  state.SetItemsProcessed(state.iterations());
}

// Floor: one signature check per entry of `sigs` (key, digest, message, DER
// signature), the work every verification must repeat.
struct SigJob {
  EVP_PKEY* key;
  const EVP_MD* md;
  Bytes msg;
  Bytes der;
};

void RunFloor(benchmark::State& state, const std::vector<SigJob>& jobs) {
  for (auto _ : state) {
    for (const SigJob& j : jobs) {
      Status s = internal::VerifySignature(j.key, j.md, j.msg, j.der, 0, "floor");
      if (!s.ok()) {
        state.SkipWithError(s.ToString().c_str());
        return;
      }
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_SnpVerify(benchmark::State& s) { Run(s, SnpBundle(), "2025-06-01T00:00:00Z", Mode::kWarm); }
void BM_SnpParseAndVerify(benchmark::State& s) { Run(s, SnpBundle(), "2025-06-01T00:00:00Z", Mode::kParseEach); }
void BM_SnpCold(benchmark::State& s) { Run(s, SnpBundle(), "2025-06-01T00:00:00Z", Mode::kCold); }
void BM_TdxVerify(benchmark::State& s) { Run(s, TdxBundle(), "2025-07-01T00:00:00Z", Mode::kWarm); }
void BM_TdxParseAndVerify(benchmark::State& s) { Run(s, TdxBundle(), "2025-07-01T00:00:00Z", Mode::kParseEach); }
void BM_TdxCold(benchmark::State& s) { Run(s, TdxBundle(), "2025-07-01T00:00:00Z", Mode::kCold); }

void BM_SnpSignatureFloor(benchmark::State& state) {
  EvidenceBundle b = *ParseBundle(SnpBundle());
  SnpReport r = *ParseSnpReport(b.snp_report);
  X509Ptr vcek = *internal::ParseCertificateDer(b.certificates[0], "VCEK");
  Bytes rs(96);
  for (std::size_t i = 0; i < 48; ++i) {
    rs[47 - i] = r.signature_r[i];
    rs[95 - i] = r.signature_s[i];
  }
  Bytes msg(r.signed_bytes().begin(), r.signed_bytes().end());
  RunFloor(state, {{X509_get0_pubkey(vcek.get()), EVP_sha384(), msg, *internal::EcdsaRawToDerAny(rs)}});
}

void BM_TdxSignatureFloor(benchmark::State& state) {
  EvidenceBundle b = *ParseBundle(TdxBundle());
  TdxQuote q = *ParseTdxQuote(b.tdx_quote);
  static const std::uint8_t kP256SpkiPrefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce,
                                                  0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
                                                  0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};
  Bytes spki(std::begin(kP256SpkiPrefix), std::end(kP256SpkiPrefix));
  spki.insert(spki.end(), q.attestation_key.begin(), q.attestation_key.end());
  EvpPkeyPtr ak = *internal::ParsePublicKeyDer(spki, "attestation key");
  std::vector<X509Ptr> chain = *internal::ParseCertificates(q.pck_cert_chain, "PCK chain");
  Bytes signed_part(q.signed_bytes().begin(), q.signed_bytes().end());
  RunFloor(state, {{ak.get(), EVP_sha256(), signed_part, *internal::EcdsaRawToDerAny(q.quote_signature)},
                   {X509_get0_pubkey(chain[0].get()), EVP_sha256(), q.qe_report_raw,
                    *internal::EcdsaRawToDerAny(q.qe_report_signature)}});
}

BENCHMARK(BM_SnpVerify)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SnpParseAndVerify)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SnpCold)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SnpSignatureFloor)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TdxVerify)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TdxParseAndVerify)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TdxCold)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TdxSignatureFloor)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
