// Known-answer and negative tests for base/crypto.h: SHA-256 (FIPS 180-4),
// HMAC-SHA256 and HKDF-SHA256 (RFC 5869, Wycheproof), AES-GCM (Wycheproof).
#include "base/crypto.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "base/bytes.h"
#include "base/testing/status_matchers.h"
#include "base/testing/test_vectors.h"

namespace arca::crypto {
namespace {

using nlohmann::json;
using test_vectors::CheckWycheproofFile;
using test_vectors::HasOnlyFields;
using test_vectors::HasOnlyFlags;
using test_vectors::Hex;
using test_vectors::LoadJson;
using test_vectors::RepoVectorPath;
using test_vectors::ResultOf;
using test_vectors::StandardVectorPath;
using test_vectors::TcId;
using test_vectors::WycheproofCounts;

Bytes DigestBytes(const Sha256Digest& d) { return Bytes(d.begin(), d.end()); }

Bytes ToBytes(std::string_view s) {
  ByteSpan b = AsBytes(s);
  return Bytes(b.begin(), b.end());
}

bool AllZero(ByteSpan b) {
  return std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0; });
}

// The vector runners below depend on these refusing what they do not know.
TEST(VectorRunner, RefusesUnknownField) {
  json obj = {{"tcId", 1}, {"msg", ""}, {"newField", true}};
  EXPECT_FALSE(HasOnlyFields(obj, {"tcId", "msg"}, "test"));
  EXPECT_TRUE(HasOnlyFields(obj, {"tcId", "msg", "newField"}, "test"));
  EXPECT_FALSE(HasOnlyFields(json::array(), {"tcId"}, "test"));
}

TEST(VectorRunner, RefusesUnknownFlag) {
  json notes = {{"Known", {}}, {"AlsoKnown", {}}};
  json test = {{"flags", {"Known", "AlsoKnown"}}};
  EXPECT_TRUE(HasOnlyFlags(test, notes, {"Known", "AlsoKnown"}, "test"));
  EXPECT_FALSE(HasOnlyFlags(test, notes, {"Known"}, "test"));
  json undocumented = {{"flags", {"Mystery"}}};
  EXPECT_FALSE(HasOnlyFlags(undocumented, notes, {"Mystery"}, "test"));
}

// ----------------------------------------------------------------- SHA-256

TEST(Sha256Vectors, Fips180Examples) {
  json file = LoadJson(RepoVectorPath("sha2/fips180-sha256.json"));
  ASSERT_FALSE(file.is_discarded());
  ASSERT_TRUE(HasOnlyFields(file, {"source", "tests"}, "file"));
  int run = 0;
  for (const json& t : file.at("tests")) {
    ASSERT_TRUE(HasOnlyFields(t, {"name", "message_ascii", "repeat", "digest"}, "test"));
    std::string name = t.at("name");
    std::string part = t.at("message_ascii");
    int repeat = t.at("repeat");
    Bytes want = Hex(t.at("digest"));
    std::string message;
    for (int i = 0; i < repeat; ++i) message += part;

    EXPECT_EQ(DigestBytes(Sha256::Hash(AsBytes(message))), want) << name;
    // Streaming in uneven pieces must agree with the one-shot digest.
    Sha256 h;
    std::size_t step = 1;
    for (std::size_t at = 0; at < message.size(); at += step, step = step * 3 + 1) {
      h.Update(AsBytes(std::string_view(message).substr(at, step)));
    }
    EXPECT_EQ(DigestBytes(h.Finish()), want) << name << " (streaming)";
    ++run;
  }
  EXPECT_EQ(run, 4);
}

// ------------------------------------------------------------- HMAC-SHA256

