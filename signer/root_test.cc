#include "signer/root.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/testing/status_matchers.h"

namespace arca::signer {
namespace {

std::unique_ptr<Signer> NewSigner(crypto::KeyType type = crypto::KeyType::kEd25519) {
  return MakeKeySigner(crypto::PrivateKey::Generate(type).value());
}

class RootTest : public ::testing::Test {
 protected:
  RootTest() {
    for (int i = 0; i < 5; ++i) keys_.push_back(NewSigner(i % 2 ? crypto::KeyType::kEcdsaP256Sha256 : crypto::KeyType::kEd25519));
  }

  // MakeRoot lists keys_[ids] with `threshold`, signed by keys_[signers].
  SignedRoot MakeRoot(std::uint64_t version, std::vector<int> ids, std::uint64_t threshold, std::vector<int> signers) {
    SignedRoot r;
    r.root.namespace_name = "acme";
    r.root.version = version;
    r.root.threshold = threshold;
    for (int i : ids) r.root.keys.emplace(keys_[i]->KeyId(), keys_[i]->public_key());
    for (int i : signers) EXPECT_THAT(SignRoot(*keys_[i], r), IsOk());
    return r;
  }

  Result<std::vector<Root>> Walk(const SignedRoot& trusted, const std::vector<SignedRoot>& updates, UnixSeconds now = 1000) {
    verdict_ = Verdict();
    return WalkRootChain(trusted, updates, now, verdict_);
  }

