// Checkpoint, cosignature and tlog-proof tests.
// Vectors: shared/vectors/standards/c2sp-notes/tlog-checkpoint-example.note
// and tlog-cosignature-example.note (C2SP spec texts, MANIFEST.md §5); the
// tlog-proof header lines come from the example in
// https://c2sp.org/tlog-proof (C2SP/C2SP tlog-proof.md), whose signatures
// are elided there ("[...]"), so the checkpoint under them is our own.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/testing/status_matchers.h"
#include "base/testing/test_vectors.h"
#include "tlog/checkpoint.h"
#include "tlog/merkle.h"
#include "tlog/note.h"
#include "tlog/proof.h"

namespace arca::tlog {
namespace {

constexpr UnixSeconds kT = 1767225600;  // 2026-01-01T00:00:00Z
constexpr std::string_view kOrigin = "registry.arca.example/log";

std::string ReadVector(const std::string& name) {
  std::ifstream in(test_vectors::StandardVectorPath("c2sp-notes/" + name), std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CheckpointBody, SpecExampleRoundTrips) {
  auto note = ParseNote(ReadVector("tlog-checkpoint-example.note"));
  ASSERT_THAT(note, IsOk());
  auto cp = ParseCheckpointBody(note->text);
  ASSERT_THAT(cp, IsOk());
  EXPECT_EQ(cp->origin, "example.com/behind-the-sofa");
  EXPECT_EQ(cp->size, 20852163u);
  EXPECT_EQ(Base64Encode(cp->root), "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  EXPECT_FALSE(cp->time.has_value());
  EXPECT_TRUE(cp->extensions.empty());
  EXPECT_EQ(*SerializeCheckpointBody(*cp), note->text);
  // The cosignature example carries the same body.
  auto cosigned = ParseNote(ReadVector("tlog-cosignature-example.note"));
  ASSERT_THAT(cosigned, IsOk());
  EXPECT_EQ(cosigned->text, note->text);
}

TEST(CheckpointBody, TimeExtensionAndOtherExtensions) {
  Checkpoint cp{std::string(kOrigin), 42, EmptyRoot(), kT, {"opaque extension"}};
  auto body = SerializeCheckpointBody(cp);
  ASSERT_THAT(body, IsOk());
  EXPECT_EQ(*body, std::string(kOrigin) + "\n42\n" + Base64Encode(EmptyRoot()) + "\ntime 1767225600\nopaque extension\n");
  auto back = ParseCheckpointBody(*body);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, cp);
}

TEST(CheckpointBody, NamedRefusals) {
  const std::string root = Base64Encode(EmptyRoot());
  const auto bad = [&](const std::string& text, std::string_view want) {
    EXPECT_THAT(ParseCheckpointBody(text), HasCodeAndMessage(StatusCode::kInvalidArgument, std::string(want))) << text;
  };
  bad("o\n1\n" + root, "newline");
  bad("o\n1\n", "three lines");
  bad("o\n01\n" + root + "\n", "leading zero");
  bad("o\n+1\n" + root + "\n", "decimal");
  bad("o\n9223372036854775808\n" + root + "\n", "2^63");
  bad("o\n1\n" + root.substr(0, root.size() - 1) + "\n", "base64");
  bad("o\n1\nAAAA\n", "want 32");
  bad("o\n1\n" + root + "\n\n", "empty");
  bad("o o\n1\n" + root + "\n", "origin");
  bad("o\n1\n" + root + "\next\ntime 5\n", "first extension");
  bad("o\n1\n" + root + "\ntime 05\n", "leading zero");
  bad("o\n1\n" + root + "\ntime\n", "time");
  bad("o\n1\n" + root + "\ntime -1\n", "decimal");
  std::string many = "o\n1\n" + root + "\n";
  for (int i = 0; i < 14; ++i) many += "e\n";
  EXPECT_THAT(ParseCheckpointBody(many), HasCode(StatusCode::kResourceExhausted));
  Checkpoint fake_time{"o", 1, EmptyRoot(), std::nullopt, {"time 5"}};
  EXPECT_THAT(SerializeCheckpointBody(fake_time), HasCode(StatusCode::kInvalidArgument));
}

struct Fixture {
  NoteSigner log = *NoteSigner::Generate(kOrigin, NoteSignatureType::kEd25519);
  NoteSigner witness = *NoteSigner::Generate("witness.example/w1", NoteSignatureType::kCosignatureV1);
  MemoryTree tree;
  std::vector<std::string> entries;

  Fixture() {
    for (int i = 0; i < 100; ++i) {
      entries.push_back("{\"kind\":\"publish\",\"n\":" + std::to_string(i) + "}");
      EXPECT_THAT(tree.AppendLeaf(AsBytes(entries.back())), IsOk());
    }
  }
  Checkpoint At(std::uint64_t size, std::optional<UnixSeconds> time = kT) {
    return Checkpoint{std::string(kOrigin), size, *TreeRoot(tree, size), time, {}};
  }
  std::string Signed(const Checkpoint& cp) { return *SignCheckpoint(cp, log); }
  ProofPolicy Policy() {
    ProofPolicy p;
    p.checkpoint.origin = std::string(kOrigin);
    p.checkpoint.log_keys = {log.verifier()};
    p.checkpoint.witnesses = {witness.verifier()};
    p.now = kT + 60;
    p.max_age_s = 3600;
    return p;
  }
  TlogProof ProofFor(std::uint64_t index, std::uint64_t size, std::optional<UnixSeconds> time = kT) {
    return TlogProof{std::nullopt, index, *InclusionProof(tree, index, size), Signed(At(size, time))};
  }
};

TEST(SignedCheckpoint, OpenChecksKeyOriginAndWitnesses) {
  Fixture f;
  const std::string note = f.Signed(f.At(100));
  ProofPolicy p = f.Policy();
  auto opened = OpenCheckpoint(note, p.checkpoint);
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(opened->checkpoint, f.At(100));
  EXPECT_TRUE(opened->cosigned.empty());

  // witnesses: required but missing, then present.
  p.checkpoint.min_witnesses = 1;
  EXPECT_THAT(OpenCheckpoint(note, p.checkpoint), HasCodeAndMessage(StatusCode::kUnauthenticated, "witnesses:"));
  auto cosigned = Cosign(note, f.witness, kT + 5);
  ASSERT_THAT(cosigned, IsOk());
  opened = OpenCheckpoint(*cosigned, p.checkpoint);
  ASSERT_THAT(opened, IsOk());
  ASSERT_EQ(opened->cosigned.size(), 1u);
  EXPECT_EQ(opened->cosigned[0].timestamp, kT + 5);

  // unknown-key: a different log key.
  CheckpointPolicy other = p.checkpoint;
  other.min_witnesses = 0;
  other.log_keys = {NoteSigner::Generate(kOrigin, NoteSignatureType::kEd25519)->verifier()};
  other.witnesses.clear();
  EXPECT_THAT(OpenCheckpoint(note, other), HasCodeAndMessage(StatusCode::kUnauthenticated, "unknown-key:"));
  // A witness alone is not the log.
  other.witnesses = {f.witness.verifier()};
  EXPECT_THAT(OpenCheckpoint(*cosigned, other), HasCodeAndMessage(StatusCode::kUnauthenticated, "unknown-key:"));

  // wrong-origin: a log signing under a name it owns but another origin.
  NoteSigner elsewhere = *NoteSigner::Generate("elsewhere.example/log", NoteSignatureType::kEd25519);
  Checkpoint cp = f.At(100);
  cp.origin = "elsewhere.example/log";
  CheckpointPolicy trusting_both = p.checkpoint;
  trusting_both.min_witnesses = 0;
  trusting_both.log_keys.push_back(elsewhere.verifier());
  EXPECT_THAT(OpenCheckpoint(*SignCheckpoint(cp, elsewhere), trusting_both),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "wrong-origin:"));
  EXPECT_THAT(SignCheckpoint(cp, f.log), HasCode(StatusCode::kInvalidArgument));

  // bad-signature: the body changed under the log's signature.
  auto parsed = ParseNote(note);
  ASSERT_THAT(parsed, IsOk());
  parsed->text = std::string(kOrigin) + "\n101\n" + parsed->text.substr(parsed->text.find('\n', kOrigin.size() + 1) + 1);
  EXPECT_THAT(OpenCheckpoint(*SerializeNote(*parsed), p.checkpoint),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "bad-signature:"));
}

TEST(TlogProofFormat, SpecExampleHeaderLinesParse) {
  Fixture f;
  // Lines 1-8 of the tlog-proof spec example, then our own checkpoint.
  const std::string head =
      "c2sp.org/tlog-proof@v1\n"
      "extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\n"
      "index 73894\n"
      "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
      "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n"
      "EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\n"
      "RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n"
      "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n\n";
  const std::string text = head + f.Signed(f.At(100));
  auto proof = ParseTlogProof(text);
  ASSERT_THAT(proof, IsOk());
  EXPECT_EQ(proof->index, 73894u);
  EXPECT_EQ(proof->hashes.size(), 5u);
  ASSERT_TRUE(proof->extra.has_value());
  EXPECT_EQ(Base64Encode(*proof->extra), "YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ");
  EXPECT_EQ(*SerializeTlogProof(*proof), text);
  // Index 73894 is beyond this size-100 checkpoint: inclusion refuses it.
  EXPECT_THAT(VerifyTlogProof(*proof, EmptyRoot(), f.Policy()),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "inclusion:"));
}

