// The simulated TEE: its SNP reports and TDX quotes round-trip through the
// same verifiers as real evidence with the requested claims, any flipped
// byte is refused, and nothing verifies without the explicitly configured
// test roots.
#include "attest/sim.h"

#include <gtest/gtest.h>

#include "attest/bundle.h"
#include "attest/snp.h"
#include "attest/tdx.h"
#include "attest/test_util.h"
#include "base/testing/status_matchers.h"

namespace arca::attest {
namespace {

using testing::At;
using testing::FailedCheck;
using testing::HasFailed;

const UnixSeconds kNow = At("2026-11-24T12:00:00Z");

template <std::size_t N>
std::array<std::uint8_t, N> Filled(std::uint8_t start) {
  std::array<std::uint8_t, N> a{};
  for (std::size_t i = 0; i < N; ++i) a[i] = std::uint8_t(start + i);
  return a;
}

const RootStore& TestRoots() {
  static const RootStore kRoots = *SimRootStore();
  return kRoots;
}

Verdict Verify(const EvidenceBundle& b, const RootStore& roots, UnixSeconds t = kNow) {
  return VerifyBundle(b, roots, {t, std::nullopt});
}

EvidenceBundle RoundTrip(const EvidenceBundle& b) {
  auto text = SerializeBundle(b);
  EXPECT_TRUE(text.ok());
  auto back = ParseBundle(*text);
  EXPECT_TRUE(back.ok()) << back.status().ToString();
  return *back;
}

SimSnpOptions SnpOptions() {
  SimSnpOptions o;
  o.report_data = Filled<64>(0x40);
  o.measurement = Filled<48>(0xa0);
  o.host_data = Filled<32>(0x10);
  return o;
}

SimTdxOptions TdxOptions() {
  SimTdxOptions o;
  o.report_data = Filled<64>(0x41);
  o.mrtd = Filled<48>(0xb0);
  o.rtmr[0] = Filled<48>(0x01);
  o.mrconfigid = Filled<48>(0x02);
  o.now = kNow;
  return o;
}

const EvidenceBundle& SnpBundle() {
  static const EvidenceBundle kBundle = *SimSnpEvidence(SnpOptions());
  return kBundle;
}

const EvidenceBundle& TdxBundle() {
  static const EvidenceBundle kBundle = *SimTdxEvidence(TdxOptions());
  return kBundle;
}

TEST(SimRoots, AreTwoFixedKeysUnderTestNames) {
  auto roots = SimRoots();
  ASSERT_TRUE(roots.ok()) << roots.status().ToString();
  ASSERT_EQ(roots->size(), 2u);
  auto store = SimRootStore();
  ASSERT_TRUE(store.ok());
  ASSERT_EQ(store->roots().size(), 2u);
  EXPECT_EQ(store->roots()[0].name, kSimArkName);
  EXPECT_EQ(store->roots()[0].vendor, RootVendor::kAmd);
  EXPECT_EQ(store->roots()[1].name, kSimIntelRootName);
  EXPECT_EQ(store->roots()[1].vendor, RootVendor::kIntel);
  // The keys are fixed (attest/internal/sim_keys.cc); the fingerprints are
  // listed in specs/attestation.md §10.
  EXPECT_EQ((*roots)[0].spki_sha256_hex, "3e66ec2da50d80116d52c60859fed79a79128dc17777e0f2cb8c6f87cf92b01f");
  EXPECT_EQ((*roots)[1].spki_sha256_hex, "aff30bfda47d7cd0370efe5cfc902d52423f852da3e88247ea245bf36d22f2c5");
}

TEST(SimRoots, AreNeverPinned) {
  for (const Root& r : RootStore::Pinned()->roots()) {
    EXPECT_NE(r.name, kSimArkName);
    EXPECT_NE(r.name, kSimIntelRootName);
  }
}

TEST(SimSnp, ReportIsByteExactThroughTheParserTable) {
  const Bytes& raw = SnpBundle().snp_report;
  ASSERT_EQ(raw.size(), kSnpReportSize);
  auto r = ParseSnpReport(raw);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(SerializeSnpReport(*r), raw);
  EXPECT_EQ(r->version, 3u);
  EXPECT_EQ(r->signature_algo, 1u);
  EXPECT_EQ(r->policy.raw, 0x30000u);
  EXPECT_EQ(r->signing_key, 0u);
  EXPECT_EQ(r->cpuid_fam_id, 0x19);
  // R and S are little-endian with bytes 48..71 zero.
  for (std::size_t i = 48; i < 72; ++i) {
    EXPECT_EQ(r->signature_r[i], 0);
    EXPECT_EQ(r->signature_s[i], 0);
  }
}

TEST(SimSnp, VerifiesUnderTestRootsWithTheRequestedClaims) {
  Verdict v = Verify(RoundTrip(SnpBundle()), TestRoots());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const Json& c = v.claims;
  EXPECT_EQ(c["platform"], "sev-snp");
  EXPECT_EQ(c["measurement"], HexEncode(SnpOptions().measurement));
  EXPECT_EQ(c["reportData"], HexEncode(SnpOptions().report_data));
  EXPECT_EQ(c["hostData"], HexEncode(SnpOptions().host_data));
  EXPECT_EQ(c["debug"], false);
  EXPECT_EQ(c["tcbStatus"], "Endorsed");
  EXPECT_EQ(c["tcb"]["snp"], 22);
  EXPECT_EQ(c["tcb"]["microcode"], 213);
  EXPECT_EQ(c["signerChain"], Json({"SEV-VCEK", "ARCA-SIM-ASK", kSimArkName}));
  EXPECT_EQ(c["productName"], "Milan-B0");
}

TEST(SimSnp, DebugPolicyIsReportedAsDebug) {
  SimSnpOptions o = SnpOptions();
  o.debug = true;
  auto b = SimSnpEvidence(o);
  ASSERT_TRUE(b.ok());
  Verdict v = Verify(*b, TestRoots());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.claims["debug"], true);
}

TEST(SimSnp, RefusedWithoutTestRootsNamingTheRoot) {
  Verdict v = Verify(SnpBundle(), *RootStore::Pinned());
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "snp.chain"));
  EXPECT_EQ(v.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(v.status().message().find(kSimArkName), std::string::npos) << v.status().message();
}

