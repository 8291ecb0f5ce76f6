// The simulated TEE: its SNP reports and TDX quotes round-trip through the
// same verifiers as real evidence with the requested claims, any flipped
// byte is refused, and nothing verifies without the explicitly configured
// test roots.
#include "attest/sim.h"

#include <gtest/gtest.h>

#include <openssl/pem.h>

#include "attest/bundle.h"
#include "attest/internal/sim_keys.h"
#include "attest/internal/x509.h"
#include "attest/snp.h"
#include "attest/tdx.h"
#include "attest/test_util.h"
#include "base/openssl_util.h"
#include "base/signature.h"
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

TEST(SimSnp, EveryFlippedVcekAndAskByteIsRefused) {
  // Every byte of the VCEK and of the ASK: each is either signed by its
  // issuer or is the signature itself. (The ARK copy in the bundle is never
  // an anchor and never read: the configured root is.)
  for (std::size_t cert : {0u, 1u}) {
    const Bytes& der = SnpBundle().certificates[cert];
    for (std::size_t i = 0; i < der.size(); ++i) {
      EvidenceBundle b = SnpBundle();
      b.certificates[cert][i] ^= 0x01;
      Verdict v = Verify(b, TestRoots());
      EXPECT_FALSE(v.ok()) << "flipped byte " << i << " of certificate " << cert << " verified";
    }
  }
}

