// Intel TDX: vectors T1 and T3 with the claims of MANIFEST.md §4, the
// negatives and pairing negatives of §6, and bad input.
#include "attest/tdx.h"

#include <gtest/gtest.h>

#include "attest/bundle.h"
#include "attest/internal/x509.h"
#include "attest/test_util.h"
#include "base/testing/status_matchers.h"

namespace arca::attest {
namespace {

using testing::At;
using testing::FailedCheck;
using testing::HasFailed;
using testing::HasPassed;
using testing::ReadVector;

const UnixSeconds kT1Time = At("2023-07-01T00:00:00Z");
const UnixSeconds kT3Time = At("2025-07-01T00:00:00Z");

EvidenceBundle T3Bundle(const std::string& quote = "tdx/t3-quote-v4.dat") {
  BundleBuilder b;
  EXPECT_THAT(b.SetTdxQuote(ReadVector(quote)), IsOk());
  EXPECT_THAT(b.AddCollateral(ReadVector("tdx/t3-collateral.json")), IsOk());
  auto r = b.Finish();
  EXPECT_TRUE(r.ok());
  return *r;
}

EvidenceBundle T1Bundle(const std::string& quote = "tdx/t1-spr-e4-quote-v4.dat") {
  BundleBuilder b;
  EXPECT_THAT(b.SetTdxQuote(ReadVector(quote)), IsOk());
  EXPECT_THAT(b.AddCollateral(ReadVector("tdx/t1-tcbinfo-response.json")), IsOk());
  EXPECT_THAT(b.AddCollateral(ReadVector("tdx/t1-qeidentity-response.json")), IsOk());
  EXPECT_THAT(b.AddCertificates(ReadVector("tdx/t1-tcbinfo-issuer-chain.pem")), IsOk());
  EXPECT_THAT(b.AddCertificates(ReadVector("tdx/t1-qeidentity-issuer-chain.pem")), IsOk());
  EXPECT_THAT(b.AddCertificates(ReadVector("tdx/t1-pckcrl-issuer-chain.pem")), IsOk());
  EXPECT_THAT(b.AddCrl(ReadVector("tdx/t1-pckcrl-platform.der")), IsOk());
  EXPECT_THAT(b.AddCrl(ReadVector("tdx/t1-rootcrl.der")), IsOk());
  auto r = b.Finish();
  EXPECT_TRUE(r.ok());
  return *r;
}

Verdict Verify(const EvidenceBundle& b, UnixSeconds t) { return VerifyBundle(b, *RootStore::Pinned(), {t, std::nullopt}); }

// Round trip through the canonical document, as the CLI does.
EvidenceBundle RoundTrip(const EvidenceBundle& b) {
  auto text = SerializeBundle(b);
  EXPECT_TRUE(text.ok());
  auto back = ParseBundle(*text);
  EXPECT_TRUE(back.ok()) << back.status().ToString();
  return *back;
}

TEST(TdxQuote, T3ParsesManifestFields) {
  auto q = ParseTdxQuote(ReadVector("tdx/t3-quote-v4.dat"));
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->version, 4);
  EXPECT_EQ(q->attestation_key_type, 2);
  EXPECT_EQ(q->tee_type, 0x81u);
  EXPECT_EQ(HexEncode(q->qe_vendor_id), "939a7233f79c4ca9940a0db3957f0607");
  EXPECT_EQ(q->quote_size, 4936u);
  EXPECT_EQ(q->trailing_bytes, 70u);
  EXPECT_EQ(q->signed_size, 632u);
  EXPECT_EQ(q->qe_auth_data.size(), 32u);
  EXPECT_EQ(q->pck_cert_data_type, 5);
  const TdReport& b = q->body;
  EXPECT_EQ(HexEncode(b.tee_tcb_svn), "06010300000000000000000000000000");
  EXPECT_EQ(HexEncode(b.mrseam), "5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1");
  EXPECT_EQ(HexEncode(b.td_attributes), "0000001000000000");
  EXPECT_EQ(HexEncode(b.xfam), "e702060000000000");
  EXPECT_FALSE(b.debug());
  EXPECT_EQ(HexEncode(b.mrtd), "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7");
  EXPECT_EQ(HexEncode(b.rtmr[0]), "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0");
  EXPECT_EQ(HexEncode(b.rtmr[1]), "0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378");
  EXPECT_EQ(HexEncode(b.rtmr[2]), "d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132");
  EXPECT_EQ(HexEncode(b.rtmr[3]), std::string(96, '0'));
  EXPECT_EQ(HexEncode(b.mrsignerseam), std::string(96, '0'));
  EXPECT_EQ(HexEncode(b.mrconfigid), std::string(96, '0'));
  EXPECT_EQ(HexEncode(b.report_data),
            "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20");
  EXPECT_EQ(HexEncode(q->qe_report.mrsigner), "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5");
  EXPECT_EQ(q->qe_report.isvprodid, 2);
  EXPECT_EQ(q->qe_report.isvsvn, 6);
}

TEST(TdxQuote, T1ParsesAndIgnoresTrailingBytes) {
  // Decision (specs/attestation.md §5.2): bytes after the signature data are
  // ignored and counted; T1 carries 39 of them.
  auto q = ParseTdxQuote(ReadVector("tdx/t1-spr-e4-quote-v4.dat"));
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->quote_size, 4935u);
  EXPECT_EQ(q->trailing_bytes, 39u);
  EXPECT_EQ(HexEncode(q->body.tee_tcb_svn), "03000400000000000000000000000000");
  EXPECT_EQ(HexEncode(q->body.mrtd), "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb");
  EXPECT_EQ(HexEncode(q->body.td_attributes), "0000004000000000");
  EXPECT_EQ(HexEncode(q->body.xfam), "e71a060000000000");
  EXPECT_EQ(HexEncode(q->body.report_data),
            "6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545eb7406a38d1eed313b987a467dacead6f0c87a6d766c66f6f29f8acb281f1113");
  EXPECT_EQ(q->qe_report.isvsvn, 4);
}