TEST(HmacSha256Wycheproof, AllTests) {
  json file = LoadJson(StandardVectorPath("wycheproof/hmac_sha256_test.json"));
  ASSERT_FALSE(file.is_discarded());
  ASSERT_TRUE(CheckWycheproofFile(file, "HMACSHA256", "mac_test_schema_v1.json"));
  const json& notes = file.at("notes");
  WycheproofCounts counts;
  for (const json& group : file.at("testGroups")) {
    ASSERT_TRUE(HasOnlyFields(group, {"type", "source", "keySize", "tagSize", "tests"}, "group"));
    ASSERT_TRUE(HasOnlyFields(group.at("source"), {"name", "version"}, "group source"));
    ASSERT_EQ(group.at("type"), "MacTest");
    std::size_t key_bytes = group.at("keySize").get<std::size_t>() / 8;
    std::size_t tag_bytes = group.at("tagSize").get<std::size_t>() / 8;
    for (const json& t : group.at("tests")) {
      ASSERT_TRUE(HasOnlyFields(t, {"tcId", "comment", "flags", "key", "msg", "tag", "result"}, TcId(t)));
      ASSERT_TRUE(HasOnlyFlags(t, notes, {"ModifiedTag", "Pseudorandom"}, TcId(t)));
      std::string result = ResultOf(t, counts);
      Bytes key = Hex(t.at("key"));
      Bytes tag = Hex(t.at("tag"));
      ASSERT_EQ(key.size(), key_bytes) << TcId(t);
      ASSERT_EQ(tag.size(), tag_bytes) << TcId(t);
      Sha256Digest mac = HmacSha256(key, Hex(t.at("msg")));
      // Truncated tags (tagSize 128) compare the leftmost bytes (RFC 2104 §5).
      bool match = ConstantTimeEquals(ByteSpan(mac.data(), tag_bytes), tag);
      EXPECT_EQ(match, result == "valid") << TcId(t) << " " << t.at("comment");
    }
  }
  EXPECT_EQ(counts.total(), file.at("numberOfTests").get<int>());
  EXPECT_EQ(counts.valid, 66);
  EXPECT_EQ(counts.invalid, 108);
  EXPECT_EQ(counts.acceptable, 0);
}

// ------------------------------------------------------------- HKDF-SHA256

TEST(HkdfRfc5869, AppendixATestCases1To3) {
  json file = LoadJson(RepoVectorPath("hkdf/rfc5869-hkdf-sha256.json"));
  ASSERT_FALSE(file.is_discarded());
  ASSERT_TRUE(HasOnlyFields(file, {"source", "tests"}, "file"));
  int run = 0;
  for (const json& t : file.at("tests")) {
    ASSERT_TRUE(HasOnlyFields(t, {"name", "ikm", "salt", "info", "length", "prk", "okm"}, "test"));
    std::string name = t.at("name");
    Bytes ikm = Hex(t.at("ikm"));
    Bytes salt = Hex(t.at("salt"));
    Bytes info = Hex(t.at("info"));
    std::size_t length = t.at("length");
    Bytes prk_want = Hex(t.at("prk"));
    Bytes okm_want = Hex(t.at("okm"));
    ASSERT_EQ(okm_want.size(), length) << name;

    SecretBytes prk = HkdfSha256Extract(salt, ikm);
    EXPECT_EQ(Bytes(prk.Expose().begin(), prk.Expose().end()), prk_want) << name;
    Result<SecretBytes> expanded = HkdfSha256Expand(prk.Expose(), info, length);
    ASSERT_THAT(expanded, IsOk()) << name;
    EXPECT_EQ(Bytes(expanded->Expose().begin(), expanded->Expose().end()), okm_want) << name;
    Result<SecretBytes> okm = HkdfSha256(ikm, salt, info, length);
    ASSERT_THAT(okm, IsOk()) << name;
    EXPECT_EQ(Bytes(okm->Expose().begin(), okm->Expose().end()), okm_want) << name;
    ++run;
  }
  EXPECT_EQ(run, 3);
}