TEST(SimSnp, ArkCopyInTheBundleIsNeverTheAnchor) {
  EvidenceBundle b = SnpBundle();
  b.certificates[2][b.certificates[2].size() - 10] ^= 0x01;  // damage its signature
  EXPECT_TRUE(Verify(b, TestRoots()).ok());
  b.certificates.pop_back();  // or leave it out
  EXPECT_TRUE(Verify(b, TestRoots()).ok());
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
  q->version = 6;
  EXPECT_THAT(SerializeTdxQuote(*q).status(), HasCode(StatusCode::kInvalidArgument));
  q->version = 4;
  q->body.is_v15 = true;  // a TD report 1.5 needs a v5 quote
  EXPECT_THAT(SerializeTdxQuote(*q).status(), HasCode(StatusCode::kInvalidArgument));
  q->version = 5;
  q->body_type = 2;  // disagrees with the 1.5 body
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

TEST(SimTdx, EveryFlippedPckChainByteIsRefused) {
  // Every byte of the PCK and PCK CA certificates of the chain is refused,
  // or leaves the decoded DER identical (base64 padding bits, below). The chain's
  // last certificate is a copy of the root: like every self-signed
  // certificate in evidence it is never an anchor and never read (the
  // configured root is), so flips there change nothing (next test).
  auto q = ParseTdxQuote(TdxBundle().tdx_quote);
  ASSERT_TRUE(q.ok());
  std::size_t pem_start = q->quote_size - q->pck_cert_chain.size();
  std::string chain = ToString(q->pck_cert_chain);
  std::size_t root_copy = chain.rfind("-----BEGIN CERTIFICATE-----");
  ASSERT_NE(root_copy, 0u);
  for (std::size_t i = 0; i < root_copy; ++i) {
    // The PEM armor lines are framing, not content: OpenSSL's reader
    // tolerates some damage to an END line and yields the same DER, which
    // is what the chain check authenticates.
    std::size_t line = chain.rfind('\n', i);
    line = line == std::string::npos ? 0 : line + 1;
    if (chain.compare(line, 5, "-----") == 0) continue;
    EvidenceBundle b = TdxBundle();
    b.tdx_quote[pem_start + i] ^= 0x01;
    Verdict v = Verify(b, TestRoots());
    if (!v.ok()) continue;
    // The one flip that may verify: the last base64 character before '='
    // padding, whose low bits are padding bits every decoder ignores, so
    // the certificate DER (what is authenticated) is unchanged. Whether a
    // certificate has such bits depends on its DER length, which varies
    // with the randomized ECDSA signature, so this case comes and goes
    // between runs. Anything else that verifies is a failure.
    std::size_t next = chain.find_first_not_of('\n', i + 1);
    EXPECT_TRUE(next != std::string::npos && chain[next] == '=')
        << "flipped PCK chain byte " << i << " ('" << chain[i] << "') verified";
    auto flipped = ParseTdxQuote(b.tdx_quote);
    ASSERT_TRUE(flipped.ok());
    auto before = internal::ParseCertificates(q->pck_cert_chain, "chain");
    auto after = internal::ParseCertificates(flipped->pck_cert_chain, "chain");
    ASSERT_TRUE(before.ok() && after.ok());
    ASSERT_EQ(before->size(), after->size());
    for (std::size_t c = 0; c < before->size(); ++c) {
      EXPECT_EQ(internal::CertDer((*before)[c].get()), internal::CertDer((*after)[c].get()))
          << "flipped PCK chain byte " << i << " changed certificate " << c << " and still verified";
    }
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

TEST(SimTdx, EveryFlippedCollateralByteIsRefused) {
  // Every byte of the TCB info and QE identity (the exact signed bytes) and
  // of both signatures.
  const TdxCollateral& col = *TdxBundle().tdx_collateral;
  for (std::size_t i = 0; i < col.tcb_info.size(); ++i) {
    EvidenceBundle b = TdxBundle();
    b.tdx_collateral->tcb_info[i] ^= 0x01;
    EXPECT_FALSE(Verify(b, TestRoots()).ok()) << "flipped TCB info byte " << i;
  }
  for (std::size_t i = 0; i < col.qe_identity.size(); ++i) {
    EvidenceBundle b = TdxBundle();
    b.tdx_collateral->qe_identity[i] ^= 0x01;
    EXPECT_FALSE(Verify(b, TestRoots()).ok()) << "flipped QE identity byte " << i;
  }
  for (std::size_t i = 0; i < col.tcb_info_signature.size(); ++i) {
    EvidenceBundle b = TdxBundle();
    b.tdx_collateral->tcb_info_signature[i] ^= 0x01;
    EXPECT_FALSE(Verify(b, TestRoots()).ok()) << "flipped TCB info signature byte " << i;
  }
  for (std::size_t i = 0; i < col.qe_identity_signature.size(); ++i) {
    EvidenceBundle b = TdxBundle();
    b.tdx_collateral->qe_identity_signature[i] ^= 0x01;
    EXPECT_FALSE(Verify(b, TestRoots()).ok()) << "flipped QE identity signature byte " << i;
  }
}

TEST(SimTdx, EveryFlippedTcbSigningCertificateAndCrlByteIsRefused) {
  // certificates[0] is the TCB signing certificate (certificates[1], the
  // root copy, is never an anchor); crls are the PCK CRL and the root CRL.
  const EvidenceBundle& base = TdxBundle();
  for (std::size_t i = 0; i < base.certificates[0].size(); ++i) {
    EvidenceBundle b = base;
    b.certificates[0][i] ^= 0x01;
    EXPECT_FALSE(Verify(b, TestRoots()).ok()) << "flipped TCB signing certificate byte " << i;
  }
  for (std::size_t c = 0; c < base.crls.size(); ++c) {
    for (std::size_t i = 0; i < base.crls[c].size(); ++i) {
      EvidenceBundle b = base;
      b.crls[c][i] ^= 0x01;
      EXPECT_FALSE(Verify(b, TestRoots()).ok()) << "flipped byte " << i << " of CRL " << c;
    }
  }
}

// SignAsTcbSigner signs `text` with the simulated TCB signing key, as the
// simulated TEE signs its collateral (ECDSA P-256/SHA-256, r || s).
Bytes SignAsTcbSigner(const std::string& text) {
  BioPtr bio(BIO_new_mem_buf(internal::kSimTcbSigningKeyPem, -1));
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()), 1);
  std::size_t len = 0;
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, AsBytes(text).data(), text.size()), 1);
  Bytes der(len);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), der.data(), &len, AsBytes(text).data(), text.size()), 1);
  der.resize(len);
  return *crypto::EcdsaDerToRaw(crypto::KeyType::kEcdsaP256Sha256, der);
}

