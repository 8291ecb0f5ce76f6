// TPM 2.0 quotes: vector P2 with the claims of MANIFEST.md §5, its
// negatives, AK anchoring and bad input.
#include "attest/tpm.h"

#include <gtest/gtest.h>

#include "attest/bundle.h"
#include "attest/test_util.h"
#include "base/crypto.h"
#include "base/testing/status_matchers.h"

namespace arca::attest {
namespace {

using testing::FailedCheck;
using testing::HasFailed;
using testing::HasPassed;
using testing::ReadVectorText;

EvidenceBundle P2(const std::string& file = "tpm/p2-tpm-evidence.json") {
  BundleBuilder b;
  EXPECT_THAT(b.SetTpmEvidence(ReadVectorText(file)), IsOk());
  auto r = b.Finish();
  EXPECT_TRUE(r.ok());
  return *r;
}

Bytes P2Ak() {
  auto j = ParseJson(ReadVectorText("tpm/p2-tpm-evidence.json"), "p2");
  return *Base64Decode((*j)["ak_public"].get<std::string>());
}

Verdict VerifyWithAk(const EvidenceBundle& b, std::optional<Bytes> ak) {
  // TPM quotes have no time dependence; any time will do.
  return VerifyBundle(b, *RootStore::Pinned(), {0, std::move(ak)});
}

TEST(TpmsAttest, P2ParsesManifestFields) {
  EvidenceBundle b = P2();
  auto a = ParseTpmsAttest(b.tpm_quote->message);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(b.tpm_quote->message.size(), 177u);
  EXPECT_EQ(b.tpm_quote->signature.size(), 262u);
  EXPECT_EQ(a->magic, 0xff544347u);
  EXPECT_EQ(a->type, 0x8018);
  EXPECT_EQ(HexEncode(a->qualified_signer), "000b3081a4cbbe307f3de1456f9875a3c2632528a70d91fcf578ccf092465e4e8e09");
  // MANIFEST §5: 64 bytes = the 48 listed bytes followed by zeros ("32
  // zero" there counts hex digits: 16 bytes).
  EXPECT_EQ(a->extra_data.size(), 64u);
  EXPECT_EQ(HexEncode(a->extra_data),
            "a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393ef0e41a18b3569ab678f1497fbc5c120" +
                std::string(32, '0'));
  EXPECT_EQ(a->clock, 1913548331u);
  EXPECT_EQ(a->firmware_version, 0x2019102300163636u);
  ASSERT_EQ(a->pcr_select.size(), 1u);
  EXPECT_EQ(a->pcr_select[0].hash_alg, 0x000b);
  EXPECT_EQ(a->pcr_select[0].pcrs.size(), 24u);
  EXPECT_EQ(HexEncode(a->pcr_digest), "019de64c9318655e422c3d03831169896e31f02a1d74e4d8fef575bf4e0d75fa");
  EXPECT_EQ(HexEncode(crypto::Sha256::Hash(P2Ak())), "a517f03ffdaee469aef1a19569547e330726335d0461c3ef6383409c6295679e");
}

TEST(TpmVerify, P2VerifiesWithNamedAk) {
  Verdict v = VerifyWithAk(P2(), P2Ak());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.claims["platform"], "tpm");
  EXPECT_TRUE(HasPassed(v, "tpm.quote.signature"));
  EXPECT_TRUE(HasPassed(v, "tpm.pcr_digest"));
  EXPECT_TRUE(HasPassed(v, "tpm.ak.anchor"));
  const Json& pcrs = v.claims["tpm"]["pcrs"]["sha256"];
  for (int i = 0; i < 24; ++i) {
    bool ff = i >= 17 && i <= 22;
    EXPECT_EQ(pcrs[std::to_string(i)], std::string(64, ff ? 'f' : '0')) << i;
  }
}

TEST(TpmVerify, UnanchoredAkIsRefusedAsSuch) {
  Verdict v = VerifyWithAk(P2(), std::nullopt);
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(FailedCheck(v).rfind("tpm.ak.anchor", 0), 0u) << FailedCheck(v);
  EXPECT_NE(v.status().message().find("unanchored"), std::string::npos);
  // The signature itself is still checked with the bundled key.
  EXPECT_TRUE(HasPassed(v, "tpm.quote.signature"));
}

TEST(TpmVerify, DifferentNamedAkRefused) {
  Bytes other = ToString(P2Ak()) == "" ? Bytes{} : P2Ak();
  other[40] ^= 1;  // a different modulus
  Verdict v = VerifyWithAk(P2(), other);
  EXPECT_FALSE(v.ok());
}

TEST(TpmNegative, Pcr0FlipIsPcrDigestMismatch) {
  Verdict v = VerifyWithAk(P2("tpm/negative/p2-neg-pcr0-flip.json"), P2Ak());
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasPassed(v, "tpm.quote.signature"));
  EXPECT_TRUE(HasFailed(v, "tpm.pcr_digest"));
  EXPECT_NE(FailedCheck(v).find("pcrDigest mismatch"), std::string::npos);
}