TEST(HkdfWycheproof, AllTests) {
  json file = LoadJson(StandardVectorPath("wycheproof/hkdf_sha256_test.json"));
  ASSERT_FALSE(file.is_discarded());
  ASSERT_TRUE(CheckWycheproofFile(file, "HKDF-SHA-256", "hkdf_test_schema_v1.json"));
  const json& notes = file.at("notes");
  WycheproofCounts counts;
  for (const json& group : file.at("testGroups")) {
    ASSERT_TRUE(HasOnlyFields(group, {"type", "source", "keySize", "tests"}, "group"));
    ASSERT_TRUE(HasOnlyFields(group.at("source"), {"name", "version"}, "group source"));
    ASSERT_EQ(group.at("type"), "HkdfTest");
    std::size_t ikm_bytes = group.at("keySize").get<std::size_t>() / 8;
    for (const json& t : group.at("tests")) {
      ASSERT_TRUE(HasOnlyFields(t, {"tcId", "comment", "flags", "ikm", "salt", "info", "size", "okm", "result"},
                                TcId(t)));
      ASSERT_TRUE(HasOnlyFlags(t, notes, {"EmptySalt", "MaximalOutputSize", "Normal", "OutputCollision",
                                          "SizeTooLarge"},
                               TcId(t)));
      std::string result = ResultOf(t, counts);
      Bytes ikm = Hex(t.at("ikm"));
      ASSERT_EQ(ikm.size(), ikm_bytes) << TcId(t);
      std::size_t size = t.at("size");
      Result<SecretBytes> okm = HkdfSha256(ikm, Hex(t.at("salt")), Hex(t.at("info")), size);
      if (result == "valid") {
        ASSERT_THAT(okm, IsOk()) << TcId(t);
        EXPECT_EQ(Bytes(okm->Expose().begin(), okm->Expose().end()), Hex(t.at("okm"))) << TcId(t);
      } else {
        // The only invalid cases ask for more than 255 * HashLen bytes.
        EXPECT_TRUE(test_vectors::HasFlag(t, "SizeTooLarge")) << TcId(t);
        EXPECT_THAT(okm, HasCode(StatusCode::kInvalidArgument)) << TcId(t);
      }
    }
  }
  EXPECT_EQ(counts.total(), file.at("numberOfTests").get<int>());
  EXPECT_EQ(counts.valid, 83);
  EXPECT_EQ(counts.invalid, 3);
  EXPECT_EQ(counts.acceptable, 0);
}

TEST(Hkdf, ExpandRejectsShortPrk) {
  Bytes prk(31, 0x0b);
  EXPECT_THAT(HkdfSha256Expand(prk, {}, 32), HasCode(StatusCode::kInvalidArgument));
}

// ----------------------------------------------------------------- AES-GCM