TEST(SimTdx, SignedCollateralOfTheWrongShapeIsRefusedByName) {
  // Properly signed collateral is still only data: a QE identity without
  // tcbLevels, or a TCB info whose levels are not objects, is refused by
  // the check that reads it, not trusted or crashed on.
  Json qe = Json::parse(TdxBundle().tdx_collateral->qe_identity);
  qe.erase("tcbLevels");
  EvidenceBundle b = TdxBundle();
  b.tdx_collateral->qe_identity = qe.dump();
  b.tdx_collateral->qe_identity_signature = SignAsTcbSigner(b.tdx_collateral->qe_identity);
  Verdict v = Verify(b, TestRoots());
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "tdx.qe_identity.match")) << FailedCheck(v);
  EXPECT_NE(v.status().message().find("tcbLevels expected an array"), std::string::npos) << v.status().message();

  Json ti = Json::parse(TdxBundle().tdx_collateral->tcb_info);
  ti["tcbLevels"] = Json::array({1, 2});
  EvidenceBundle c = TdxBundle();
  c.tdx_collateral->tcb_info = ti.dump();
  c.tdx_collateral->tcb_info_signature = SignAsTcbSigner(c.tdx_collateral->tcb_info);
  Verdict w = Verify(c, TestRoots());
  EXPECT_FALSE(w.ok());
  EXPECT_TRUE(HasFailed(w, "tdx.collateral.schema")) << FailedCheck(w);
}

// --- VLEK -> ASVK -> ARK, the Turin layout, TDX quote v5 ---

TEST(SimSnpVlek, VerifiesThroughTheAsvk) {
  SimSnpOptions o = SnpOptions();
  o.vlek = true;
  auto b = SimSnpEvidence(o);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto r = ParseSnpReport(b->snp_report);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->signing_key, 1u);
  EXPECT_EQ(SerializeSnpReport(*r), b->snp_report);
  Verdict v = Verify(RoundTrip(*b), TestRoots());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.claims["signerChain"], Json({"SEV-VLEK", "ARCA-SIM-ASVK", kSimArkName}));
  EXPECT_EQ(v.claims["snp"]["signingKey"], "vlek");
  EXPECT_EQ(v.claims["tcbStatus"], "Endorsed");
  EXPECT_EQ(v.claims["measurement"], HexEncode(o.measurement));
  // A VLEK is not chip-specific: no hwID check runs.
  for (const auto& c : v.checks()) EXPECT_NE(c.name, "snp.vcek.hwid");
  // Every byte of the report is covered.
  for (std::size_t i = 0; i < b->snp_report.size(); ++i) {
    EvidenceBundle f = *b;
    f.snp_report[i] ^= 0x01;
    EXPECT_FALSE(Verify(f, TestRoots()).ok()) << "flipped VLEK report byte " << i << " verified";
  }
}

TEST(SimSnpVlek, ReportNamingTheVlekIsNotAcceptedUnderTheVcek) {
  SimSnpOptions o = SnpOptions();
  o.vlek = true;
  auto vlek = SimSnpEvidence(o);
  ASSERT_TRUE(vlek.ok());
  // The VLEK-signed report with the VCEK chain instead: no VLEK to select.
  EvidenceBundle b = *vlek;
  b.certificates = SnpBundle().certificates;
  Verdict v = Verify(b, TestRoots());
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "snp.report.signature")) << FailedCheck(v);
  // The VCEK-signed report relabelled as VLEK-signed: SIGNER_INFO is signed.
  EvidenceBundle relabel = SnpBundle();
  relabel.snp_report[0x48] = 1 << 2;
  relabel.certificates = vlek->certificates;
  EXPECT_TRUE(HasFailed(Verify(relabel, TestRoots()), "snp.report.signature"));
  // A VLEK whose ASVK is missing does not chain.
  EvidenceBundle no_asvk = *vlek;
  no_asvk.certificates.erase(no_asvk.certificates.begin() + 1);
  Verdict nv = Verify(no_asvk, TestRoots());
  EXPECT_TRUE(HasFailed(nv, "snp.chain")) << FailedCheck(nv);
  EXPECT_NE(nv.status().message().find("ARCA-SIM-ASVK"), std::string::npos) << nv.status().message();
}

TEST(SimSnpTurin, UsesTheTurinTcbLayoutAndFmc) {
  SimSnpOptions o = SnpOptions();
  o.turin = true;
  o.reported_tcb = kSimTurinTcb;
  auto b = SimSnpEvidence(o);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto r = ParseSnpReport(b->snp_report);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->IsTurinLayout());
  EXPECT_EQ(SerializeSnpReport(*r), b->snp_report);
  Verdict v = Verify(RoundTrip(*b), TestRoots());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.claims["productName"], "Turin-B0");
  EXPECT_EQ(v.claims["tcb"]["fmc"], 1);
  EXPECT_EQ(v.claims["tcb"]["bootloader"], 3);
  EXPECT_EQ(v.claims["tcb"]["tee"], 2);
  EXPECT_EQ(v.claims["tcb"]["snp"], 24);
  EXPECT_EQ(v.claims["tcb"]["microcode"], 219);
  EXPECT_EQ(v.claims["snp"]["cpuid"], "1a0200");
}

