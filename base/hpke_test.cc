// Known-answer and negative tests for base/hpke.h: X25519 (RFC 7748 §5.2,
// §6.1, Wycheproof) and HPKE (RFC 9180 test vectors for
// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM / AES-256-GCM, modes
// base and psk).
#include "base/hpke.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "base/bytes.h"
#include "base/crypto.h"
#include "base/testing/status_matchers.h"
#include "base/testing/test_vectors.h"

namespace arca {
namespace {

using crypto::X25519;
using crypto::X25519KeyPair;
using nlohmann::json;
using test_vectors::CheckWycheproofFile;
using test_vectors::HasFlag;
using test_vectors::HasOnlyFields;
using test_vectors::HasOnlyFlags;
using test_vectors::Hex;
using test_vectors::LoadJson;
using test_vectors::RepoVectorPath;
using test_vectors::ResultOf;
using test_vectors::StandardVectorPath;
using test_vectors::TcId;
using test_vectors::WycheproofCounts;

Bytes B(const SecretBytes& s) { return Bytes(s.Expose().begin(), s.Expose().end()); }
template <std::size_t N>
Bytes B(const std::array<std::uint8_t, N>& a) {
  return Bytes(a.begin(), a.end());
}
Bytes ToBytes(std::string_view s) {
  ByteSpan b = AsBytes(s);
  return Bytes(b.begin(), b.end());
}

// ------------------------------------------------------------------- X25519

json LoadRfc7748() {
  json file = LoadJson(RepoVectorPath("x25519/rfc7748-x25519.json"));
  if (!file.is_discarded()) {
    EXPECT_TRUE(HasOnlyFields(file, {"source", "scalar_mult", "iterated", "diffie_hellman"}, "file"));
  }
  return file;
}

TEST(X25519Rfc7748, Section52ScalarMult) {
  json file = LoadRfc7748();
  ASSERT_FALSE(file.is_discarded());
  int run = 0;
  for (const json& t : file.at("scalar_mult")) {
    ASSERT_TRUE(HasOnlyFields(t, {"name", "scalar", "u_coordinate", "output"}, "scalar_mult"));
    Result<SecretBytes> out = X25519(Hex(t.at("scalar")), Hex(t.at("u_coordinate")));
    ASSERT_THAT(out, IsOk()) << t.at("name");
    EXPECT_EQ(B(*out), Hex(t.at("output"))) << t.at("name");
    ++run;
  }
  EXPECT_EQ(run, 2);
}

TEST(X25519Rfc7748, Section52Iterated) {
  json file = LoadRfc7748();
  ASSERT_FALSE(file.is_discarded());
  const json& it = file.at("iterated");
  ASSERT_TRUE(HasOnlyFields(it, {"start", "results"}, "iterated"));
  Bytes k = Hex(it.at("start"));
  Bytes u = k;
  int done = 0;
  int checked = 0;
  for (const json& r : it.at("results")) {
    ASSERT_TRUE(HasOnlyFields(r, {"iterations", "k"}, "iterated result"));
    int target = r.at("iterations");
    for (; done < target; ++done) {
      Result<SecretBytes> next = X25519(k, u);
      ASSERT_THAT(next, IsOk()) << "iteration " << done + 1;
      u = k;
      k = B(*next);
    }
    EXPECT_EQ(k, Hex(r.at("k"))) << "after " << target << " iterations";
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

TEST(X25519Rfc7748, Section61DiffieHellman) {
  json file = LoadRfc7748();
  ASSERT_FALSE(file.is_discarded());
  const json& dh = file.at("diffie_hellman");
  ASSERT_TRUE(HasOnlyFields(dh, {"alice_private", "alice_public", "bob_private", "bob_public", "shared"}, "dh"));
  Bytes a = Hex(dh.at("alice_private"));
  Bytes b = Hex(dh.at("bob_private"));
  auto a_pub = crypto::X25519PublicFromPrivate(a);
  auto b_pub = crypto::X25519PublicFromPrivate(b);
  ASSERT_THAT(a_pub, IsOk());
  ASSERT_THAT(b_pub, IsOk());
  EXPECT_EQ(B(*a_pub), Hex(dh.at("alice_public")));
  EXPECT_EQ(B(*b_pub), Hex(dh.at("bob_public")));
  Result<SecretBytes> k1 = X25519(a, B(*b_pub));
  Result<SecretBytes> k2 = X25519(b, B(*a_pub));
  ASSERT_THAT(k1, IsOk());
  ASSERT_THAT(k2, IsOk());
  EXPECT_EQ(B(*k1), Hex(dh.at("shared")));
  EXPECT_EQ(B(*k2), Hex(dh.at("shared")));
}

TEST(X25519Wycheproof, AllTests) {
  json file = LoadJson(StandardVectorPath("wycheproof/x25519_test.json"));
  ASSERT_FALSE(file.is_discarded());
  ASSERT_TRUE(CheckWycheproofFile(file, "XDH", "xdh_comp_schema_v1.json"));
  const json& notes = file.at("notes");
  WycheproofCounts counts;
  int refused_zero_shared = 0;
  for (const json& group : file.at("testGroups")) {
    ASSERT_TRUE(HasOnlyFields(group, {"type", "source", "curve", "tests"}, "group"));
    ASSERT_TRUE(HasOnlyFields(group.at("source"), {"name", "version"}, "group source"));
    ASSERT_EQ(group.at("type"), "XdhComp");
    ASSERT_EQ(group.at("curve"), "curve25519");
    for (const json& t : group.at("tests")) {
      ASSERT_TRUE(HasOnlyFields(t, {"tcId", "comment", "flags", "public", "private", "shared", "result"}, TcId(t)));
      ASSERT_TRUE(HasOnlyFlags(t, notes,
                               {"EdgeCaseMultiplication", "EdgeCasePrivateKey", "EdgeCaseShared", "Ktv",
                                "LowOrderPublic", "NonCanonicalPublic", "Normal", "SmallPublicKey",
                                "SpecialPublicKey", "Twist", "ZeroSharedSecret"},
                               TcId(t)));
      std::string result = ResultOf(t, counts);
      Result<SecretBytes> shared = X25519(Hex(t.at("private")), Hex(t.at("public")));
      if (result == "acceptable" && HasFlag(t, "ZeroSharedSecret")) {
        // RFC 7748 §6.1 / RFC 9180 §7.1.4: abort on an all-zero result.
        EXPECT_THAT(shared, HasCode(StatusCode::kInvalidArgument)) << TcId(t);
        ++refused_zero_shared;
      } else if (result == "valid" || result == "acceptable") {
        // Twist points and non-canonical u-coordinates are accepted and
        // must give the RFC 7748 result.
        ASSERT_THAT(shared, IsOk()) << TcId(t) << " " << t.at("comment");
        EXPECT_EQ(B(*shared), Hex(t.at("shared"))) << TcId(t);
      } else {
        EXPECT_FALSE(shared.ok()) << TcId(t);
      }
    }
  }
  EXPECT_EQ(counts.total(), file.at("numberOfTests").get<int>());
  EXPECT_EQ(counts.valid, 264);
  EXPECT_EQ(counts.acceptable, 254);
  EXPECT_EQ(counts.invalid, 0);
  EXPECT_EQ(refused_zero_shared, 31);
}

TEST(X25519, RejectsWrongSizes) {
  EXPECT_THAT(X25519(Bytes(31), Bytes(32, 9)), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(X25519(Bytes(32, 1), Bytes(33, 9)), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(crypto::X25519PublicFromPrivate(Bytes(16)), HasCode(StatusCode::kInvalidArgument));
}

TEST(X25519, GeneratedPairsAgree) {
  Result<X25519KeyPair> a = crypto::X25519GenerateKeyPair();
  Result<X25519KeyPair> b = crypto::X25519GenerateKeyPair();
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  auto a_pub = crypto::X25519PublicFromPrivate(a->private_key.Expose());
  ASSERT_THAT(a_pub, IsOk());
  EXPECT_EQ(*a_pub, a->public_key);
  Result<SecretBytes> k1 = X25519(a->private_key.Expose(), b->public_key);
  Result<SecretBytes> k2 = X25519(b->private_key.Expose(), a->public_key);
  ASSERT_THAT(k1, IsOk());
  ASSERT_THAT(k2, IsOk());
  EXPECT_EQ(B(*k1), B(*k2));
}

// -------------------------------------------------------------------- HPKE

TEST(HpkeRfc9180, AllVectors) {
  json file = LoadJson(StandardVectorPath("hpke/hpke-rfc9180-x25519-subset.json"));
  ASSERT_FALSE(file.is_discarded());
  ASSERT_TRUE(file.is_array());
  int entries = 0, encryptions = 0, exports = 0, psk_entries = 0;
  for (const json& v : file) {
    ASSERT_TRUE(HasOnlyFields(v, {"mode", "kem_id", "kdf_id", "aead_id", "info", "ikmR", "ikmE", "skRm", "skEm",
                                  "pkRm", "pkEm", "enc", "shared_secret", "key_schedule_context", "secret", "key",
                                  "base_nonce", "exporter_secret", "encryptions", "exports", "psk", "psk_id"},
                              "vector"));
    int mode = v.at("mode");
    SCOPED_TRACE("vector " + std::to_string(entries) + " mode " + std::to_string(mode) + " aead " +
                 v.at("aead_id").dump());
    ASSERT_EQ(v.at("kem_id"), hpke::kKemId);
    ASSERT_EQ(v.at("kdf_id"), hpke::kKdfId);
    int aead_id = v.at("aead_id");
    ASSERT_TRUE(aead_id == 1 || aead_id == 2);
    hpke::Aead aead = static_cast<hpke::Aead>(aead_id);
    Bytes info = Hex(v.at("info"));
    Bytes psk_bytes, psk_id;
    std::optional<hpke::Psk> psk;
    if (mode == 1) {
      psk_bytes = Hex(v.at("psk"));
      psk_id = Hex(v.at("psk_id"));
      psk = hpke::Psk{psk_bytes, psk_id};
      ++psk_entries;
    } else {
      ASSERT_EQ(mode, 0);
      ASSERT_FALSE(v.contains("psk") || v.contains("psk_id"));
    }

    // DeriveKeyPair (§7.1.3) for both parties.
    Result<X25519KeyPair> r = hpke::DeriveKeyPair(Hex(v.at("ikmR")));
    Result<X25519KeyPair> e = hpke::DeriveKeyPair(Hex(v.at("ikmE")));
    ASSERT_THAT(r, IsOk());
    ASSERT_THAT(e, IsOk());
    EXPECT_EQ(B(r->private_key), Hex(v.at("skRm")));
    EXPECT_EQ(B(r->public_key), Hex(v.at("pkRm")));
    EXPECT_EQ(B(e->private_key), Hex(v.at("skEm")));
    EXPECT_EQ(B(e->public_key), Hex(v.at("pkEm")));
    Bytes pk_r = Hex(v.at("pkRm"));
    Bytes sk_r = Hex(v.at("skRm"));
    Bytes enc = Hex(v.at("enc"));
    Bytes shared = Hex(v.at("shared_secret"));

    // Encap / Decap (§4.1).
    Result<hpke::Encapsulation> encap = hpke::EncapWithIkmE(pk_r, Hex(v.at("ikmE")));
    ASSERT_THAT(encap, IsOk());
    EXPECT_EQ(encap->enc, enc);
    EXPECT_EQ(B(encap->shared_secret), shared);
    Result<SecretBytes> decap = hpke::Decap(enc, sk_r);
    ASSERT_THAT(decap, IsOk());
    EXPECT_EQ(B(*decap), shared);

    // Key schedule (§5.1).
    Result<hpke::KeySchedule> ks = hpke::DeriveKeySchedule(aead, shared, info, psk);
    ASSERT_THAT(ks, IsOk());
    EXPECT_EQ(ks->mode, static_cast<hpke::Mode>(mode));
    EXPECT_EQ(ks->key_schedule_context, Hex(v.at("key_schedule_context")));
    EXPECT_EQ(B(ks->secret), Hex(v.at("secret")));
    EXPECT_EQ(B(ks->key), Hex(v.at("key")));
    EXPECT_EQ(ks->base_nonce, Hex(v.at("base_nonce")));
    EXPECT_EQ(B(ks->exporter_secret), Hex(v.at("exporter_secret")));

    // Sequences of encryptions (§5.2), sender and recipient in lockstep.
    Result<hpke::SenderContext> sender = hpke::SetupSenderWithIkmE(aead, pk_r, info, Hex(v.at("ikmE")), psk);
    Result<hpke::RecipientContext> recipient = hpke::SetupRecipient(aead, enc, sk_r, info, psk);
    ASSERT_THAT(sender, IsOk());
    ASSERT_THAT(recipient, IsOk());
    EXPECT_EQ(sender->enc(), enc);
    std::uint64_t seq = 0;
    for (const json& x : v.at("encryptions")) {
      ASSERT_TRUE(HasOnlyFields(x, {"aad", "ct", "nonce", "pt"}, "encryption"));
      Bytes aad = Hex(x.at("aad"));
      Bytes pt = Hex(x.at("pt"));
      Bytes ct = Hex(x.at("ct"));
      EXPECT_EQ(B(sender->ComputeNonce(seq)), Hex(x.at("nonce"))) << "seq " << seq;
      EXPECT_EQ(sender->sequence_number(), seq);
      Result<Bytes> sealed = sender->Seal(aad, pt);
      ASSERT_THAT(sealed, IsOk()) << "seq " << seq;
      EXPECT_EQ(*sealed, ct) << "seq " << seq;
      Result<SecretBytes> opened = recipient->Open(aad, ct);
      ASSERT_THAT(opened, IsOk()) << "seq " << seq;
      EXPECT_EQ(B(*opened), pt) << "seq " << seq;
      if (seq == 0) {
        // Single-shot Open (§6.1) is setup plus the first Open.
        Result<SecretBytes> one = hpke::Open(aead, enc, sk_r, info, aad, ct, psk);
        ASSERT_THAT(one, IsOk());
        EXPECT_EQ(B(*one), pt);
      }
      ++seq;
      ++encryptions;
    }
    EXPECT_EQ(seq, 257u);

    // Secret export (§5.3) from both sides.
    for (const json& x : v.at("exports")) {
      ASSERT_TRUE(HasOnlyFields(x, {"exporter_context", "L", "exported_value"}, "export"));
      Bytes context = Hex(x.at("exporter_context"));
      std::size_t length = x.at("L");
      Result<SecretBytes> s = sender->Export(context, length);
      Result<SecretBytes> o = recipient->Export(context, length);
      ASSERT_THAT(s, IsOk());
      ASSERT_THAT(o, IsOk());
      EXPECT_EQ(B(*s), Hex(x.at("exported_value")));
      EXPECT_EQ(B(*o), Hex(x.at("exported_value")));
      ++exports;
    }
    ++entries;
  }
  EXPECT_EQ(entries, 4);
  EXPECT_EQ(psk_entries, 2);
  EXPECT_EQ(encryptions, 4 * 257);
  EXPECT_EQ(exports, 4 * 3);
}

// HpkeSession sets up a random recipient and a matching sender.
class HpkeSession : public ::testing::TestWithParam<hpke::Aead> {
 protected:
  void SetUp() override {
    Result<X25519KeyPair> r = crypto::X25519GenerateKeyPair();
    ASSERT_THAT(r, IsOk());
    recipient_ = std::move(*r);
  }
  ByteSpan sk() const { return recipient_.private_key.Expose(); }
  ByteSpan pk() const { return recipient_.public_key; }

  X25519KeyPair recipient_;
  Bytes info_ = ToBytes("arca model key v1");
  Bytes psk_ = Bytes(32, 0x42);
  Bytes psk_id_ = ToBytes("registry-psk-1");
};

TEST_P(HpkeSession, SingleShotRoundTrip) {
  Result<hpke::Sealed> sealed = hpke::Seal(GetParam(), pk(), info_, ToBytes("aad"), ToBytes("secret"));
  ASSERT_THAT(sealed, IsOk());
  EXPECT_EQ(sealed->enc.size(), hpke::kEncSize);
  EXPECT_EQ(sealed->ciphertext.size(), 6 + hpke::kTagSize);
  Result<SecretBytes> opened = hpke::Open(GetParam(), sealed->enc, sk(), info_, ToBytes("aad"), sealed->ciphertext);
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(ToString(opened->Expose()), "secret");
}

TEST_P(HpkeSession, FreshEphemeralEachSetup) {
  Result<hpke::Sealed> a = hpke::Seal(GetParam(), pk(), info_, {}, ToBytes("m"));
  Result<hpke::Sealed> b = hpke::Seal(GetParam(), pk(), info_, {}, ToBytes("m"));
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(a->enc, b->enc);
  EXPECT_NE(a->ciphertext, b->ciphertext);
}

TEST_P(HpkeSession, TamperedCiphertextIsUnauthenticated) {
  Result<hpke::Sealed> sealed = hpke::Seal(GetParam(), pk(), info_, {}, ToBytes("secret"));
  ASSERT_THAT(sealed, IsOk());
  sealed->ciphertext[0] ^= 1;
  EXPECT_THAT(hpke::Open(GetParam(), sealed->enc, sk(), info_, {}, sealed->ciphertext),
              HasCode(StatusCode::kUnauthenticated));
}

TEST_P(HpkeSession, WrongInfoIsUnauthenticated) {
  Result<hpke::Sealed> sealed = hpke::Seal(GetParam(), pk(), info_, {}, ToBytes("secret"));
  ASSERT_THAT(sealed, IsOk());
  EXPECT_THAT(hpke::Open(GetParam(), sealed->enc, sk(), ToBytes("other"), {}, sealed->ciphertext),
              HasCode(StatusCode::kUnauthenticated));
}

TEST_P(HpkeSession, TamperedEncIsUnauthenticated) {
  Result<hpke::Sealed> sealed = hpke::Seal(GetParam(), pk(), info_, {}, ToBytes("secret"));
  ASSERT_THAT(sealed, IsOk());
  sealed->enc[5] ^= 1;
  EXPECT_THAT(hpke::Open(GetParam(), sealed->enc, sk(), info_, {}, sealed->ciphertext),
              HasCode(StatusCode::kUnauthenticated));
}

TEST_P(HpkeSession, WrongRecipientKeyIsUnauthenticated) {
  Result<hpke::Sealed> sealed = hpke::Seal(GetParam(), pk(), info_, {}, ToBytes("secret"));
  ASSERT_THAT(sealed, IsOk());
  Result<X25519KeyPair> other = crypto::X25519GenerateKeyPair();
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT(hpke::Open(GetParam(), sealed->enc, other->private_key.Expose(), info_, {}, sealed->ciphertext),
              HasCode(StatusCode::kUnauthenticated));
}

TEST_P(HpkeSession, WrongAeadIsRefused) {
  hpke::Aead other = GetParam() == hpke::Aead::kAes128Gcm ? hpke::Aead::kAes256Gcm : hpke::Aead::kAes128Gcm;
  Result<hpke::Sealed> sealed = hpke::Seal(GetParam(), pk(), info_, {}, ToBytes("secret"));
  ASSERT_THAT(sealed, IsOk());
  EXPECT_THAT(hpke::Open(other, sealed->enc, sk(), info_, {}, sealed->ciphertext),
              HasCode(StatusCode::kUnauthenticated));
}

TEST_P(HpkeSession, FailedOpenKeepsSequenceNumber) {
  Result<hpke::SenderContext> sender = hpke::SetupSender(GetParam(), pk(), info_);
  ASSERT_THAT(sender, IsOk());
  Result<hpke::RecipientContext> recipient = hpke::SetupRecipient(GetParam(), sender->enc(), sk(), info_);
  ASSERT_THAT(recipient, IsOk());
  Result<Bytes> c0 = sender->Seal(ToBytes("aad0"), ToBytes("m0"));
  Result<Bytes> c1 = sender->Seal(ToBytes("aad1"), ToBytes("m1"));
  ASSERT_THAT(c0, IsOk());
  ASSERT_THAT(c1, IsOk());
  EXPECT_EQ(sender->sequence_number(), 2u);
  // Wrong AAD, then out of order: both refused, neither advances the count.
  EXPECT_THAT(recipient->Open(ToBytes("aad1"), *c0), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(recipient->Open(ToBytes("aad1"), *c1), HasCode(StatusCode::kUnauthenticated));
  EXPECT_EQ(recipient->sequence_number(), 0u);
  Result<SecretBytes> m0 = recipient->Open(ToBytes("aad0"), *c0);
  ASSERT_THAT(m0, IsOk());
  EXPECT_EQ(ToString(m0->Expose()), "m0");
  // Replaying message 0 in position 1 fails.
  EXPECT_THAT(recipient->Open(ToBytes("aad0"), *c0), HasCode(StatusCode::kUnauthenticated));
  Result<SecretBytes> m1 = recipient->Open(ToBytes("aad1"), *c1);
  ASSERT_THAT(m1, IsOk());
  EXPECT_EQ(ToString(m1->Expose()), "m1");
}

TEST_P(HpkeSession, TruncatedCiphertextIsUnauthenticated) {
  Result<hpke::SenderContext> sender = hpke::SetupSender(GetParam(), pk(), info_);
  ASSERT_THAT(sender, IsOk());
  Result<hpke::RecipientContext> recipient = hpke::SetupRecipient(GetParam(), sender->enc(), sk(), info_);
  ASSERT_THAT(recipient, IsOk());
  Result<Bytes> c = sender->Seal({}, ToBytes("m"));
  ASSERT_THAT(c, IsOk());
  EXPECT_THAT(recipient->Open({}, ByteSpan(*c).first(hpke::kTagSize - 1)), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(recipient->Open({}, ByteSpan(*c).first(c->size() - 1)), HasCode(StatusCode::kUnauthenticated));
}

TEST_P(HpkeSession, SequenceNumberExhaustionIsRefused) {
  Result<hpke::SenderContext> sender = hpke::SetupSender(GetParam(), pk(), info_);
  ASSERT_THAT(sender, IsOk());
  Result<hpke::RecipientContext> recipient = hpke::SetupRecipient(GetParam(), sender->enc(), sk(), info_);
  ASSERT_THAT(recipient, IsOk());
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  sender->SetSequenceNumberForTesting(kMax - 1);
  recipient->SetSequenceNumberForTesting(kMax - 1);
  Result<Bytes> last = sender->Seal({}, ToBytes("last"));
  ASSERT_THAT(last, IsOk());
  EXPECT_THAT(recipient->Open({}, *last), IsOk());
  EXPECT_THAT(sender->Seal({}, ToBytes("one too many")), HasCode(StatusCode::kResourceExhausted));
  EXPECT_THAT(recipient->Open({}, *last), HasCode(StatusCode::kResourceExhausted));
  EXPECT_EQ(sender->sequence_number(), kMax);
}

TEST_P(HpkeSession, PskRoundTrip) {
  hpke::Psk psk{psk_, psk_id_};
  Result<hpke::Sealed> sealed = hpke::Seal(GetParam(), pk(), info_, {}, ToBytes("secret"), psk);
  ASSERT_THAT(sealed, IsOk());
  Result<SecretBytes> opened = hpke::Open(GetParam(), sealed->enc, sk(), info_, {}, sealed->ciphertext, psk);
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(ToString(opened->Expose()), "secret");
}

TEST_P(HpkeSession, PskMismatchIsUnauthenticated) {
  hpke::Psk psk{psk_, psk_id_};
  Result<hpke::Sealed> sealed = hpke::Seal(GetParam(), pk(), info_, {}, ToBytes("secret"), psk);
  ASSERT_THAT(sealed, IsOk());
  // Recipient in base mode.
  EXPECT_THAT(hpke::Open(GetParam(), sealed->enc, sk(), info_, {}, sealed->ciphertext),
              HasCode(StatusCode::kUnauthenticated));
  // Different PSK, same id.
  Bytes other_psk(32, 0x43);
  EXPECT_THAT(hpke::Open(GetParam(), sealed->enc, sk(), info_, {}, sealed->ciphertext, hpke::Psk{other_psk, psk_id_}),
              HasCode(StatusCode::kUnauthenticated));
  // Same PSK, different id.
  Bytes other_id = ToBytes("registry-psk-2");
  EXPECT_THAT(hpke::Open(GetParam(), sealed->enc, sk(), info_, {}, sealed->ciphertext, hpke::Psk{psk_, other_id}),
              HasCode(StatusCode::kUnauthenticated));
}

TEST_P(HpkeSession, PskInputsAreValidated) {
  Bytes short_psk(31, 1);
  EXPECT_THAT(hpke::SetupSender(GetParam(), pk(), info_, hpke::Psk{short_psk, psk_id_}),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(hpke::SetupSender(GetParam(), pk(), info_, hpke::Psk{psk_, {}}), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(hpke::SetupSender(GetParam(), pk(), info_, hpke::Psk{{}, psk_id_}),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(hpke::SetupRecipient(GetParam(), Bytes(32, 9), sk(), info_, hpke::Psk{psk_, {}}),
              HasCode(StatusCode::kInvalidArgument));
}

TEST_P(HpkeSession, ExportLengthLimit) {
  Result<hpke::SenderContext> sender = hpke::SetupSender(GetParam(), pk(), info_);
  ASSERT_THAT(sender, IsOk());
  EXPECT_THAT(sender->Export(ToBytes("ctx"), 255 * hpke::kHashSize), IsOk());
  EXPECT_THAT(sender->Export(ToBytes("ctx"), 255 * hpke::kHashSize + 1), HasCode(StatusCode::kInvalidArgument));
  Result<SecretBytes> a = sender->Export(ToBytes("a"), 32);
  Result<SecretBytes> b = sender->Export(ToBytes("b"), 32);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(B(*a), B(*b));
}

TEST_P(HpkeSession, SmallOrderPointsAreRefused) {
  // u = 0 and u = 1 are small-order points: X25519 with them is all zero.
  Bytes zero(32, 0);
  Bytes one(32, 0);
  one[0] = 1;
  for (const Bytes& bad : {zero, one}) {
    EXPECT_THAT(hpke::SetupSender(GetParam(), bad, info_), HasCode(StatusCode::kInvalidArgument));
    EXPECT_THAT(hpke::SetupRecipient(GetParam(), bad, sk(), info_), HasCode(StatusCode::kInvalidArgument));
    EXPECT_THAT(hpke::Decap(bad, sk()), HasCode(StatusCode::kInvalidArgument));
  }
}

TEST_P(HpkeSession, WrongSizesAreRefused) {
  EXPECT_THAT(hpke::SetupSender(GetParam(), Bytes(31, 9), info_), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(hpke::SetupRecipient(GetParam(), Bytes(33, 9), sk(), info_), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(hpke::SetupRecipient(GetParam(), Bytes(32, 9), Bytes(16), info_),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(hpke::DeriveKeyPair({}), HasCode(StatusCode::kInvalidArgument));
}

INSTANTIATE_TEST_SUITE_P(Aeads, HpkeSession, ::testing::Values(hpke::Aead::kAes128Gcm, hpke::Aead::kAes256Gcm),
                         [](const ::testing::TestParamInfo<hpke::Aead>& info) {
                           return info.param == hpke::Aead::kAes128Gcm ? "Aes128Gcm" : "Aes256Gcm";
                         });

TEST(HpkeSuite, Identifiers) {
  EXPECT_EQ(hpke::KemSuiteId(), (Bytes{'K', 'E', 'M', 0x00, 0x20}));
  EXPECT_EQ(hpke::HpkeSuiteId(hpke::Aead::kAes256Gcm), (Bytes{'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01, 0x00, 0x02}));
  EXPECT_EQ(hpke::KeySize(hpke::Aead::kAes128Gcm), 16u);
  EXPECT_EQ(hpke::KeySize(hpke::Aead::kAes256Gcm), 32u);
}

TEST(HpkeSuite, UnknownAeadIsRefused) {
  Bytes shared(32, 7);
  EXPECT_THAT(hpke::DeriveKeySchedule(static_cast<hpke::Aead>(3), shared, {}, std::nullopt),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(hpke::DeriveKeySchedule(hpke::Aead::kAes128Gcm, Bytes(31), {}, std::nullopt),
              HasCode(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace arca
