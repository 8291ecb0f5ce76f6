// The verification memo (attest/internal/cache.h) changes throughput, never
// a verdict: warm verifications hit it, and time-dependent judgements,
// altered bytes and other keys are decided afresh every time.
#include "attest/internal/cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "attest/bundle.h"
#include "attest/internal/x509.h"
#include "attest/sim.h"
#include "attest/test_util.h"

namespace arca::attest {
namespace {

using testing::At;
using testing::FailedCheck;
using testing::HasFailed;

const UnixSeconds kNow = At("2026-11-24T12:00:00Z");

const RootStore& TestRoots() {
  static const RootStore kRoots = *SimRootStore();
  return kRoots;
}

const EvidenceBundle& Tdx() {
  static const EvidenceBundle kBundle = [] {
    SimTdxOptions o;
    o.now = kNow;
    return *SimTdxEvidence(o);
  }();
  return kBundle;
}

const EvidenceBundle& Snp() {
  static const EvidenceBundle kBundle = *SimSnpEvidence(SimSnpOptions{});
  return kBundle;
}

Verdict Verify(const EvidenceBundle& b, UnixSeconds t = kNow) { return VerifyBundle(b, TestRoots(), {t, std::nullopt}); }

TEST(VerificationCache, WarmVerificationHitsAndGivesTheSameVerdict) {
  for (const EvidenceBundle* b : {&Tdx(), &Snp()}) {
    internal::ClearCaches();
    Verdict cold = Verify(*b);
    ASSERT_TRUE(cold.ok()) << cold.status().ToString();
    internal::CacheStats after_cold = internal::GetCacheStats();
    EXPECT_GT(after_cold.signature_misses, 0u);
    Verdict warm = Verify(*b);
    ASSERT_TRUE(warm.ok()) << warm.status().ToString();
    internal::CacheStats after_warm = internal::GetCacheStats();
    // Every certificate and CRL of the bundle is a parse hit when warm.
    EXPECT_GE(after_warm.parse_hits - after_cold.parse_hits, b->certificates.size() + b->crls.size());
    EXPECT_GT(after_warm.signature_hits, after_cold.signature_hits);
    // Every chain and collateral signature was remembered: no new misses.
    EXPECT_EQ(after_warm.signature_misses, after_cold.signature_misses);
    EXPECT_EQ(warm.ToJson(), cold.ToJson());
  }
}

TEST(VerificationCache, TimeIsJudgedOnEveryVerification) {
  internal::ClearCaches();
  ASSERT_TRUE(Verify(Tdx()).ok());
  // Warm, but past the collateral's nextUpdate and the CRLs': refused.
  Verdict late = Verify(Tdx(), kNow + 31 * 86400);
  EXPECT_FALSE(late.ok());
  EXPECT_TRUE(HasFailed(late, "tdx.tcb_info.freshness")) << FailedCheck(late);
  EXPECT_TRUE(HasFailed(late, "tdx.crl.pck")) << FailedCheck(late);
  // Before the certificates' notBefore: refused by the chain checks.
  Verdict early = Verify(Tdx(), kSimNotBefore - 1);
  EXPECT_FALSE(early.ok());
  EXPECT_TRUE(HasFailed(early, "tdx.pck.chain")) << FailedCheck(early);
  Verdict snp_late = Verify(Snp(), kSimNotAfter + 1);
  EXPECT_TRUE(HasFailed(snp_late, "snp.chain")) << FailedCheck(snp_late);
  // And back in the window, verified again.
  EXPECT_TRUE(Verify(Tdx()).ok());
}

TEST(VerificationCache, TheQuoteSignatureIsNeverRemembered) {
  internal::ClearCaches();
  ASSERT_TRUE(Verify(Tdx()).ok());
  EvidenceBundle b = Tdx();
  b.tdx_quote[48 + 136] ^= 1;  // MRTD: the quote signature no longer covers it
  Verdict v = Verify(b);
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "tdx.quote.signature")) << FailedCheck(v);
  EvidenceBundle s = Snp();
  ASSERT_TRUE(Verify(s).ok());
  s.snp_report[0x90] ^= 1;  // MEASUREMENT
  Verdict sv = Verify(s);
  EXPECT_TRUE(HasFailed(sv, "snp.report.signature")) << FailedCheck(sv);
}