TEST(SimSnp, EveryFlippedReportByteIsRefused) {
  const Bytes& raw = SnpBundle().snp_report;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    EvidenceBundle b = SnpBundle();
    b.snp_report[i] ^= 0x01;
    Verdict v = Verify(b, TestRoots());
    EXPECT_FALSE(v.ok()) << "flipped report byte " << i << " verified";
  }
}

TEST(SimSnp, EveryFlippedVcekByteIsRefused) {
  // Stride over the VCEK certificate (every byte of it is either signed by
  // the ASK or the signature itself).
  const Bytes& vcek = SnpBundle().certificates[0];
  for (std::size_t i = 0; i < vcek.size(); i += 3) {
    EvidenceBundle b = SnpBundle();
    b.certificates[0][i] ^= 0x01;
    Verdict v = Verify(b, TestRoots());
    EXPECT_FALSE(v.ok()) << "flipped VCEK byte " << i << " verified";
  }
}

TEST(SimSnp, VcekOfAnotherTcbIsRefused) {
  SimSnpOptions o = SnpOptions();
  o.reported_tcb = 0xD517000000000004ull;  // SNP SPL 23
  auto other = SimSnpEvidence(o);
  ASSERT_TRUE(other.ok());
  EvidenceBundle b = SnpBundle();
  b.certificates[0] = other->certificates[0];
  Verdict v = Verify(b, TestRoots());
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "snp.vcek.tcb")) << FailedCheck(v);
  EXPECT_NE(v.status().message().find("expected REPORTED_TCB value 22, got 23"), std::string::npos)
      << v.status().message();
}

TEST(SimTdx, QuoteIsByteExactThroughTheParserTable) {
  const Bytes& raw = TdxBundle().tdx_quote;
  auto q = ParseTdxQuote(raw);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->version, 4);
  EXPECT_EQ(q->trailing_bytes, 0u);
  EXPECT_EQ(q->signed_size, 632u);
  EXPECT_EQ(q->qe_report_raw, SerializeSgxReportBody(q->qe_report));
  auto again = SerializeTdxQuote(*q);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, raw);
}

TEST(SimTdx, SerializerRefusesWhatItCannotWrite) {
  auto q = ParseTdxQuote(TdxBundle().tdx_quote);
  ASSERT_TRUE(q.ok());
  q->version = 5;
  EXPECT_THAT(SerializeTdxQuote(*q).status(), HasCode(StatusCode::kInvalidArgument));
}

TEST(SimTdx, VerifiesUnderTestRootsWithTheRequestedClaims) {
  Verdict v = Verify(RoundTrip(TdxBundle()), TestRoots());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const Json& c = v.claims;
  EXPECT_EQ(c["platform"], "tdx");
  EXPECT_EQ(c["measurement"], HexEncode(TdxOptions().mrtd));
  EXPECT_EQ(c["measurements"]["rtmr0"], HexEncode(TdxOptions().rtmr[0]));
  EXPECT_EQ(c["reportData"], HexEncode(TdxOptions().report_data));
  EXPECT_EQ(c["hostData"], HexEncode(TdxOptions().mrconfigid));
  EXPECT_EQ(c["debug"], false);
  EXPECT_EQ(c["tcbStatus"], "UpToDate");
  EXPECT_EQ(c["tdx"]["qeTcbStatus"], "UpToDate");
  EXPECT_EQ(c["tdx"]["moduleTcbStatus"], "UpToDate");
  EXPECT_EQ(c["tdx"]["fmspc"], "a7ca00000001");
  EXPECT_EQ(c["signerChain"], Json({"ARCA-SIM SGX PCK Certificate", "ARCA-SIM SGX PCK Platform CA", kSimIntelRootName}));
}