TEST(AesGcmWycheproof, AllSupportedSizes) {
  json file = LoadJson(StandardVectorPath("wycheproof/aes_gcm_test.json"));
  ASSERT_FALSE(file.is_discarded());
  ASSERT_TRUE(CheckWycheproofFile(file, "AES-GCM", "aead_test_schema_v1.json"));
  const json& notes = file.at("notes");
  WycheproofCounts counts;
  int skipped_192_bit_key = 0;
  int skipped_other_iv = 0;
  for (const json& group : file.at("testGroups")) {
    ASSERT_TRUE(HasOnlyFields(group, {"type", "source", "keySize", "ivSize", "tagSize", "tests"}, "group"));
    ASSERT_TRUE(HasOnlyFields(group.at("source"), {"name", "version"}, "group source"));
    ASSERT_EQ(group.at("type"), "AeadTest");
    int key_bits = group.at("keySize");
    int iv_bits = group.at("ivSize");
    ASSERT_EQ(group.at("tagSize"), 128);
    // AesGcmSeal/Open support exactly 16- and 32-byte keys with a 12-byte
    // nonce; the other groups are counted, not silently dropped.
    bool supported = (key_bits == 128 || key_bits == 256) && iv_bits == 96;
    for (const json& t : group.at("tests")) {
      ASSERT_TRUE(HasOnlyFields(t, {"tcId", "comment", "flags", "key", "iv", "aad", "msg", "ct", "tag", "result"},
                                TcId(t)));
      ASSERT_TRUE(HasOnlyFlags(t, notes, {"CounterWrap", "Ktv", "LongIv", "ModifiedTag", "Pseudorandom", "SmallIv",
                                          "SpecialCase", "ZeroLengthIv"},
                               TcId(t)));
      if (!supported) {
        ++counts.skipped;
        if (key_bits == 192) {
          ++skipped_192_bit_key;
        } else {
          ++skipped_other_iv;
        }
        // A size AesGcmSeal does not support must be refused, not misused.
        Bytes key = Hex(t.at("key"));
        Bytes iv = Hex(t.at("iv"));
        Bytes msg = Hex(t.at("msg"));
        Bytes out(msg.size() + kAesGcmTagSize);
        EXPECT_THAT(AesGcmSeal(key, iv, Hex(t.at("aad")), msg, out), HasCode(StatusCode::kInvalidArgument))
            << TcId(t);
        continue;
      }
      std::string result = ResultOf(t, counts);
      Bytes key = Hex(t.at("key"));
      Bytes iv = Hex(t.at("iv"));
      Bytes aad = Hex(t.at("aad"));
      Bytes msg = Hex(t.at("msg"));
      Bytes ct_and_tag = Hex(t.at("ct"));
      Bytes tag = Hex(t.at("tag"));
      ct_and_tag.insert(ct_and_tag.end(), tag.begin(), tag.end());

      Bytes sealed(msg.size() + kAesGcmTagSize);
      ASSERT_THAT(AesGcmSeal(key, iv, aad, msg, sealed), IsOk()) << TcId(t);
      Bytes opened(ct_and_tag.size() - kAesGcmTagSize, 0xAA);
      Status open_status = AesGcmOpen(key, iv, aad, ct_and_tag, opened);
      if (result == "valid") {
        EXPECT_EQ(sealed, ct_and_tag) << TcId(t);
        ASSERT_THAT(open_status, IsOk()) << TcId(t);
        EXPECT_EQ(opened, msg) << TcId(t);
      } else {
        EXPECT_NE(sealed, ct_and_tag) << TcId(t);
        EXPECT_THAT(open_status, HasCode(StatusCode::kUnauthenticated)) << TcId(t);
        EXPECT_TRUE(AllZero(opened)) << TcId(t) << ": output not wiped after a failed open";
      }
    }
  }
  EXPECT_EQ(counts.total(), file.at("numberOfTests").get<int>());
  EXPECT_EQ(counts.valid, 79);
  EXPECT_EQ(counts.invalid, 54);
  EXPECT_EQ(counts.acceptable, 0);
  EXPECT_EQ(counts.skipped, 183);
  EXPECT_EQ(skipped_192_bit_key, 103);
  EXPECT_EQ(skipped_other_iv, 80);
}

// AEAD negative tests: each tampering must fail with Unauthenticated and
// leave no plaintext in the output buffer.
class AesGcmTamper : public ::testing::TestWithParam<std::size_t> {
 protected:
  void SetUp() override {
    key_.assign(GetParam(), 0);
    RandomBytes(key_);
    RandomBytes(nonce_);
    plaintext_ = ToBytes("model weights: 0123456789abcdef");
    sealed_.resize(plaintext_.size() + kAesGcmTagSize);
    ASSERT_THAT(AesGcmSeal(key_, nonce_, aad_, plaintext_, sealed_), IsOk());
  }
  Status Open(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan sealed) {
    out_.assign(sealed.size() >= kAesGcmTagSize ? sealed.size() - kAesGcmTagSize : 0, 0xAA);
    return AesGcmOpen(key, nonce, aad, sealed, out_);
  }
  Bytes key_;
  Bytes nonce_ = Bytes(kAesGcmNonceSize);
  Bytes aad_ = ToBytes("arca/chunk/7");
  Bytes plaintext_;
  Bytes sealed_;
  Bytes out_;
};