TEST(TdxVerify, T3VerifiesUpToDate) {
  Verdict v = Verify(RoundTrip(T3Bundle()), kT3Time);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.claims["platform"], "tdx");
  EXPECT_EQ(v.claims["tcbStatus"], "UpToDate");
  EXPECT_EQ(v.claims["tdx"]["platformTcbStatus"], "UpToDate");
  EXPECT_EQ(v.claims["tdx"]["moduleTcbStatus"], "UpToDate");
  EXPECT_EQ(v.claims["tdx"]["qeTcbStatus"], "UpToDate");
  EXPECT_EQ(v.claims["tdx"]["tcbDate"], "2024-03-13T00:00:00Z");
  EXPECT_EQ(v.claims["tdx"]["fmspc"], "b0c06f000000");
  EXPECT_EQ(v.claims["tdx"]["pckTcb"]["sgxTcbComponents"], Json({3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(v.claims["tdx"]["pckTcb"]["pcesvn"], 11);
  EXPECT_EQ(v.claims["tdx"]["pckTcb"]["cpusvn"], "03030202040100050000000000000000");
  EXPECT_EQ(v.claims["tdx"]["tcbEvaluationDataNumber"], 17);
  EXPECT_EQ(v.claims["measurement"],
            "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7");
  EXPECT_EQ(v.claims["debug"], false);
  EXPECT_EQ(v.claims["signerChain"], Json({"Intel SGX PCK Certificate", "Intel SGX PCK Platform CA", "Intel SGX Root CA"}));
  for (const char* check : {"tdx.quote.signature", "tdx.pck.chain", "tdx.qe_report.signature", "tdx.qe_report.binding",
                            "tdx.crl.pck", "tdx.crl.root", "tdx.tcb_info.signature", "tdx.tcb_info.freshness",
                            "tdx.tcb_info.fmspc", "tdx.qe_identity.signature", "tdx.qe_identity.freshness",
                            "tdx.qe_identity.match", "tdx.tcb.level", "tdx.tcb.status"}) {
    EXPECT_TRUE(HasPassed(v, check)) << check;
  }
}

TEST(TdxVerify, T1SignaturesAndChainsPassButNoTcbLevelMatches) {
  Verdict v = Verify(RoundTrip(T1Bundle()), kT1Time);
  EXPECT_FALSE(v.ok());
  for (const char* check : {"tdx.quote.signature", "tdx.pck.chain", "tdx.qe_report.signature", "tdx.qe_report.binding",
                            "tdx.crl.pck", "tdx.crl.root", "tdx.tcb_info.signature", "tdx.tcb_info.freshness",
                            "tdx.tcb_info.fmspc", "tdx.qe_identity.signature", "tdx.qe_identity.freshness",
                            "tdx.qe_identity.match"}) {
    EXPECT_TRUE(HasPassed(v, check)) << check << " / " << FailedCheck(v);
  }
  EXPECT_EQ(v.claims["tdx"]["qeTcbStatus"], "UpToDate");
  EXPECT_EQ(v.claims["tdx"]["fmspc"], "50806f000000");
  EXPECT_EQ(v.claims["tdx"]["pckTcb"]["sgxTcbComponents"], Json({3, 3, 2, 2, 2, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_TRUE(HasFailed(v, "tdx.tcb.level"));
  EXPECT_NE(v.status().message().find("TCB level not supported"), std::string::npos) << v.status().ToString();
  EXPECT_FALSE(v.claims.contains("tcbStatus"));
}

TEST(TdxNegative, MrtdFlipFailsOnlyTheQuoteSignature) {
  auto q = ParseTdxQuote(ReadVector("tdx/negative/t3-neg-mrtd-flip.dat"));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(HexEncode(q->body.mrtd).substr(0, 8), "90eb2b44");
  Verdict v = Verify(T3Bundle("tdx/negative/t3-neg-mrtd-flip.dat"), kT3Time);
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(FailedCheck(v).rfind("tdx.quote.signature", 0), 0u) << FailedCheck(v);
  EXPECT_TRUE(HasPassed(v, "tdx.qe_report.signature"));
  EXPECT_TRUE(HasPassed(v, "tdx.qe_report.binding"));
  EXPECT_TRUE(HasPassed(v, "tdx.pck.chain"));
  int failures = 0;
  for (const auto& c : v.checks()) failures += !c.passed;
  EXPECT_EQ(failures, 1);
}

TEST(TdxNegative, QuoteSignatureFlipFails) {
  Verdict v = Verify(T3Bundle("tdx/negative/t3-neg-quote-signature-flip.dat"), kT3Time);
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(FailedCheck(v).rfind("tdx.quote.signature", 0), 0u) << FailedCheck(v);
  EXPECT_THAT(v.status(), HasCode(StatusCode::kUnauthenticated));
}

TEST(TdxAttestationKey, OnlyPointsOnP256AreKeys) {
  // The T3 quote's attestation key is a valid point; the same x with y + 1,
  // the all-zero "point" and a short input are refused before any
  // signature check (the key is imported without OpenSSL's decoders).
  auto q = ParseTdxQuote(ReadVector("tdx/t3-quote-v4.dat"));
  ASSERT_TRUE(q.ok());
  Bytes xy(q->attestation_key.begin(), q->attestation_key.end());
  EXPECT_TRUE(internal::EcP256PublicKey(xy, "attestation key").ok());
  Bytes off = xy;
  off[63] ^= 0x01;
  EXPECT_THAT(internal::EcP256PublicKey(off, "attestation key").status(), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(internal::EcP256PublicKey(Bytes(64, 0), "attestation key").status(), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(internal::EcP256PublicKey(Bytes(63, 1), "attestation key").status(), HasCode(StatusCode::kInvalidArgument));
}

TEST(TdxNegative, TruncatedIsAParseError) {
  auto q = ParseTdxQuote(ReadVector("tdx/negative/t3-neg-truncated.dat"));
  ASSERT_THAT(q.status(), HasCode(StatusCode::kInvalidArgument));
  EXPECT_NE(q.status().message().find("sig_data_len declares 4300 bytes but only 364 follow offset 636"), std::string::npos)
      << q.status().ToString();
}

TEST(TdxNegative, EveryTruncationIsRefusedWithoutOverRead) {
  Bytes full = ReadVector("tdx/t3-quote-v4.dat");
  for (std::size_t n = 0; n < 4936; n += 7) {
    auto q = ParseTdxQuote(ByteSpan(full).first(n));
    EXPECT_FALSE(q.ok()) << n;
  }
}

TEST(TdxNegative, WrongVersionRefused) {
  Bytes q = ReadVector("tdx/t3-quote-v4.dat");
  q[0] = 3;
  EXPECT_NE(ParseTdxQuote(q).status().message().find("version expected 4 or 5, got 3"), std::string::npos);
}

TEST(TdxNegative, UnknownAttestationKeyTypeRefused) {
  Bytes q = ReadVector("tdx/t3-quote-v4.dat");
  q[2] = 3;
  EXPECT_NE(ParseTdxQuote(q).status().message().find("attestation key type expected 2"), std::string::npos);
}

TEST(TdxNegative, OversizedRefused) {
  Bytes q(kMaxTdxQuoteBytes + 1, 0);
  EXPECT_THAT(ParseTdxQuote(q).status(), HasCode(StatusCode::kResourceExhausted));
}

TEST(TdxNegative, AfterNextUpdateFails) {
  Verdict v = Verify(T3Bundle(), At("2025-08-01T00:00:00Z"));
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "tdx.tcb_info.freshness")) << FailedCheck(v);
  EXPECT_TRUE(HasFailed(v, "tdx.qe_identity.freshness"));
  EXPECT_TRUE(HasFailed(v, "tdx.crl.pck"));
}

TEST(TdxNegative, AtRealNowCollateralIsExpired) {
  Verdict v = Verify(T3Bundle(), At("2026-06-01T00:00:00Z"));
  EXPECT_TRUE(HasFailed(v, "tdx.tcb_info.freshness"));
  EXPECT_NE(FailedCheck(v).find("expired"), std::string::npos);
  Verdict v1 = Verify(T1Bundle(), At("2026-06-01T00:00:00Z"));
  EXPECT_FALSE(v1.ok());
}

TEST(TdxNegative, MissingCollateralNamed) {
  BundleBuilder b;
  ASSERT_THAT(b.SetTdxQuote(ReadVector("tdx/t3-quote-v4.dat")), IsOk());
  Verdict v = Verify(*b.Finish(), kT3Time);
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "tdx.crl.pck"));
  EXPECT_TRUE(HasFailed(v, "tdx.tcb_info.signature"));
}

TEST(TdxNegative, TamperedTcbInfoBytesFailSignature) {
  EvidenceBundle b = T3Bundle();
  std::string& raw = b.tdx_collateral->tcb_info;
  raw.replace(raw.find("\"UpToDate\""), 10, "\"UpToDatf\"");
  Verdict v = Verify(b, kT3Time);
  EXPECT_TRUE(HasFailed(v, "tdx.tcb_info.signature")) << FailedCheck(v);
}

TEST(TdxNegative, RevokedPckRefused) {
  // Pairing a CRL that does not cover the PCK is fine; a chain to the wrong
  // root (AMD only) is refused.
  auto roots = RootStore::FromCertificates({ReadVector("roots/ark-milan.pem")});
  ASSERT_TRUE(roots.ok());
  Verdict v = VerifyBundle(T3Bundle(), *roots, {kT3Time, std::nullopt});
  EXPECT_TRUE(HasFailed(v, "tdx.pck.chain"));
}

TEST(TdxPairing, T1TcbInfoAgainstT3QuoteIsFmspcMismatch) {
  BundleBuilder b;
  ASSERT_THAT(b.SetTdxQuote(ReadVector("tdx/t3-quote-v4.dat")), IsOk());
  ASSERT_THAT(b.AddCollateral(ReadVector("tdx/t3-collateral.json")), IsOk());
  ASSERT_THAT(b.AddCollateral(ReadVector("tdx/t1-tcbinfo-response.json")), IsOk());  // replaces T3's TCB info
  ASSERT_THAT(b.AddCertificates(ReadVector("tdx/t1-tcbinfo-issuer-chain.pem")), IsOk());
  auto bundle = b.Finish();
  ASSERT_TRUE(bundle.ok());
  // At T3's time the TCB signing key (re-issued certificate) still verifies
  // the T1 TCB info; the FMSPC check names the mismatch.
  Verdict v = Verify(*bundle, kT3Time);
  EXPECT_TRUE(HasFailed(v, "tdx.tcb_info.fmspc")) << FailedCheck(v);
  const Check* c = v.Find("tdx.tcb_info.fmspc");
  ASSERT_NE(c, nullptr);
  EXPECT_NE(c->detail.find("expected b0c06f000000"), std::string::npos) << c->detail;
  EXPECT_NE(c->detail.find("got 50806f000000"), std::string::npos) << c->detail;
}

TEST(TdxPairing, T3CollateralAtT1TimeIsNotYetValid) {
  Verdict v = Verify(T3Bundle(), kT1Time);
  EXPECT_FALSE(v.ok());
  std::string all;
  for (const auto& c : v.checks())
    if (!c.passed) all += c.name + ": " + c.detail + "\n";
  EXPECT_NE(all.find("not yet valid"), std::string::npos) << all;
  EXPECT_TRUE(HasFailed(v, "tdx.tcb_info.signature")) << all;
}

TEST(TdxCollateral, RawMemberIsTheServedBytes) {
  std::string body = ToString(ReadVector("tdx/t1-tcbinfo-response.json"));
  auto p = ParseSignedJsonResponse(body, "tcbInfo");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->first.front(), '{');
  EXPECT_EQ(p->first.back(), '}');
  EXPECT_NE(body.find(p->first), std::string::npos);
  EXPECT_EQ(p->second.size(), 64u);
}

}  // namespace
}  // namespace arca::attest