  std::vector<std::unique_ptr<Signer>> keys_;
  Verdict verdict_;
};

TEST_F(RootTest, SerializeParseRoundTrip) {
  SignedRoot r = MakeRoot(1, {0, 1, 2}, 2, {0, 1});
  r.root.expires = 2000000000;
  ASSERT_THAT(SignRoot(*keys_[0], r), IsOk());
  std::string text = SerializeRoot(r).value();
  auto back = ParseRoot(AsBytes(text));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(SerializeRoot(*back).value(), text);
  EXPECT_EQ(back->root.keys.size(), 3u);
  EXPECT_EQ(back->root.expires, 2000000000);
}

TEST_F(RootTest, ThresholdSignedRootVerifies) {
  auto chain = Walk(MakeRoot(1, {0, 1, 2}, 2, {0, 1}), {});
  ASSERT_THAT(chain, IsOk());
  EXPECT_EQ(chain->size(), 1u);
}

TEST_F(RootTest, BelowThresholdIsRefused) {
  EXPECT_THAT(Walk(MakeRoot(1, {0, 1, 2}, 2, {0}), {}), HasCodeAndMessage(StatusCode::kUnauthenticated, "needs 2"));
}

TEST_F(RootTest, SameKeyTwiceIsRefusedAtParse) {
  SignedRoot r = MakeRoot(1, {0, 1, 2}, 2, {0});
  r.signatures.push_back(r.signatures[0]);
  std::string text = SerializeRoot(r).value();
  EXPECT_THAT(ParseRoot(AsBytes(text)), HasCodeAndMessage(StatusCode::kInvalidArgument, "signed twice"));
  // And counting never double-counts even if a caller builds such a document.
  EXPECT_THAT(Walk(r, {}), HasCode(StatusCode::kUnauthenticated));
}

TEST_F(RootTest, SignatureByAKeyNotInTheRootDoesNotCount) {
  EXPECT_THAT(Walk(MakeRoot(1, {0, 1, 2}, 2, {0, 3}), {}), HasCode(StatusCode::kUnauthenticated));
}

TEST_F(RootTest, EveryFlippedByteIsRefused) {
  std::string text = SerializeRoot(MakeRoot(1, {0, 1}, 2, {0, 1})).value();
  std::string accepted;  // each accepted flip with its context, for the failure message
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::string t = text;
    t[i] ^= 0x04;
    auto r = ParseRoot(AsBytes(t));
    if (!r.ok()) continue;
    Verdict v;
    if (WalkRootChain(*r, {}, 1000, v).ok()) {
      accepted += "offset " + std::to_string(i) + ": ..." + text.substr(i > 30 ? i - 30 : 0, 60) + "... -> '" + t[i] + "'\n";
    }
  }
  EXPECT_EQ(accepted, "");
}

// Regression (found by EveryFlippedByteIsRefused failing about half its runs):
// OpenSSL's PEM reader ignores the unused low bits of the last base64
// character before padding, so setting one gave a different document that
// decoded to the same key and still verified. Deterministic here: set the
// lowest unused bit of the character before "=" in every key's PEM (Ed25519
// SPKI: 44 bytes, one "=", 2 unused bits; P-256: 91 bytes, "==", 4).
TEST_F(RootTest, NonCanonicalPemWithTheSameKeyIsRefused) {
  std::string text = SerializeRoot(MakeRoot(1, {0, 1}, 2, {0, 1})).value();
  int changed = 0;
  for (std::size_t at = text.find("=\\n-----END"); at != std::string::npos; at = text.find("=\\n-----END", at + 1)) {
    std::size_t last = at;
    while (text[last - 1] == '=') --last;
    char c = text[last - 1];
    ASSERT_TRUE((c >= 'A' && c <= 'Y') || (c >= 'a' && c <= 'y') || (c >= '0' && c <= '8')) << c;
    std::string t = text;
    t[last - 1] = char(c + 1);  // the value's lowest bit: unused in the canonical encoding, so zero there
    EXPECT_THAT(ParseRoot(AsBytes(t)), HasCodeAndMessage(StatusCode::kInvalidArgument, "not in canonical form")) << t;
    ++changed;
  }
  EXPECT_EQ(changed, 2);
}

TEST_F(RootTest, RotationSignedByOldAndNewThresholdsIsWalked) {
  SignedRoot v1 = MakeRoot(1, {0, 1, 2}, 2, {0, 1});
  SignedRoot v2 = MakeRoot(2, {1, 2, 3}, 2, {0, 1, 3});  // old: 0,1; new: 1,3
  auto chain = Walk(v1, {v2});
  ASSERT_THAT(chain, IsOk());
  EXPECT_EQ(chain->back().version, 2u);
  EXPECT_NE(verdict_.Find("root.v2.signed-by-previous"), nullptr);
}

TEST_F(RootTest, RotationSignedOnlyByTheNewKeysIsRefused) {
  SignedRoot v1 = MakeRoot(1, {0, 1, 2}, 2, {0, 1});
  SignedRoot v2 = MakeRoot(2, {3, 4}, 2, {3, 4});
  EXPECT_THAT(Walk(v1, {v2}), HasCodeAndMessage(StatusCode::kUnauthenticated, "check root.v2.signed-by-previous"));
}

TEST_F(RootTest, RotationSignedOnlyByTheOldKeysIsRefused) {
  SignedRoot v1 = MakeRoot(1, {0, 1, 2}, 2, {0, 1});
  SignedRoot v2 = MakeRoot(2, {3, 4}, 2, {0, 1});
  EXPECT_THAT(Walk(v1, {v2}), HasCodeAndMessage(StatusCode::kUnauthenticated, "check root.v2.self-signed"));
}

TEST_F(RootTest, GapInVersionsIsRefused) {
  SignedRoot v1 = MakeRoot(1, {0, 1}, 1, {0});
  SignedRoot v3 = MakeRoot(3, {0, 1}, 1, {0});
  EXPECT_THAT(Walk(v1, {v3}), HasCodeAndMessage(StatusCode::kFailedPrecondition, "version 2 is missing"));
}

TEST_F(RootTest, NamespaceChangeIsRefused) {
  SignedRoot v1 = MakeRoot(1, {0}, 1, {0});
  SignedRoot v2 = MakeRoot(2, {0}, 1, {});
  v2.root.namespace_name = "evil";
  ASSERT_THAT(SignRoot(*keys_[0], v2), IsOk());
  EXPECT_THAT(Walk(v1, {v2}), HasCodeAndMessage(StatusCode::kFailedPrecondition, "namespace"));
}

TEST_F(RootTest, TwoDifferentDocumentsForOneVersionAreRefused) {
  SignedRoot v1 = MakeRoot(1, {0, 1}, 1, {0});
  SignedRoot a = MakeRoot(2, {0, 1}, 1, {0});
  SignedRoot b = MakeRoot(2, {0, 2}, 1, {0, 2});
  EXPECT_THAT(Walk(v1, {a, b}), HasCodeAndMessage(StatusCode::kFailedPrecondition, "two different root documents"));
}

TEST_F(RootTest, OlderUpdatesAreIgnoredSoTheClientNeverRollsBack) {
  SignedRoot v1 = MakeRoot(1, {0, 1}, 1, {0});
  SignedRoot v2 = MakeRoot(2, {1}, 1, {0, 1});
  auto chain = Walk(v2, {v1});
  ASSERT_THAT(chain, IsOk());
  EXPECT_EQ(chain->back().version, 2u);
}

TEST_F(RootTest, ExpiredFinalRootIsRefusedButExpiredIntermediateIsNot) {
  SignedRoot v1 = MakeRoot(1, {0}, 1, {});
  v1.root.expires = 500;
  ASSERT_THAT(SignRoot(*keys_[0], v1), IsOk());
  EXPECT_THAT(Walk(v1, {}, 1000), HasCodeAndMessage(StatusCode::kFailedPrecondition, "expired"));
  EXPECT_THAT(Walk(v1, {}, 100), IsOk());
  SignedRoot v2 = MakeRoot(2, {0}, 1, {0});
  EXPECT_THAT(Walk(v1, {v2}, 1000), IsOk());
}

TEST_F(RootTest, AlteredSignatureOfAListedKeyIsRefusedAsTampering) {
  SignedRoot r = MakeRoot(1, {0, 1}, 1, {0, 1});
  r.signatures[1].sig[3] ^= 1;
  EXPECT_THAT(Walk(r, {}), HasCodeAndMessage(StatusCode::kUnauthenticated, "does not verify"));
}

TEST_F(RootTest, InvalidRootsAreRefused) {
  SignedRoot r = MakeRoot(1, {0, 1}, 3, {});
  EXPECT_THAT(ValidateRoot(r.root), HasCodeAndMessage(StatusCode::kInvalidArgument, "threshold"));
  r.root.threshold = 0;
  EXPECT_THAT(ValidateRoot(r.root), HasCode(StatusCode::kInvalidArgument));
  r.root.threshold = 1;
  r.root.namespace_name = "Acme!";
  EXPECT_THAT(ValidateRoot(r.root), HasCodeAndMessage(StatusCode::kInvalidArgument, "namespace"));
  r.root.namespace_name = "acme";
  r.root.keys.emplace(std::string(64, 'a'), keys_[2]->public_key());
  EXPECT_THAT(ValidateRoot(r.root), HasCodeAndMessage(StatusCode::kInvalidArgument, "not its SHA-256"));
}

TEST_F(RootTest, MalformedDocumentsAreRefusedNamingTheField) {
  std::string good = SerializeRoot(MakeRoot(1, {0}, 1, {0})).value();
  auto j = nlohmann::json::parse(good);
  auto with = [&](auto edit) {
    auto c = j;
    edit(c);
    return ParseRoot(AsBytes(c.dump()));
  };
  EXPECT_THAT(with([](auto& c) { c["signed"]["_type"] = "root"; }), HasCodeAndMessage(StatusCode::kInvalidArgument, "_type"));
  EXPECT_THAT(with([](auto& c) { c["signed"]["spec_version"] = "2"; }), HasCodeAndMessage(StatusCode::kInvalidArgument, "spec_version"));
  EXPECT_THAT(with([](auto& c) { c["signed"]["extra"] = 1; }), HasCodeAndMessage(StatusCode::kInvalidArgument, "extra"));
  EXPECT_THAT(with([](auto& c) { c["signed"]["expires"] = "tomorrow"; }), HasCodeAndMessage(StatusCode::kInvalidArgument, "expires"));
  EXPECT_THAT(with([](auto& c) { c["signatures"][0]["keyid"] = "xyz"; }), HasCodeAndMessage(StatusCode::kInvalidArgument, "keyid"));
  EXPECT_THAT(with([](auto& c) { c["signatures"][0]["sig"] = "%%"; }), HasCodeAndMessage(StatusCode::kInvalidArgument, "sig"));
  EXPECT_THAT(with([](auto& c) {
                auto& k = c["signed"]["keys"].begin().value();
                k["scheme"] = "ecdsa-sha2-nistp256";
              }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "do not match the key"));
  EXPECT_THAT(ParseRoot(Bytes(kMaxRootBytes + 1, ' ')), HasCode(StatusCode::kResourceExhausted));
}

}  // namespace
}  // namespace arca::signer