TEST(TlogProofFormat, NamedRefusals) {
  Fixture f;
  const std::string cp = f.Signed(f.At(100));
  const std::string h = Base64Encode(EmptyRoot());
  const auto bad = [&](const std::string& text, std::string_view want) {
    EXPECT_THAT(ParseTlogProof(text), HasCodeAndMessage(StatusCode::kInvalidArgument, std::string(want))) << text;
  };
  bad("c2sp.org/tlog-proof@v2\nindex 1\n\n" + cp, "line 1");
  bad("c2sp.org/tlog-proof@v1\nindex 01\n\n" + cp, "leading zero");
  bad("c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\n" + cp, "extra");
  bad("c2sp.org/tlog-proof@v1\nindx 1\n\n" + cp, "index N");
  bad("c2sp.org/tlog-proof@v1\nindex 1\n" + h.substr(1) + "\n\n" + cp, "proof hash");
  bad("c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\n" + cp, "want 32");
  bad("c2sp.org/tlog-proof@v1\nindex 1\n" + h + "\n", "blank line");
  bad("c2sp.org/tlog-proof@v1\nindex 1\n\nnot a note\n", "checkpoint");
  std::string many = "c2sp.org/tlog-proof@v1\nindex 1\n";
  for (std::size_t i = 0; i <= kMaxProofHashes; ++i) many += h + "\n";
  EXPECT_THAT(ParseTlogProof(many + "\n" + cp), HasCode(StatusCode::kResourceExhausted));
  EXPECT_THAT(ParseTlogProof(std::string(kMaxTlogProofBytes + 1, 'a')), HasCode(StatusCode::kResourceExhausted));
}