TEST(SimTdx, DebugAttributeIsReportedAsDebug) {
  SimTdxOptions o = TdxOptions();
  o.debug = true;
  auto b = SimTdxEvidence(o);
  ASSERT_TRUE(b.ok());
  Verdict v = Verify(*b, TestRoots());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.claims["debug"], true);
}

TEST(SimTdx, NeedsTheCollateralTime) {
  SimTdxOptions o = TdxOptions();
  o.now = 0;
  EXPECT_THAT(SimTdxEvidence(o).status(), HasCode(StatusCode::kInvalidArgument));
}

TEST(SimTdx, CollateralExpiresAfterThirtyDays) {
  Verdict v = Verify(TdxBundle(), TestRoots(), kNow + 31 * 86400);
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "tdx.tcb_info.freshness")) << FailedCheck(v);
}

TEST(SimTdx, RefusedWithoutTestRootsNamingTheRoot) {
  Verdict v = Verify(TdxBundle(), *RootStore::Pinned());
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "tdx.pck.chain"));
  EXPECT_NE(v.status().message().find(kSimIntelRootName), std::string::npos) << v.status().message();
}

TEST(SimTdx, EveryFlippedBinaryQuoteByteIsRefused) {
  // Every byte before the PEM chain: header, TD report, signature data
  // lengths and types, quote signature, attestation key, QE report, its
  // signature, auth data.
  auto q = ParseTdxQuote(TdxBundle().tdx_quote);
  ASSERT_TRUE(q.ok());
  std::size_t pem_start = q->quote_size - q->pck_cert_chain.size();
  for (std::size_t i = 0; i < pem_start; ++i) {
    EvidenceBundle b = TdxBundle();
    b.tdx_quote[i] ^= 0x01;
    Verdict v = Verify(b, TestRoots());
    EXPECT_FALSE(v.ok()) << "flipped quote byte " << i << " verified";
  }
}

TEST(SimTdx, FlippedPckChainBytesAreRefused) {
  // Stride over the PCK and PCK CA certificates of the chain. The chain's
  // last certificate is a copy of the root: like every self-signed
  // certificate in evidence it is never an anchor and never read (the
  // configured root is), so flips there change nothing (next test).
  auto q = ParseTdxQuote(TdxBundle().tdx_quote);
  ASSERT_TRUE(q.ok());
  std::size_t pem_start = q->quote_size - q->pck_cert_chain.size();
  std::string chain = ToString(q->pck_cert_chain);
  std::size_t root_copy = chain.rfind("-----BEGIN CERTIFICATE-----");
  ASSERT_NE(root_copy, 0u);
  for (std::size_t i = 0; i < root_copy; i += 3) {
    // The PEM armor lines are framing, not content: OpenSSL's reader
    // tolerates some damage to an END line and yields the same DER, which
    // is what the chain check authenticates.
    std::size_t line = chain.rfind('\n', i);
    line = line == std::string::npos ? 0 : line + 1;
    if (chain.compare(line, 5, "-----") == 0) continue;
    EvidenceBundle b = TdxBundle();
    b.tdx_quote[pem_start + i] ^= 0x01;
    Verdict v = Verify(b, TestRoots());
    EXPECT_FALSE(v.ok()) << "flipped PCK chain byte " << i << " ('" << chain[i] << "') verified";
  }
}

TEST(SimTdx, RootCopyInThePckChainIsNeverTheAnchor) {
  auto q = ParseTdxQuote(TdxBundle().tdx_quote);
  ASSERT_TRUE(q.ok());
  std::size_t pem_start = q->quote_size - q->pck_cert_chain.size();
  std::size_t root_copy = ToString(q->pck_cert_chain).rfind("-----BEGIN CERTIFICATE-----");
  EvidenceBundle b = TdxBundle();
  // Damage the copy beyond parsing: the verdict still rests on the
  // configured root alone.
  b.tdx_quote[pem_start + root_copy + 100] ^= 0x01;
  Verdict v = Verify(b, TestRoots());
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_FALSE(Verify(b, *RootStore::Pinned()).ok());
}

TEST(SimTdx, FlippedCollateralBytesAreRefused) {
  const TdxCollateral& col = *TdxBundle().tdx_collateral;
  for (std::size_t i = 0; i < col.tcb_info.size(); i += 7) {
    EvidenceBundle b = TdxBundle();
    b.tdx_collateral->tcb_info[i] ^= 0x01;
    EXPECT_FALSE(Verify(b, TestRoots()).ok()) << "flipped TCB info byte " << i;
  }
  for (std::size_t i = 0; i < col.qe_identity.size(); i += 7) {
    EvidenceBundle b = TdxBundle();
    b.tdx_collateral->qe_identity[i] ^= 0x01;
    EXPECT_FALSE(Verify(b, TestRoots()).ok()) << "flipped QE identity byte " << i;
  }
  for (std::size_t i = 0; i < col.tcb_info_signature.size(); ++i) {
    EvidenceBundle b = TdxBundle();
    b.tdx_collateral->tcb_info_signature[i] ^= 0x01;
    EXPECT_FALSE(Verify(b, TestRoots()).ok()) << "flipped TCB info signature byte " << i;
  }
}

}  // namespace
}  // namespace arca::attest
