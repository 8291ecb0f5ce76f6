// SEV-SNP: the shared vectors S1, S2, S6 verify with exactly the claims of
// MANIFEST.md §3; every negative fails for the stated reason.
#include "attest/snp.h"

#include <gtest/gtest.h>

#include "attest/bundle.h"
#include "attest/test_util.h"
#include "base/testing/status_matchers.h"

namespace arca::attest {
namespace {

using testing::At;
using testing::FailedCheck;
using testing::HasFailed;
using testing::HasPassed;
using testing::ReadVector;
using testing::ReadVectorText;

const UnixSeconds kSnpTime = At("2025-06-01T00:00:00Z");

Verdict VerifySnpFiles(const std::string& report, const std::vector<std::string>& certs, UnixSeconds t = kSnpTime) {
  BundleBuilder b;
  EXPECT_TRUE(b.SetSnpReport(ReadVector(report)).ok());
  for (const auto& c : certs) EXPECT_TRUE(b.AddCertificates(ReadVector(c)).ok()) << c;
  auto bundle = b.Finish();
  EXPECT_TRUE(bundle.ok());
  auto roots = RootStore::Pinned();
  EXPECT_TRUE(roots.ok()) << roots.status().ToString();
  return VerifyBundle(*bundle, *roots, {t, std::nullopt});
}

Verdict S1(UnixSeconds t = kSnpTime) {
  return VerifySnpFiles("snp/s1-milan-report.bin", {"snp/s1-milan-vcek.der", "snp/s1-ask-ark-milan.pem"}, t);
}

TEST(SnpReport, S1ParsesEveryManifestField) {
  auto r = ParseSnpReport(ReadVector("snp/s1-milan-report.bin"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->version, 2u);
  EXPECT_EQ(r->guest_svn, 0u);
  EXPECT_EQ(r->policy.raw, 0xb0000u);
  EXPECT_TRUE(r->policy.smt);
  EXPECT_TRUE(r->policy.reserved_bit17);
  EXPECT_TRUE(r->policy.debug);
  EXPECT_FALSE(r->policy.migrate_ma);
  EXPECT_EQ(r->policy.abi_major, 0);
  EXPECT_EQ(r->policy.abi_minor, 0);
  EXPECT_EQ(r->vmpl, 0u);
  EXPECT_EQ(r->signature_algo, 1u);
  EXPECT_EQ(r->signing_key, 0u);
  EXPECT_EQ(r->platform_info, 1u);
  EXPECT_EQ(HexEncode(r->family_id), std::string(32, '0'));
  EXPECT_EQ(HexEncode(r->report_data), "0102030405" + std::string(118, '0'));
  EXPECT_EQ(HexEncode(r->measurement),
            "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01");
  EXPECT_EQ(HexEncode(r->host_data), std::string(64, '0'));
  EXPECT_EQ(HexEncode(r->report_id), "8edc638e1857c555d21f6b11bda3c8b1b5a09dba4852b4c8ee7aa2f16f22cc0a");
  EXPECT_EQ(r->reported_tcb, 0x4405000000000002u);
  SnpTcb tcb = DecodeSnpTcb(r->reported_tcb, false);
  EXPECT_EQ(tcb.bootloader, 2);
  EXPECT_EQ(tcb.tee, 0);
  EXPECT_EQ(tcb.snp, 5);
  EXPECT_EQ(tcb.microcode, 68);
  EXPECT_EQ(r->current_tcb, r->reported_tcb);
  EXPECT_EQ(r->committed_tcb, r->reported_tcb);
  EXPECT_EQ(r->launch_tcb, r->reported_tcb);
  EXPECT_EQ(r->current_major, 1);
  EXPECT_EQ(r->current_minor, 49);
  EXPECT_EQ(r->current_build, 3);
  EXPECT_EQ(r->committed_major, 1);
  EXPECT_EQ(r->committed_minor, 49);
  EXPECT_EQ(r->committed_build, 3);
  EXPECT_EQ(HexEncode(r->chip_id).substr(0, 16), "3ac3fe21e13fb099");
}

TEST(SnpReport, S2ParsesEveryManifestField) {
  auto hex = ReadVectorText("snp/s2-milan-report.hex");
  auto from_hex = HexDecode(hex);
  ASSERT_TRUE(from_hex.ok());
  EXPECT_EQ(*from_hex, ReadVector("snp/s2-milan-report.bin"));
  auto r = ParseSnpReport(*from_hex);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->version, 2u);
  EXPECT_EQ(r->policy.raw, 0x30000u);
  EXPECT_FALSE(r->policy.debug);
  EXPECT_EQ(r->platform_info, 1u);
  EXPECT_EQ(HexEncode(r->report_data),
            "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd");
  EXPECT_EQ(HexEncode(r->measurement),
            "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f");
  EXPECT_EQ(HexEncode(r->report_id), "92b3b47d59f0a2a10a74c5678868a80238cf593c01a82f3cffb878e904c28d5b");
  SnpTcb tcb = DecodeSnpTcb(r->reported_tcb, false);
  EXPECT_EQ(r->reported_tcb, 0x7308000000000003u);
  EXPECT_EQ(tcb.bootloader, 3);
  EXPECT_EQ(tcb.snp, 8);
  EXPECT_EQ(tcb.microcode, 115);
  EXPECT_EQ(r->current_major, 1);
  EXPECT_EQ(r->current_minor, 52);
  EXPECT_EQ(r->current_build, 4);
  EXPECT_EQ(HexEncode(r->chip_id).substr(0, 16), "d49554ec717f4e5b");
}

TEST(SnpReport, S6ParsesEveryManifestField) {
  Bytes hcl = ReadVector("snp/s6-az-genoa-hcl-report.bin");
  Bytes report = ReadVector("snp/s6-az-genoa-report.bin");
  EXPECT_EQ(Bytes(hcl.begin() + 0x20, hcl.begin() + 0x4C0), report);
  auto r = ParseSnpReport(report);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->version, 3u);
  EXPECT_EQ(r->cpuid_fam_id, 0x19);
  EXPECT_EQ(r->cpuid_mod_id, 0x11);
  EXPECT_EQ(r->cpuid_step, 0x01);
  EXPECT_EQ(r->guest_svn, 65547u);
  EXPECT_EQ(r->policy.raw, 0x3001fu);
  EXPECT_EQ(r->policy.abi_major, 0);
  EXPECT_EQ(r->policy.abi_minor, 31);
  EXPECT_FALSE(r->policy.debug);
  EXPECT_EQ(r->platform_info, 0x24u);
  EXPECT_EQ(HexEncode(r->family_id), "01232000000000000000000000000000");
  EXPECT_EQ(HexEncode(r->image_id), "02000000000000000000000000000000");
  EXPECT_EQ(HexEncode(r->id_key_digest),
            "942fd93ebde6ea7a96efadeafc60f1c6b3d10e703b1dafd7555b92f7f3d32d0e006767648cba5b102af3d65756af4177");
  EXPECT_EQ(HexEncode(r->report_data), "b581f12e29a2d7d64e5e0b738d563879a78b51c644d0fa0cce02b48699f6bf5f" + std::string(64, '0'));
  EXPECT_EQ(HexEncode(r->report_id), "8c678f0cba548b25bc8ed1f723231570447886c74b1fa1f7eb23699755cb4801");
  SnpTcb tcb = DecodeSnpTcb(r->reported_tcb, r->IsTurinLayout());
  EXPECT_EQ(r->reported_tcb, 0x541700000000000au);
  EXPECT_EQ(tcb.bootloader, 10);
  EXPECT_EQ(tcb.tee, 0);
  EXPECT_EQ(tcb.snp, 23);
  EXPECT_EQ(tcb.microcode, 84);
  EXPECT_EQ(r->current_major, 1);
  EXPECT_EQ(r->current_minor, 55);
  EXPECT_EQ(r->current_build, 40);
  EXPECT_EQ(HexEncode(r->chip_id).substr(0, 16), "0506ffba875e939c");
}

TEST(SnpVerify, S1VerifiesWithDebugClaim) {
  Verdict v = S1();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.claims["platform"], "sev-snp");
  EXPECT_EQ(v.claims["debug"], true);
  EXPECT_EQ(v.claims["snp"]["policy"]["debug"], true);
  EXPECT_EQ(v.claims["measurement"],
            "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01");
  EXPECT_EQ(v.claims["productName"], "Milan-B0");
  EXPECT_EQ(v.claims["signerChain"], Json({"SEV-VCEK", "SEV-Milan", "ARK-Milan"}));
  EXPECT_EQ(v.claims["tcb"]["microcode"], 68);
  EXPECT_EQ(v.claims["tcbStatus"], "Endorsed");
  EXPECT_EQ(v.claims["verificationTime"], "2025-06-01T00:00:00Z");
  EXPECT_TRUE(HasPassed(v, "snp.report.signature"));
  EXPECT_TRUE(HasPassed(v, "snp.chain"));
  EXPECT_TRUE(HasPassed(v, "snp.vcek.tcb"));
  EXPECT_TRUE(HasPassed(v, "snp.vcek.hwid"));
}