TEST(VerificationCache, RememberedSignatureHoldsOnlyForItsIssuerKey) {
  internal::ClearCaches();
  auto ask = internal::ParseCertificateDer(Snp().certificates[1], "ASK");
  auto vcek = internal::ParseCertificateDer(Snp().certificates[0], "VCEK");
  auto ark = internal::ParseCertificateDer(Snp().certificates[2], "ARK");
  ASSERT_TRUE(ask.ok() && vcek.ok() && ark.ok());
  EXPECT_TRUE(internal::CertSignedBy(vcek->get(), ask->get()));
  EXPECT_TRUE(internal::CertSignedBy(vcek->get(), ask->get()));  // remembered
  EXPECT_FALSE(internal::CertSignedBy(vcek->get(), ark->get()));  // another key
  EXPECT_FALSE(internal::CertSignedBy(vcek->get(), ark->get()));  // remembered as failing
  EXPECT_TRUE(internal::CertSignedBy(ask->get(), ark->get()));
  internal::CacheStats s = internal::GetCacheStats();
  EXPECT_EQ(s.signature_hits, 2u);
  EXPECT_EQ(s.signature_misses, 3u);
}

TEST(VerificationCache, ParsedObjectsAreSharedNotAltered) {
  internal::ClearCaches();
  const Bytes& der = Snp().certificates[0];
  auto a = internal::CachedCertificateDer(der, "VCEK");
  auto b = internal::CachedCertificateDer(der, "VCEK");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->get(), b->get());  // one parsed object, two references
  EXPECT_EQ(internal::CertDer(a->get()), der);
  Bytes bad = der;
  bad.push_back(0);  // trailing byte: refused like the plain parser does
  EXPECT_FALSE(internal::CachedCertificateDer(bad, "VCEK").ok());
  EXPECT_FALSE(internal::CachedCertificateDer(bad, "VCEK").ok());
}

TEST(VerificationCache, StaysBoundedUnderManyDistinctInputs) {
  internal::ClearCaches();
  // More distinct JSON documents than the table holds: it is emptied and
  // refilled, and every lookup still returns its own document.
  for (std::size_t i = 0; i < internal::kMaxParsedEntries * 2 + 3; ++i) {
    std::string text = "{\"n\":" + std::to_string(i) + "}";
    auto j = internal::CachedJson(text, "doc");
    ASSERT_TRUE(j.ok());
    EXPECT_EQ((**j)["n"], i);
  }
  internal::CacheStats s = internal::GetCacheStats();
  EXPECT_EQ(s.parse_hits, 0u);
  EXPECT_EQ(s.parse_misses, internal::kMaxParsedEntries * 2 + 3);
}

TEST(VerificationCache, ConcurrentVerificationsAndClearsAgree) {
  // Verifiers on several threads share the memo while another thread keeps
  // emptying it: every verification still passes (each holds its own
  // references to shared certificates), and flipped evidence still fails.
  // Run under ASan by scripts/test.sh.
  const EvidenceBundle& tdx = Tdx();
  const EvidenceBundle& snp = Snp();
  EvidenceBundle bad = Tdx();
  bad.tdx_quote[48 + 520] ^= 1;  // REPORTDATA
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::thread clearer([&] {
    while (!stop) internal::ClearCaches();
  });
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back([&] {
      for (int i = 0; i < 15; ++i) {
        if (!Verify(tdx).ok() || !Verify(snp).ok() || Verify(bad).ok()) ++wrong;
      }
    });
  }
  for (auto& t : workers) t.join();
  stop = true;
  clearer.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace arca::attest