TEST(TlogProofVerify, AcceptsEveryEntryAndRefusesEachAttack) {
  Fixture f;
  const ProofPolicy policy = f.Policy();
  for (std::uint64_t i = 0; i < 100; i += 7) {
    auto text = SerializeTlogProof(f.ProofFor(i, 100));
    ASSERT_THAT(text, IsOk());
    auto parsed = ParseTlogProof(*text);
    ASSERT_THAT(parsed, IsOk());
    EXPECT_THAT(VerifyTlogProofForEntry(*parsed, AsBytes(f.entries[i]), policy), IsOk()) << i;
  }
  TlogProof p = f.ProofFor(37, 100);
  // inclusion: another entry, another index, a dropped, added or reordered hash.
  EXPECT_THAT(VerifyTlogProofForEntry(p, AsBytes(f.entries[38]), policy),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "inclusion:"));
  TlogProof q = p;
  q.index = 36;
  EXPECT_THAT(VerifyTlogProofForEntry(q, AsBytes(f.entries[37]), policy),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "inclusion:"));
  q = p;
  q.hashes.pop_back();
  EXPECT_THAT(VerifyTlogProofForEntry(q, AsBytes(f.entries[37]), policy),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "inclusion:"));
  q = p;
  q.hashes.push_back(EmptyRoot());
  EXPECT_THAT(VerifyTlogProofForEntry(q, AsBytes(f.entries[37]), policy),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "inclusion:"));
  q = p;
  std::swap(q.hashes[0], q.hashes[1]);
  EXPECT_THAT(VerifyTlogProofForEntry(q, AsBytes(f.entries[37]), policy),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "inclusion:"));
  // freeze: too old, no time, from the future.
  ProofPolicy later = policy;
  later.now = kT + policy.max_age_s + 1;
  EXPECT_THAT(VerifyTlogProofForEntry(p, AsBytes(f.entries[37]), later),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "freeze:"));
  EXPECT_THAT(VerifyTlogProofForEntry(f.ProofFor(37, 100, std::nullopt), AsBytes(f.entries[37]), policy),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "freeze:"));
  EXPECT_THAT(VerifyTlogProofForEntry(f.ProofFor(37, 100, kT + 3600), AsBytes(f.entries[37]), policy),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "freeze:"));
  // unknown-key: a policy trusting another log key.
  ProofPolicy other = policy;
  other.checkpoint.log_keys = {NoteSigner::Generate(kOrigin, NoteSignatureType::kEd25519)->verifier()};
  EXPECT_THAT(VerifyTlogProofForEntry(p, AsBytes(f.entries[37]), other),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "unknown-key:"));
  // wrong-origin.
  ProofPolicy origin = policy;
  origin.checkpoint.origin = "other.example/log";
  EXPECT_THAT(VerifyTlogProofForEntry(p, AsBytes(f.entries[37]), origin),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "wrong-origin:"));
}