TEST(SnpVerify, S1UnderProductionPolicyIsRejectedForDebug) {
  // The verifier reports debug; a "DEBUG must be 0" policy rejects on it.
  Verdict v = S1();
  ASSERT_TRUE(v.ok());
  bool production_policy_accepts = v.claims["debug"] == false;
  EXPECT_FALSE(production_policy_accepts);
}

TEST(SnpVerify, S2Verifies) {
  Verdict v = VerifySnpFiles("snp/s2-milan-report.bin", {"snp/s2-milan-vcek.der", "snp/s2-cert-chain-milan.pem"});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.claims["debug"], false);
  EXPECT_EQ(v.claims["measurement"],
            "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f");
  EXPECT_EQ(v.claims["snp"]["currentFirmware"], "1.52.4");
  EXPECT_EQ(v.claims["signerChain"].back(), "ARK-Milan");
}

TEST(SnpVerify, S6AzureEvidenceVerifies) {
  BundleBuilder b;
  ASSERT_THAT(b.SetAzureEvidence(ReadVectorText("snp/s6-az-genoa-evidence.json")), IsOk());
  ASSERT_THAT(b.AddCertificates(ReadVector("snp/s6-ask-ark-genoa.pem")), IsOk());
  auto bundle = b.Finish();
  ASSERT_TRUE(bundle.ok());
  Verdict v = VerifyBundle(*bundle, *RootStore::Pinned(), {kSnpTime, std::nullopt});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.claims["platform"], "azure-sev-snp-vtpm");
  EXPECT_EQ(v.claims["measurement"],
            "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae");
  EXPECT_EQ(v.claims["productName"], "Genoa");
  EXPECT_EQ(v.claims["signerChain"].back(), "ARK-Genoa");
  EXPECT_EQ(v.claims["debug"], false);
  EXPECT_EQ(v.claims["tpm"]["nonce"],
            "0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f");
  EXPECT_EQ(v.claims["tpm"]["pcrDigest"], "2b30a66d715a7801b86d7912b710838bd3bd8d9aeec7c7135563f938cf8b3399");
  EXPECT_TRUE(HasPassed(v, "azure.report_data.binding"));
  EXPECT_TRUE(HasPassed(v, "tpm.quote.signature"));
  EXPECT_TRUE(HasPassed(v, "tpm.pcr_digest"));
  EXPECT_TRUE(HasPassed(v, "tpm.ak.anchor"));
}

