// Evidence binding: the known answer of specs/attestation.md §11 (computed
// independently with Python's hashlib), injectivity across field
// boundaries, bad inputs by field, and the check against verified claims
// of simulated evidence, including a mismatch.
#include "attest/binding.h"

#include <gtest/gtest.h>

#include "attest/bundle.h"
#include "attest/sim.h"
#include "attest/test_util.h"
#include "base/testing/status_matchers.h"

namespace arca::attest {
namespace {

Bytes Range(std::uint8_t from, std::uint8_t to) {
  Bytes b;
  for (unsigned i = from; i < to; ++i) b.push_back(std::uint8_t(i));
  return b;
}

const std::string kPackage = "sha256:" + std::string(64, '1');
const std::string kPolicy = "sha256:" + std::string(64, '2');

TEST(EvidenceBinding, KnownAnswer) {
  Bytes nonce = Range(0, 32), key = Range(0x20, 0x40);
  auto b = ComputeEvidenceBinding({nonce, key, kPackage, kPolicy});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(HexEncode(*b),
            "226016c0311c43c92370515ab7567860a96253fe85d68fce8ffbff46991a9bc3"
            "caba52245f93222905131ebd6febc1d211c1b4578817d3bdd410ccb8b500954f");
}

TEST(EvidenceBinding, LengthPrefixesSeparateFields) {
  // Moving one byte from the key to the nonce keeps the concatenation but
  // must change the binding.
  Bytes nonce = Range(0, 33), key = Range(0x21, 0x40);
  auto b = ComputeEvidenceBinding({nonce, key, kPackage, kPolicy});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(HexEncode(*b),
            "f93aa1263564b624cf0e4af4a6116ab4802505136e464ca4b4311ad2f7026af5"
            "eb43d84b4dff06a518fdd282f81107ff1d8413f49ed597ccff9ce46c02c26542");
}

TEST(EvidenceBinding, RefusesShortNonce) {
  Bytes nonce = Range(0, 15), key = Range(0, 32);
  EXPECT_THAT(ComputeEvidenceBinding({nonce, key, kPackage, kPolicy}).status(),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "evidence binding nonce: expected 16 to 64 bytes, got 15"));
}

TEST(EvidenceBinding, RefusesLongNonce) {
  Bytes nonce(65, 1), key = Range(0, 32);
  EXPECT_THAT(ComputeEvidenceBinding({nonce, key, kPackage, kPolicy}).status(), HasCode(StatusCode::kInvalidArgument));
}

TEST(EvidenceBinding, RefusesEmptyKey) {
  Bytes nonce = Range(0, 32);
  EXPECT_THAT(ComputeEvidenceBinding({nonce, {}, kPackage, kPolicy}).status(),
              HasCodeAndMessage(StatusCode::kInvalidArgument,
                                "evidence binding ephemeral public key: expected 1 to 1024 bytes, got 0"));
}

TEST(EvidenceBinding, RefusesMalformedDigests) {
  Bytes nonce = Range(0, 32), key = Range(0, 32);
  std::string upper = "sha256:" + std::string(64, 'A');
  EXPECT_THAT(ComputeEvidenceBinding({nonce, key, upper, kPolicy}).status(), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ComputeEvidenceBinding({nonce, key, kPackage, "sha512:" + std::string(64, '2')}).status(),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ComputeEvidenceBinding({nonce, key, std::string(64, '1'), kPolicy}).status(),
              HasCode(StatusCode::kInvalidArgument));
}

class BoundSimEvidence : public ::testing::Test {
 protected:
  Bytes nonce_ = Range(0x50, 0x70), key_ = Range(0x70, 0x90);
  BindingInputs Inputs() const { return {nonce_, key_, kPackage, kPolicy}; }
  Verdict VerifySnp() const {
    SimSnpOptions o;
    o.report_data = *ComputeEvidenceBinding(Inputs());
    auto b = SimSnpEvidence(o);
    EXPECT_TRUE(b.ok());
    return VerifyBundle(*b, *SimRootStore(), {testing::At("2026-11-25T00:00:00Z"), std::nullopt});
  }
};

TEST_F(BoundSimEvidence, MatchesTheRecomputedBinding) {
  Verdict v = VerifySnp();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_THAT(CheckEvidenceBinding(v.claims, Inputs()), IsOk());
}

TEST_F(BoundSimEvidence, AnotherNonceIsRefused) {
  Verdict v = VerifySnp();
  ASSERT_TRUE(v.ok());
  Bytes other = nonce_;
  other[0] ^= 1;
  Status s = CheckEvidenceBinding(v.claims, {other, key_, kPackage, kPolicy});
  EXPECT_THAT(s, HasCode(StatusCode::kUnauthenticated));
  EXPECT_NE(s.message().find("report data: expected binding"), std::string::npos) << s.message();
}

TEST_F(BoundSimEvidence, AnotherKeyOrPolicyIsRefused) {
  Verdict v = VerifySnp();
  ASSERT_TRUE(v.ok());
  Bytes other_key = key_;
  other_key.back() ^= 1;
  EXPECT_THAT(CheckEvidenceBinding(v.claims, {nonce_, other_key, kPackage, kPolicy}), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(CheckEvidenceBinding(v.claims, {nonce_, key_, kPackage, "sha256:" + std::string(64, '3')}),
              HasCode(StatusCode::kUnauthenticated));
}

TEST(EvidenceBinding, ClaimsWithoutReportDataAreInvalid) {
  Bytes nonce = Range(0, 32), key = Range(0, 32);
  EXPECT_THAT(CheckEvidenceBinding(Json::object(), {nonce, key, kPackage, kPolicy}), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(CheckEvidenceBinding(Json{{"reportData", "abcd"}}, {nonce, key, kPackage, kPolicy}),
              HasCode(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace arca::attest