TEST(TlogProofVerify, EveryFlippedByteIsRefused) {
  Fixture f;
  const ProofPolicy policy = f.Policy();
  const std::string text = *SerializeTlogProof(f.ProofFor(37, 100));
  ASSERT_THAT(VerifyTlogProofForEntry(*ParseTlogProof(text), AsBytes(f.entries[37]), policy), IsOk());
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::string bad = text;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto parsed = ParseTlogProof(bad);
    if (!parsed.ok()) continue;
    EXPECT_FALSE(VerifyTlogProofForEntry(*parsed, AsBytes(f.entries[37]), policy).ok()) << "byte " << i;
  }
}

TEST(Consistency, ExtendsOrNamesTheAttack) {
  Fixture f;
  const Checkpoint old10 = f.At(10), new100 = f.At(100);
  auto proof = ConsistencyProof(f.tree, 10, 100);
  ASSERT_THAT(proof, IsOk());
  EXPECT_THAT(CheckConsistency(old10, new100, *proof), IsOk());
  EXPECT_THAT(CheckConsistency(new100, new100, {}), IsOk());
  // rollback: the newer checkpoint is smaller.
  EXPECT_THAT(CheckConsistency(new100, old10, *proof), HasCodeAndMessage(StatusCode::kUnauthenticated, "rollback:"));
  // split-view: same size, other root; a forked history; another origin.
  Checkpoint forked = new100;
  forked.root = *TreeRoot(f.tree, 99);
  EXPECT_THAT(CheckConsistency(new100, forked, {}), HasCodeAndMessage(StatusCode::kUnauthenticated, "split-view:"));
  EXPECT_THAT(CheckConsistency(old10, forked, *proof), HasCodeAndMessage(StatusCode::kUnauthenticated, "split-view:"));
  auto tampered = *proof;
  tampered[0][0] ^= 1;
  EXPECT_THAT(CheckConsistency(old10, new100, tampered), HasCodeAndMessage(StatusCode::kUnauthenticated, "split-view:"));
  Checkpoint other_origin = new100;
  other_origin.origin = "other.example/log";
  EXPECT_THAT(CheckConsistency(old10, other_origin, *proof), HasCodeAndMessage(StatusCode::kUnauthenticated, "split-view:"));
  // From the empty tree.
  Checkpoint empty{std::string(kOrigin), 0, EmptyRoot(), kT, {}};
  EXPECT_THAT(CheckConsistency(empty, new100, {}), IsOk());
  empty.root = new100.root;
  EXPECT_THAT(CheckConsistency(empty, new100, {}), HasCodeAndMessage(StatusCode::kUnauthenticated, "split-view:"));
}

}  // namespace
}  // namespace arca::tlog