TEST(SnpVerify, S6ReportAloneVerifiesUnderGenoa) {
  Verdict v = VerifySnpFiles("snp/s6-az-genoa-report.bin", {"snp/s6-az-genoa-vcek.pem", "snp/s6-ask-ark-genoa.pem"});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
}

TEST(SnpNegative, MeasurementFlipFailsReportSignature) {
  auto r = ParseSnpReport(ReadVector("snp/negative/s1-neg-measurement-flip.bin"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(HexEncode(r->measurement).substr(0, 8), "b17af962");
  Verdict v = VerifySnpFiles("snp/negative/s1-neg-measurement-flip.bin",
                             {"snp/s1-milan-vcek.der", "snp/s1-ask-ark-milan.pem"});
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "snp.report.signature")) << FailedCheck(v);
  EXPECT_TRUE(HasPassed(v, "snp.chain"));
  EXPECT_THAT(v.status(), HasCode(StatusCode::kUnauthenticated));
  EXPECT_NE(v.status().message().find("snp.report.signature"), std::string::npos);
}

TEST(SnpNegative, SignatureFlipFailsReportSignature) {
  Verdict v = VerifySnpFiles("snp/negative/s1-neg-signature-flip.bin",
                             {"snp/s1-milan-vcek.der", "snp/s1-ask-ark-milan.pem"});
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "snp.report.signature"));
  EXPECT_EQ(FailedCheck(v).rfind("snp.report.signature", 0), 0u) << FailedCheck(v);
}

TEST(SnpNegative, TruncatedFailsLengthCheckBeforeCrypto) {
  auto r = ParseSnpReport(ReadVector("snp/negative/s1-neg-truncated.bin"));
  ASSERT_THAT(r.status(), HasCode(StatusCode::kInvalidArgument));
  EXPECT_NE(r.status().message().find("length expected 1184 bytes, got 1183"), std::string::npos) << r.status().ToString();
  BundleBuilder b;
  EXPECT_THAT(b.SetSnpReport(ReadVector("snp/negative/s1-neg-truncated.bin")), HasCode(StatusCode::kInvalidArgument));
}

