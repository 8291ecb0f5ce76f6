// Evidence bundles: canonical form, strict parsing, builder inputs.
#include "attest/bundle.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "attest/internal/x509.h"
#include "attest/test_util.h"
#include "base/testing/status_matchers.h"

namespace arca::attest {
namespace {

using testing::ReadVector;
using testing::ReadVectorText;

EvidenceBundle S1() {
  BundleBuilder b;
  EXPECT_THAT(b.SetSnpReport(ReadVector("snp/s1-milan-report.bin")), IsOk());
  EXPECT_THAT(b.AddCertificates(ReadVector("snp/s1-milan-vcek.der")), IsOk());
  EXPECT_THAT(b.AddCertificates(ReadVector("snp/s1-ask-ark-milan.pem")), IsOk());
  return *b.Finish();
}

TEST(Bundle, SerializeIsCanonicalAndRoundTrips) {
  auto text = SerializeBundle(S1());
  ASSERT_TRUE(text.ok());
  auto parsed = ParseBundle(*text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->certificates.size(), 3u);
  EXPECT_EQ(parsed->snp_report, ReadVector("snp/s1-milan-report.bin"));
  auto again = SerializeBundle(*parsed);
  EXPECT_EQ(*again, *text);
  auto j = ParseJson(*text, "bundle");
  EXPECT_EQ(*CanonicalJson(*j), *text);
}

TEST(Bundle, DuplicateCertificatesStoredOnce) {
  BundleBuilder b;
  ASSERT_THAT(b.SetSnpReport(ReadVector("snp/s2-milan-report.bin")), IsOk());
  ASSERT_THAT(b.AddCertificates(ReadVector("snp/s1-ask-ark-milan.pem")), IsOk());
  ASSERT_THAT(b.AddCertificates(ReadVector("snp/s2-cert-chain-milan.pem")), IsOk());
  EXPECT_EQ(b.Finish()->certificates.size(), 2u);
}

TEST(Bundle, UnknownFieldRefused) {
  std::string text = *SerializeBundle(S1());
  text.insert(1, "\"extra\":1,");
  EXPECT_NE(ParseBundle(text).status().message().find("extra"), std::string::npos);
}

TEST(Bundle, WrongMediaTypeRefused) {
  std::string text = *SerializeBundle(S1());
  auto pos = text.find("v1+json");
  text.replace(pos, 2, "v9");
  EXPECT_NE(ParseBundle(text).status().message().find("mediaType"), std::string::npos);
}

TEST(Bundle, UnknownPlatformRefused) {
  std::string text = *SerializeBundle(S1());
  auto pos = text.find("\"sev-snp\"");
  text.replace(pos, 9, "\"sev-xyz\"");
  EXPECT_NE(ParseBundle(text).status().message().find("platform"), std::string::npos);
}

TEST(Bundle, OversizedRefused) {
  std::string big(kMaxBundleBytes + 1, ' ');
  EXPECT_THAT(ParseBundle(big).status(), HasCode(StatusCode::kResourceExhausted));
}

TEST(Bundle, BadBase64Refused) {
  std::string text = *SerializeBundle(S1());
  auto pos = text.find("\"snpReport\":\"");
  text.insert(pos + 13, "!");
  EXPECT_THAT(ParseBundle(text).status(), HasCode(StatusCode::kInvalidArgument));
}

TEST(Bundle, TwoEvidenceFilesRefused) {
  BundleBuilder b;
  ASSERT_THAT(b.SetSnpReport(ReadVector("snp/s1-milan-report.bin")), IsOk());
  EXPECT_THAT(b.SetTdxQuote(ReadVector("tdx/t3-quote-v4.dat")), HasCode(StatusCode::kInvalidArgument));
}

TEST(Bundle, NoEvidenceRefused) {
  BundleBuilder b;
  EXPECT_THAT(b.Finish().status(), HasCode(StatusCode::kInvalidArgument));
}

TEST(Bundle, UnrecognisedCollateralRefused) {
  BundleBuilder b;
  EXPECT_THAT(b.AddCollateral(AsBytes("{\"x\":1}")), HasCode(StatusCode::kInvalidArgument));
}

TEST(Bundle, SelfSignedRootInBundleIsNotTrusted) {
  // Roots: only Genoa configured; the bundle carries the Milan ARK itself.
  auto roots = RootStore::FromCertificates({ReadVector("roots/ark-genoa.pem")});
  ASSERT_TRUE(roots.ok());
  Verdict v = VerifyBundle(S1(), *roots, {*ParseRfc3339("2025-06-01T00:00:00Z"), std::nullopt});
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(testing::HasFailed(v, "snp.chain"));
}

TEST(Bundle, AzureHclReportParses) {
  const Bytes hcl = ReadVector("snp/s6-az-genoa-hcl-report.bin");  // the spans point into it
  auto h = ParseHclReport(hcl);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->hash_type, 1u);
  EXPECT_EQ(h->variable_data.size(), 1200u);
  EXPECT_EQ(Bytes(h->snp_report.begin(), h->snp_report.end()), ReadVector("snp/s6-az-genoa-report.bin"));
}

TEST(Bundle, AzureBindingBrokenWhenRuntimeDataAltered) {
  BundleBuilder b;
  ASSERT_THAT(b.SetAzureEvidence(ReadVectorText("snp/s6-az-genoa-evidence.json")), IsOk());
  ASSERT_THAT(b.AddCertificates(ReadVector("snp/s6-ask-ark-genoa.pem")), IsOk());
  EvidenceBundle bundle = *b.Finish();
  bundle.hcl_report[0x4C0 + 20 + 600] ^= 0x01;  // inside the runtime-data JSON
  Verdict v = VerifyBundle(bundle, *RootStore::Pinned(), {*ParseRfc3339("2025-06-01T00:00:00Z"), std::nullopt});
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(testing::HasFailed(v, "azure.report_data.binding")) << testing::FailedCheck(v);
}

TEST(Bundle, TextFromUnauthenticatedCertificatesIsEscaped) {
  EXPECT_EQ(internal::Printable(std::string("Gen\xaf" "a\\\n", 7)), "Gen\\xafa\\x5c\\x0a");
  // Found by fuzz_attest_bundle: a VCEK whose product name (extension
  // 1.3.6.1.4.1.3704.1.2) is not UTF-8 made the verdict JSON unprintable
  // (nlohmann throws on dump). Its signature no longer verifies, but the
  // name is read and reported: escaped.
  EvidenceBundle b = S1();
  Bytes& vcek = b.certificates[0];
  const std::string name = "Milan-B0";
  auto it = std::search(vcek.begin(), vcek.end(), name.begin(), name.end());
  ASSERT_NE(it, vcek.end());
  *(it + 1) = 0xaf;
  Verdict v = VerifyBundle(b, *RootStore::Pinned(), {testing::At("2025-06-01T00:00:00Z"), std::nullopt});
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.claims["productName"], "M\\xaflan-B0");
  EXPECT_NO_THROW((void)v.ToJson().dump());
}

}  // namespace
}  // namespace arca::attest