TEST(SimSnpTurin, VcekOfAnotherFmcIsRefused) {
  SimSnpOptions o = SnpOptions();
  o.turin = true;
  o.reported_tcb = kSimTurinTcb;
  auto b = SimSnpEvidence(o);
  o.reported_tcb = kSimTurinTcb + 1;  // FMC 2
  auto other = SimSnpEvidence(o);
  ASSERT_TRUE(b.ok() && other.ok());
  EvidenceBundle mixed = *b;
  mixed.certificates[0] = other->certificates[0];
  Verdict v = Verify(mixed, TestRoots());
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "snp.vcek.tcb")) << FailedCheck(v);
  EXPECT_NE(v.status().message().find("fmcSPL (1.3.6.1.4.1.3704.1.3.9) expected REPORTED_TCB value 1, got 2"),
            std::string::npos)
      << v.status().message();
  // The same Turin VCEK read in the Milan layout would disagree: a Turin
  // report relabelled as Milan (CPUID family 0x19) fails its signature.
  EvidenceBundle milan = *b;
  milan.snp_report[0x188] = 0x19;
  EXPECT_FALSE(Verify(milan, TestRoots()).ok());
}

class SimTdxV5 : public ::testing::TestWithParam<bool> {};

TEST_P(SimTdxV5, RoundTripsAndEveryBinaryByteIsCovered) {
  const bool v15 = GetParam();
  SimTdxOptions o = TdxOptions();
  o.quote_version = 5;
  o.td_report_15 = v15;
  auto b = SimTdxEvidence(o);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto q = ParseTdxQuote(b->tdx_quote);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->version, 5);
  EXPECT_EQ(q->body_type, v15 ? 3 : 2);
  EXPECT_EQ(q->body.is_v15, v15);
  EXPECT_EQ(q->signed_size, 48u + 6u + (v15 ? 648u : 584u));
  auto again = SerializeTdxQuote(*q);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, b->tdx_quote);
  Verdict v = Verify(RoundTrip(*b), TestRoots());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.claims["measurement"], HexEncode(o.mrtd));
  EXPECT_EQ(v.claims["reportData"], HexEncode(o.report_data));
  EXPECT_EQ(v.claims["tdx"]["version"], 5);
  EXPECT_EQ(v.claims["tcbStatus"], "UpToDate");
  if (v15) {
    EXPECT_EQ(v.claims["tdx"]["teeTcbSvn2"], "05010200000000000000000000000000");
  }
  std::size_t pem_start = q->quote_size - q->pck_cert_chain.size();
  for (std::size_t i = 0; i < pem_start; ++i) {
    EvidenceBundle f = *b;
    f.tdx_quote[i] ^= 0x01;
    EXPECT_FALSE(Verify(f, TestRoots()).ok()) << "flipped v5 quote byte " << i << " verified";
  }
}

INSTANTIATE_TEST_SUITE_P(TdReports, SimTdxV5, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "TdReport15" : "TdReport10"; });

TEST(SimTdxV5Refusals, BodyTypeAndSizeMustAgree) {
  SimTdxOptions o = TdxOptions();
  o.quote_version = 5;
  auto b = SimTdxEvidence(o);
  ASSERT_TRUE(b.ok());
  Bytes quote = b->tdx_quote;
  quote[48] = 3;  // body type 3 (TD report 1.5) with a 584-byte body
  auto q = ParseTdxQuote(quote);
  EXPECT_THAT(q.status(), HasCode(StatusCode::kInvalidArgument));
  EXPECT_NE(q.status().message().find("body type/size expected 2/584 or 3/648, got 3/584"), std::string::npos)
      << q.status().message();
  o.quote_version = 4;
  o.td_report_15 = true;
  EXPECT_THAT(SimTdxEvidence(o).status(), HasCode(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace arca::attest