TEST(SnpNegative, OversizedReportRefused) {
  Bytes r = ReadVector("snp/s1-milan-report.bin");
  r.push_back(0);
  EXPECT_NE(ParseSnpReport(r).status().message().find("got 1185"), std::string::npos);
}

TEST(SnpNegative, WrongVersionRefused) {
  Bytes r = ReadVector("snp/s1-milan-report.bin");
  r[0] = 1;
  auto p = ParseSnpReport(r);
  EXPECT_THAT(p.status(), HasCode(StatusCode::kInvalidArgument));
  EXPECT_NE(p.status().message().find("VERSION expected 2, 3 or 5, got 1"), std::string::npos);
}

TEST(SnpNegative, UnknownSignatureAlgorithmRefused) {
  Bytes r = ReadVector("snp/s1-milan-report.bin");
  r[0x34] = 2;
  auto p = ParseSnpReport(r);
  EXPECT_NE(p.status().message().find("SIGNATURE_ALGO expected 1"), std::string::npos) << p.status().ToString();
}

TEST(SnpNegative, ExpiredVcekAtVerificationTime) {
  Verdict v = S1(At("2030-01-01T00:00:00Z"));
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "snp.chain"));
  EXPECT_NE(FailedCheck(v).find("SEV-VCEK expired"), std::string::npos) << FailedCheck(v);
}

TEST(SnpNegative, VcekNotYetValid) {
  Verdict v = S1(At("2021-01-01T00:00:00Z"));
  EXPECT_TRUE(HasFailed(v, "snp.chain"));
  EXPECT_NE(FailedCheck(v).find("not yet valid"), std::string::npos);
}

TEST(SnpPairing, S6VcekAgainstMilanAskFailsChain) {
  Verdict v = VerifySnpFiles("snp/s6-az-genoa-report.bin", {"snp/s6-az-genoa-vcek.pem", "snp/s1-ask-ark-milan.pem"});
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "snp.chain")) << FailedCheck(v);
  EXPECT_NE(FailedCheck(v).find("SEV-Genoa"), std::string::npos) << FailedCheck(v);
}

TEST(SnpPairing, S1ReportAgainstS2VcekFailsSignatureAndHwid) {
  Verdict v = VerifySnpFiles("snp/s1-milan-report.bin", {"snp/s2-milan-vcek.der", "snp/s2-cert-chain-milan.pem"});
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "snp.report.signature"));
  EXPECT_TRUE(HasFailed(v, "snp.vcek.hwid"));
  EXPECT_TRUE(HasFailed(v, "snp.vcek.tcb"));
}

TEST(SnpNegative, ChainToWrongRootFails) {
  // Only the Intel root configured: the AMD chain has no anchor.
  auto roots = RootStore::FromCertificates({ReadVector("roots/intel-sgx-root-ca.pem")});
  ASSERT_TRUE(roots.ok());
  BundleBuilder b;
  ASSERT_THAT(b.SetSnpReport(ReadVector("snp/s1-milan-report.bin")), IsOk());
  ASSERT_THAT(b.AddCertificates(ReadVector("snp/s1-milan-vcek.der")), IsOk());
  ASSERT_THAT(b.AddCertificates(ReadVector("snp/s1-ask-ark-milan.pem")), IsOk());
  Verdict v = VerifyBundle(*b.Finish(), *roots, {kSnpTime, std::nullopt});
  EXPECT_TRUE(HasFailed(v, "snp.chain"));
  EXPECT_NE(FailedCheck(v).find("neither in the bundle nor a pinned root"), std::string::npos) << FailedCheck(v);
}

TEST(SnpNegative, MissingVcekNamed) {
  Verdict v = VerifySnpFiles("snp/s1-milan-report.bin", {"snp/s1-ask-ark-milan.pem"});
  EXPECT_TRUE(HasFailed(v, "snp.vcek"));
  EXPECT_THAT(v.status(), HasCode(StatusCode::kNotFound));
}

TEST(SnpRoots, PinnedRootsMatchManifestFingerprints) {
  auto roots = RootStore::Pinned();
  ASSERT_TRUE(roots.ok());
  std::map<std::string, std::string> want = {
      {"ARK-Milan", "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd"},
      {"ARK-Genoa", "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1"},
      {"ARK-Turin", "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a"},
      {"Intel SGX Root CA", "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"}};
  ASSERT_EQ(roots->roots().size(), 4u);
  for (const auto& r : roots->roots()) {
    EXPECT_EQ(r.sha256_der_hex, want[r.name]) << r.name;
    EXPECT_TRUE(r.builtin);
  }
}

}  // namespace
}  // namespace arca::attest
