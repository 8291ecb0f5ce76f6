// Signed-note tests. Vectors: shared/vectors/standards/c2sp-notes/ (copied
// from the C2SP spec texts signed-note.md, tlog-checkpoint.md and
// tlog-cosignature.md; MANIFEST.md §5 says what each must yield).
// Spec: https://c2sp.org/signed-note, https://c2sp.org/tlog-cosignature.
#include "tlog/note.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/testing/status_matchers.h"
#include "base/testing/test_vectors.h"

namespace arca::tlog {
namespace {

std::string ReadVector(const std::string& name) {
  std::ifstream in(test_vectors::StandardVectorPath("c2sp-notes/" + name), std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ExampleVkey() {
  std::string v = ReadVector("signed-note-example.vkey");
  EXPECT_FALSE(v.empty());
  if (!v.empty() && v.back() == '\n') v.pop_back();
  return v;
}

TEST(NoteVectors, SignedNoteExampleVerifiesWithItsKey) {
  auto key = NoteVerifier::Parse(ExampleVkey());
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->name(), "example.com/foo");
  EXPECT_EQ(key->key_id(), 0x530d903au);
  EXPECT_EQ(key->type(), NoteSignatureType::kEd25519);
  EXPECT_EQ(key->ToString(), ExampleVkey());

  const std::string msg = ReadVector("signed-note-example.note");
  auto note = ParseNote(msg);
  ASSERT_THAT(note, IsOk());
  EXPECT_EQ(note->text, "This is an example message.\n");
  ASSERT_EQ(note->signatures.size(), 1u);
  EXPECT_EQ(note->signatures[0].key_id, 0x530d903au);
  auto ser = SerializeNote(*note);
  ASSERT_THAT(ser, IsOk());
  EXPECT_EQ(*ser, msg);

  const std::vector<NoteVerifier> known{*key};
  auto v = OpenNote(msg, known);
  ASSERT_THAT(v, IsOk());
  ASSERT_EQ(v->verified.size(), 1u);
  EXPECT_EQ(v->verified[0].name, "example.com/foo");
  EXPECT_EQ(v->unknown, 0u);
}

TEST(NoteVectors, EveryFlippedByteOfTheExampleIsRefused) {
  auto key = NoteVerifier::Parse(ExampleVkey());
  ASSERT_THAT(key, IsOk());
  const std::vector<NoteVerifier> known{*key};
  const std::string msg = ReadVector("signed-note-example.note");
  for (std::size_t i = 0; i < msg.size(); ++i) {
    for (std::uint8_t bit : {0x01, 0x20, 0x80}) {
      std::string bad = msg;
      bad[i] = static_cast<char>(bad[i] ^ bit);
      EXPECT_FALSE(OpenNote(bad, known).ok()) << "byte " << i << " ^ " << int(bit);
    }
  }
  for (std::size_t n = 0; n < msg.size(); ++n) {
    EXPECT_FALSE(OpenNote(msg.substr(0, n), known).ok()) << "truncated to " << n;
  }
}

TEST(NoteVectors, QuasimodoParsesButNoKnownKeySigned) {
  const std::string msg = ReadVector("signed-note-intro-quasimodo.note");
  auto note = ParseNote(msg);
  ASSERT_THAT(note, IsOk());
  // Multi-paragraph, non-ASCII text: the last blank line separates.
  EXPECT_EQ(note->text, "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \xC3\xA8 subito sera.\n");
  ASSERT_EQ(note->signatures.size(), 1u);
  EXPECT_EQ(note->signatures[0].name, "quasimodo.example/salvatore");
  auto key = NoteVerifier::Parse(ExampleVkey());
  ASSERT_THAT(key, IsOk());
  const std::vector<NoteVerifier> known{*key};
  EXPECT_THAT(OpenNote(msg, known), HasCodeAndMessage(StatusCode::kUnauthenticated, "unknown-key"));
  EXPECT_EQ(*SerializeNote(*note), msg);
}

TEST(NoteVectors, CheckpointExampleSignature) {
  auto note = ParseNote(ReadVector("tlog-checkpoint-example.note"));
  ASSERT_THAT(note, IsOk());
  EXPECT_EQ(note->text, "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
  ASSERT_EQ(note->signatures.size(), 1u);
  EXPECT_EQ(note->signatures[0].name, "example.com/behind-the-sofa");
  EXPECT_EQ(note->signatures[0].key_id, 0x033de0aeu);
  EXPECT_EQ(note->signatures[0].signature.size(), 64u);
}

TEST(NoteVectors, CosignatureExampleAndItsSignedMessage) {
  auto note = ParseNote(ReadVector("tlog-cosignature-example.note"));
  ASSERT_THAT(note, IsOk());
  ASSERT_EQ(note->signatures.size(), 2u);
  const NoteSignature& w = note->signatures[1];
  EXPECT_EQ(w.name, "witness.example.com/w1");
  EXPECT_EQ(w.key_id, 0x8d66cf3fu);
  ASSERT_EQ(w.signature.size(), 72u);
  std::uint64_t t = 0;
  for (int i = 0; i < 8; ++i) t = (t << 8) | w.signature[i];
  EXPECT_EQ(t, 1679315147u);
  EXPECT_EQ(CosignatureV1Message(note->text, t), ReadVector("tlog-cosignature-v1-signed-message.txt"));
}

TEST(NoteKeys, KeyIdFormulaMatchesTheExample) {
  auto key = NoteVerifier::Parse(ExampleVkey());
  ASSERT_THAT(key, IsOk());
  auto raw = Base64Decode(ExampleVkey().substr(ExampleVkey().rfind('+') + 1));
  ASSERT_THAT(raw, IsOk());
  EXPECT_EQ(NoteKeyId("example.com/foo", NoteSignatureType::kEd25519, ByteSpan(*raw).subspan(1)), 0x530d903au);
  // Same key under type 0x04 has a different ID (domain separation).
  EXPECT_NE(NoteKeyId("example.com/foo", NoteSignatureType::kCosignatureV1, ByteSpan(*raw).subspan(1)), 0x530d903au);
}

TEST(NoteKeys, VerifierKeyRefusals) {
  const std::string good = ExampleVkey();
  EXPECT_THAT(NoteVerifier::Parse("example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "does not match"));
  EXPECT_THAT(NoteVerifier::Parse("example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "hex"));
  EXPECT_THAT(NoteVerifier::Parse("example.com/foo+530d903a"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(NoteVerifier::Parse("+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "name"));
  EXPECT_THAT(NoteVerifier::Parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2"),
              HasCode(StatusCode::kInvalidArgument));
  // Type 0x02 (ECDSA) is not supported: change the type byte.
  EXPECT_THAT(NoteVerifier::Parse("example.com/foo+530d903a+AuyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k="),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(NoteVerifier::Parse(good + "+x"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(NoteVerifier::Parse(good + "\n"), HasCode(StatusCode::kInvalidArgument));
}

TEST(NoteSigning, SignVerifyAndSignerKeyRoundTrip) {
  auto signer = NoteSigner::Generate("arca.example/log", NoteSignatureType::kEd25519);
  ASSERT_THAT(signer, IsOk());
  const SecretBytes skey = signer->ToSecretString();
  const std::string skey_text(reinterpret_cast<const char*>(skey.Expose().data()), skey.size());
  EXPECT_EQ(skey_text.rfind("PRIVATE+KEY+arca.example/log+", 0), 0u);
  auto again = NoteSigner::Parse(skey_text);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->verifier().ToString(), signer->verifier().ToString());
  auto reparsed_vkey = NoteVerifier::Parse(signer->verifier().ToString());
  ASSERT_THAT(reparsed_vkey, IsOk());

  Note note{"hello\n", {}};
  auto sig = again->Sign(note.text);
  ASSERT_THAT(sig, IsOk());
  note.signatures.push_back(*sig);
  // An unknown signer alongside: ignored but counted.
  auto other = NoteSigner::Generate("other.example/k", NoteSignatureType::kEd25519);
  ASSERT_THAT(other, IsOk());
  note.signatures.push_back(*other->Sign(note.text));
  auto msg = SerializeNote(note);
  ASSERT_THAT(msg, IsOk());
  const std::vector<NoteVerifier> known{*reparsed_vkey};
  auto v = OpenNote(*msg, known);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->verified.size(), 1u);
  EXPECT_EQ(v->unknown, 1u);

  // The same known key twice: refused.
  note.signatures.push_back(*sig);
  EXPECT_THAT(VerifyNote(note, known), HasCodeAndMessage(StatusCode::kInvalidArgument, "two signatures"));
  // A known key whose signature fails: the whole note is refused.
  Note forged{"hello!\n", {*sig}};
  EXPECT_THAT(VerifyNote(forged, known), HasCodeAndMessage(StatusCode::kUnauthenticated, "bad-signature"));
  // Same name, other key ID: unknown, so no trusted signature.
  NoteSignature renamed = *sig;
  renamed.key_id ^= 1;
  EXPECT_THAT(VerifyNote(Note{"hello\n", {renamed}}, known),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "unknown-key"));
  EXPECT_THAT(signer->Cosign("x\n", 1), HasCode(StatusCode::kFailedPrecondition));
}

TEST(NoteSigning, SignerKeyRefusals) {
  EXPECT_THAT(NoteSigner::Parse("PRIVATE+KEY+a+00000000"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(NoteSigner::Parse("PUBLIC+KEY+a+00000000+AQ=="), HasCode(StatusCode::kInvalidArgument));
  auto signer = NoteSigner::Generate("arca.example/log", NoteSignatureType::kEd25519);
  ASSERT_THAT(signer, IsOk());
  std::string text(reinterpret_cast<const char*>(signer->ToSecretString().Expose().data()),
                   signer->ToSecretString().size());
  std::string wrong_id = text;
  wrong_id[std::string("PRIVATE+KEY+arca.example/log+").size()] ^= 1;
  auto r = NoteSigner::Parse(wrong_id);
  EXPECT_FALSE(r.ok());
  // The error never echoes the key text. Slice by position: '+' is a base64
  // character, so "after the last '+'" was empty in 1 run of 64.
  const std::string key_b64 = text.substr(std::string("PRIVATE+KEY+arca.example/log+").size() + 8 + 1);
  ASSERT_GE(key_b64.size(), 40u);
  EXPECT_EQ(r.status().message().find(key_b64), std::string::npos);
}

TEST(NoteSigning, CosignatureV1RoundTrip) {
  auto witness = NoteSigner::Generate("witness.example/w1", NoteSignatureType::kCosignatureV1);
  ASSERT_THAT(witness, IsOk());
  const std::string text = "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  auto sig = witness->Cosign(text, 1679315147);
  ASSERT_THAT(sig, IsOk());
  ASSERT_EQ(sig->signature.size(), 72u);
  auto v = witness->verifier().Verify(text, sig->signature);
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->timestamp, 1679315147);
  // Changing the timestamp bytes breaks the signature (it is signed).
  Bytes changed = sig->signature;
  changed[7] ^= 1;
  EXPECT_THAT(witness->verifier().Verify(text, changed), HasCodeAndMessage(StatusCode::kUnauthenticated, "bad-signature"));
  EXPECT_THAT(witness->Sign(text), HasCode(StatusCode::kFailedPrecondition));
  auto vk = NoteVerifier::Parse(witness->verifier().ToString());
  ASSERT_THAT(vk, IsOk());
  EXPECT_EQ(vk->type(), NoteSignatureType::kCosignatureV1);
}

TEST(NoteParse, NamedRefusals) {
  const std::string sig = "\xE2\x80\x94 k Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
  EXPECT_THAT(ParseNote("text\n\n" + sig), IsOk());
  EXPECT_THAT(ParseNote("text\n" + sig), HasCodeAndMessage(StatusCode::kInvalidArgument, "blank line"));
  EXPECT_THAT(ParseNote("text\n\n" + sig.substr(0, sig.size() - 1)), HasCodeAndMessage(StatusCode::kInvalidArgument, "newline"));
  EXPECT_THAT(ParseNote("te\txt\n\n" + sig), HasCodeAndMessage(StatusCode::kInvalidArgument, "control"));
  EXPECT_THAT(ParseNote("te\xC0\xAFxt\n\n" + sig), HasCodeAndMessage(StatusCode::kInvalidArgument, "UTF-8"));
  EXPECT_THAT(ParseNote("text\n\n- k AAAAAAA=\n"), HasCodeAndMessage(StatusCode::kInvalidArgument, "em dash"));
  EXPECT_THAT(ParseNote("text\n\n\xE2\x80\x94 k+1 AAAAAAA=\n"), HasCodeAndMessage(StatusCode::kInvalidArgument, "key name"));
  EXPECT_THAT(ParseNote("text\n\n\xE2\x80\x94 k\xC2\xA0x AAAAAAA=\n"), HasCodeAndMessage(StatusCode::kInvalidArgument, "key name"));
  EXPECT_THAT(ParseNote("text\n\n\xE2\x80\x94 k AAAAAA\n"), HasCodeAndMessage(StatusCode::kInvalidArgument, "base64"));
  EXPECT_THAT(ParseNote("text\n\n\xE2\x80\x94 k AAAAAA_-\n"), HasCodeAndMessage(StatusCode::kInvalidArgument, "base64"));
  EXPECT_THAT(ParseNote("text\n\n\xE2\x80\x94 k AAAAAA==\n"), HasCodeAndMessage(StatusCode::kInvalidArgument, "shorter"));
  EXPECT_THAT(ParseNote("text\n\n"), HasCodeAndMessage(StatusCode::kInvalidArgument, "no signature"));
  EXPECT_THAT(ParseNote("text\n\n" + sig + "\n"), HasCode(StatusCode::kInvalidArgument));
}

TEST(NoteParse, Limits) {
  const std::string line = "\xE2\x80\x94 k AAAAAAA=\n";
  std::string sixteen = "t\n\n";
  for (int i = 0; i < 16; ++i) sixteen += line;
  EXPECT_THAT(ParseNote(sixteen), IsOk());  // the spec's floor
  std::string many = "t\n\n";
  for (int i = 0; i < 65; ++i) many += line;
  EXPECT_THAT(ParseNote(many), HasCodeAndMessage(StatusCode::kResourceExhausted, "signatures"));
  EXPECT_THAT(ParseNote(std::string(70000, 'a') + "\n\n" + line), HasCode(StatusCode::kResourceExhausted));
  std::string lines;
  for (int i = 0; i < 300; ++i) lines += "l\n";
  EXPECT_THAT(ParseNote(lines + "\n" + line), HasCodeAndMessage(StatusCode::kResourceExhausted, "lines"));
}

TEST(NoteParse, SerializeRefusesTextThatWouldNotRoundTrip) {
  auto signer = NoteSigner::Generate("k", NoteSignatureType::kEd25519);
  ASSERT_THAT(signer, IsOk());
  // Empty lines, even at the end, are fine: the last blank line separates.
  Note blank_end{"text\n\n", {*signer->Sign("text\n\n")}};
  EXPECT_THAT(SerializeNote(blank_end), IsOk());
  Note empty{"", {*signer->Sign("")}};
  EXPECT_THAT(SerializeNote(empty), HasCode(StatusCode::kInvalidArgument));
  Note control{"te\rxt\n", {*signer->Sign("te\rxt\n")}};
  EXPECT_THAT(SerializeNote(control), HasCodeAndMessage(StatusCode::kInvalidArgument, "control"));
  Note no_newline{"text", {*signer->Sign("text")}};
  EXPECT_THAT(SerializeNote(no_newline), HasCode(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace arca::tlog