TEST_P(AesGcmTamper, UntamperedOpens) {
  ASSERT_THAT(Open(key_, nonce_, aad_, sealed_), IsOk());
  EXPECT_EQ(out_, plaintext_);
}

TEST_P(AesGcmTamper, FlippedTagByteIsRejectedAndOutputZeroed) {
  sealed_.back() ^= 0x01;
  EXPECT_THAT(Open(key_, nonce_, aad_, sealed_), HasCode(StatusCode::kUnauthenticated));
  EXPECT_TRUE(AllZero(out_));
}

TEST_P(AesGcmTamper, FlippedCiphertextByteIsRejectedAndOutputZeroed) {
  sealed_[3] ^= 0x80;
  EXPECT_THAT(Open(key_, nonce_, aad_, sealed_), HasCode(StatusCode::kUnauthenticated));
  EXPECT_TRUE(AllZero(out_));
}

TEST_P(AesGcmTamper, FlippedAadByteIsRejectedAndOutputZeroed) {
  aad_[0] ^= 0x01;
  EXPECT_THAT(Open(key_, nonce_, aad_, sealed_), HasCode(StatusCode::kUnauthenticated));
  EXPECT_TRUE(AllZero(out_));
}

TEST_P(AesGcmTamper, DroppedAadIsRejected) {
  EXPECT_THAT(Open(key_, nonce_, {}, sealed_), HasCode(StatusCode::kUnauthenticated));
  EXPECT_TRUE(AllZero(out_));
}

TEST_P(AesGcmTamper, WrongNonceIsRejected) {
  nonce_[11] ^= 0x01;
  EXPECT_THAT(Open(key_, nonce_, aad_, sealed_), HasCode(StatusCode::kUnauthenticated));
  EXPECT_TRUE(AllZero(out_));
}

TEST_P(AesGcmTamper, WrongKeyIsRejected) {
  key_[0] ^= 0x01;
  EXPECT_THAT(Open(key_, nonce_, aad_, sealed_), HasCode(StatusCode::kUnauthenticated));
  EXPECT_TRUE(AllZero(out_));
}

TEST_P(AesGcmTamper, TruncatedCiphertextIsRejected) {
  sealed_.pop_back();
  EXPECT_THAT(Open(key_, nonce_, aad_, sealed_), HasCode(StatusCode::kUnauthenticated));
  EXPECT_TRUE(AllZero(out_));
}

TEST_P(AesGcmTamper, ShorterThanTagIsRejected) {
  sealed_.resize(kAesGcmTagSize - 1);
  EXPECT_THAT(Open(key_, nonce_, aad_, sealed_), HasCode(StatusCode::kUnauthenticated));
}

TEST_P(AesGcmTamper, AppendedByteIsRejected) {
  sealed_.push_back(0);
  EXPECT_THAT(Open(key_, nonce_, aad_, sealed_), HasCode(StatusCode::kUnauthenticated));
  EXPECT_TRUE(AllZero(out_));
}

INSTANTIATE_TEST_SUITE_P(KeySizes, AesGcmTamper, ::testing::Values(16, 32),
                         [](const ::testing::TestParamInfo<std::size_t>& info) {
                           return "Aes" + std::to_string(info.param * 8);
                         });

TEST(AesGcm, RejectsUnsupportedSizes) {
  Bytes key(24), nonce(kAesGcmNonceSize), pt(4), out(pt.size() + kAesGcmTagSize);
  EXPECT_THAT(AesGcmSeal(key, nonce, {}, pt, out), HasCode(StatusCode::kInvalidArgument));
  key.resize(16);
  Bytes long_nonce(16);
  EXPECT_THAT(AesGcmSeal(key, long_nonce, {}, pt, out), HasCode(StatusCode::kInvalidArgument));
  Bytes short_out(pt.size());
  EXPECT_THAT(AesGcmSeal(key, nonce, {}, pt, short_out), HasCode(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace arca::crypto