TEST(TpmNegative, SignatureFlipIsSignatureInvalid) {
  Verdict v = VerifyWithAk(P2("tpm/negative/p2-neg-signature-flip.json"), P2Ak());
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "tpm.quote.signature"));
  EXPECT_TRUE(HasPassed(v, "tpm.pcr_digest"));
}

TEST(TpmNegative, MessageTruncatedIsParseError) {
  auto j = ParseJson(ReadVectorText("tpm/negative/p2-neg-message-truncated.json"), "neg");
  Bytes msg = *Base64Decode((*j)["tpm_quote"]["message"].get<std::string>());
  auto a = ParseTpmsAttest(msg);
  ASSERT_THAT(a.status(), HasCode(StatusCode::kInvalidArgument));
  EXPECT_NE(a.status().message().find("pcrDigest at offset 145 needs 32 bytes, 31 remain"), std::string::npos)
      << a.status().ToString();
  BundleBuilder b;
  EXPECT_THAT(b.SetTpmEvidence(ReadVectorText("tpm/negative/p2-neg-message-truncated.json")),
              HasCode(StatusCode::kInvalidArgument));
}

TEST(TpmNegative, TrailingByteRefused) {
  Bytes msg = P2().tpm_quote->message;
  msg.push_back(0);
  EXPECT_NE(ParseTpmsAttest(msg).status().message().find("trailing"), std::string::npos);
}

TEST(TpmNegative, WrongMagicAndTypeRefused) {
  Bytes msg = P2().tpm_quote->message;
  msg[0] = 0;
  EXPECT_NE(ParseTpmsAttest(msg).status().message().find("magic expected ff544347"), std::string::npos);
  msg = P2().tpm_quote->message;
  msg[5] = 0x17;
  EXPECT_NE(ParseTpmsAttest(msg).status().message().find("type expected 8018"), std::string::npos);
}

TEST(TpmNegative, OversizedRefused) {
  EXPECT_THAT(ParseTpmsAttest(Bytes(kMaxTpmsAttestBytes + 1)).status(), HasCode(StatusCode::kResourceExhausted));
}

TEST(TpmNegative, UnknownSignatureAlgorithmRefused) {
  EvidenceBundle b = P2();
  b.tpm_quote->signature[1] = 0x99;  // sigAlg 0x0099
  Verdict v = VerifyWithAk(b, P2Ak());
  EXPECT_TRUE(HasFailed(v, "tpm.quote.signature"));
  EXPECT_NE(FailedCheck(v).find("sigAlg expected"), std::string::npos) << FailedCheck(v);
}

TEST(TpmNegative, EveryTruncationRefused) {
  Bytes msg = P2().tpm_quote->message;
  for (std::size_t n = 0; n < msg.size(); ++n) EXPECT_FALSE(ParseTpmsAttest(ByteSpan(msg).first(n)).ok()) << n;
}

}  // namespace
}  // namespace arca::attest
