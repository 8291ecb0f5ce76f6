// C2SP tlog-witness: the request format (the example body of
// https://c2sp.org/tlog-witness §add-checkpoint, C2SP/C2SP tlog-witness.md,
// whose checkpoint is the tlog-checkpoint example in
// shared/vectors/standards/c2sp-notes/), every status code of the witness
// side, and the log side's retry from a 409.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/testing/status_matchers.h"
#include "base/testing/test_vectors.h"
#include "tlog/checkpoint.h"
#include "tlog/merkle.h"
#include "tlog/witness.h"

namespace arca::tlog {
namespace {

constexpr UnixSeconds kT = 1767225600;
constexpr std::string_view kOrigin = "registry.arca.example/log";

std::string ReadVector(const std::string& name) {
  std::ifstream in(test_vectors::StandardVectorPath("c2sp-notes/" + name), std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A log of `n` entries with its key; Sign signs its current head.
NoteSigner CopyKey(const NoteSigner& k) {
  SecretBytes text = k.ToSecretString();
  auto e = text.Expose();
  return *NoteSigner::Parse(std::string_view(reinterpret_cast<const char*>(e.data()), e.size()));
}

struct TestLog {
  NoteSigner key = *NoteSigner::Generate(kOrigin, NoteSignatureType::kEd25519);
  MemoryTree tree;
  void Grow(int n) {
    for (int i = 0; i < n; ++i) {
      std::string e = "entry " + std::to_string(tree.size());
      ASSERT_THAT(tree.AppendLeaf(AsBytes(e)), IsOk());
    }
  }
  std::string Sign(UnixSeconds t = kT) {
    return *SignCheckpoint(Checkpoint{std::string(kOrigin), tree.size(), tree.Root(), t, {}}, key);
  }
  std::vector<Hash> Proof(std::uint64_t from) { return *ConsistencyProof(tree, from, tree.size()); }
  std::string Body(std::uint64_t old, std::vector<Hash> proof, const std::string& cp) {
    return *SerializeAddCheckpointRequest(AddCheckpointRequest{old, std::move(proof), cp});
  }
};

struct WitnessFixture : ::testing::Test {
  TestLog log;
  MemoryWitnessState state;
  NoteSigner wkey = *NoteSigner::Generate("witness.arca.example/w1", NoteSignatureType::kCosignatureV1);
  NoteVerifier wvkey = wkey.verifier();
  Witness witness{std::move(wkey), {log.key.verifier()}, state};

  // Cosigns the log's head from `old` and checks the answer verifies.
  void ExpectCosigned(std::uint64_t old) {
    const std::string cp = log.Sign();
    WitnessAnswer a = witness.AddCheckpoint(log.Body(old, old ? log.Proof(old) : std::vector<Hash>{}, cp), kT + 5);
    ASSERT_EQ(a.http_status, 200) << a.body;
    auto lines = ParseCosignatureLines(a.body);
    ASSERT_THAT(lines, IsOk());
    auto note = ParseNote(cp);
    note->signatures.insert(note->signatures.end(), lines->begin(), lines->end());
    CheckpointPolicy policy{std::string(kOrigin), {log.key.verifier()}, {wvkey}, 1};
    auto opened = OpenCheckpoint(*SerializeNote(*note), policy);
    ASSERT_THAT(opened, IsOk());
    ASSERT_EQ(opened->cosigned.size(), 1u);
    EXPECT_EQ(opened->cosigned[0].timestamp, kT + 5);
  }
};

TEST(AddCheckpointRequest, SpecExampleParsesAndRoundTrips) {
  const std::string cp = ReadVector("tlog-checkpoint-example.note");
  const std::string body = "old 20852014\n"
                           "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
                           "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
                           "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
                           "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
                           "\n" + cp;
  auto req = ParseAddCheckpointRequest(body);
  ASSERT_THAT(req, IsOk());
  EXPECT_EQ(req->old_size, 20852014u);
  EXPECT_EQ(req->proof.size(), 4u);
  EXPECT_EQ(req->checkpoint, cp);
  EXPECT_EQ(*SerializeAddCheckpointRequest(*req), body);
}

TEST(AddCheckpointRequest, MalformedIsRefusedNamingTheLine) {
  const std::string cp = ReadVector("tlog-checkpoint-example.note");
  const std::string h = Base64Encode(EmptyRoot());
  auto bad = [&](const std::string& body, std::string_view want) {
    auto r = ParseAddCheckpointRequest(body);
    EXPECT_FALSE(r.ok()) << body;
    EXPECT_NE(r.status().message().find(want), std::string::npos) << r.status().message();
  };
  bad("", "line 1");
  bad("old\n\n" + cp, "line 1");
  bad("old 01\n\n" + cp, "leading zero");
  bad("old -1\n\n" + cp, "decimal");
  bad("old 1\n" + h, "no blank line");
  bad("old 1\n" + h.substr(1) + "\n\n" + cp, "line 2");
  bad("old 1\n" + Base64Encode(Bytes(31, 0)) + "\n\n" + cp, "line 2");
  bad("old 1\n\nnot a note\n", "checkpoint");
  std::string many = "old 1\n";
  for (int i = 0; i < 64; ++i) many += h + "\n";
  auto r = ParseAddCheckpointRequest(many + "\n" + cp);
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(ParseAddCheckpointRequest(std::string(kMaxAddCheckpointBytes + 1, 'a')).status().code(),
            StatusCode::kResourceExhausted);
}

TEST_F(WitnessFixture, CosignsAGrowingLogAndRemembersIt) {
  log.Grow(3);
  ExpectCosigned(0);
  log.Grow(5);
  ExpectCosigned(3);
  // The same head again (e.g. re-signed with a later time): cosigned.
  ExpectCosigned(8);
  auto rec = state.Latest(std::string(kOrigin));
  ASSERT_THAT(rec, IsOk());
  ASSERT_TRUE(rec->has_value());
  EXPECT_EQ((*rec)->size, 8u);
  EXPECT_EQ((*rec)->root, log.tree.Root());
  EXPECT_EQ(state.refusals(), 0u);
}

TEST_F(WitnessFixture, StaleOldSizeIs409WithTheRecordedSize) {
  log.Grow(4);
  ExpectCosigned(0);
  log.Grow(2);
  WitnessAnswer a = witness.AddCheckpoint(log.Body(0, {}, log.Sign()), kT);
  EXPECT_EQ(a.http_status, 409);
  EXPECT_EQ(a.content_type, kTlogSizeContentType);
  EXPECT_EQ(a.body, "4\n");
  EXPECT_EQ(state.refusals(), 0u);  // an honest log that did not know: no evidence
}

TEST_F(WitnessFixture, ForkIsRefusedAndKeptAsEvidence) {
  log.Grow(4);
  ExpectCosigned(0);
  // A second history with the same key: the same 4 entries' count, another root.
  TestLog fork;
  fork.key = CopyKey(log.key);
  for (int i = 0; i < 4; ++i) ASSERT_THAT(fork.tree.AppendLeaf(AsBytes("other " + std::to_string(i))), IsOk());
  WitnessAnswer same = witness.AddCheckpoint(fork.Body(4, {}, fork.Sign()), kT);
  EXPECT_EQ(same.http_status, 409);
  EXPECT_EQ(same.body, "4\n");
  // A larger forked tree with a proof from the fork's own 4: 422.
  fork.Grow(3);
  WitnessAnswer grown = witness.AddCheckpoint(fork.Body(4, fork.Proof(4), fork.Sign()), kT);
  EXPECT_EQ(grown.http_status, 422) << grown.body;
  // A rolled-back checkpoint (3 < 4): 409.
  TestLog small;
  small.key = CopyKey(log.key);
  small.Grow(3);
  WitnessAnswer back = witness.AddCheckpoint(small.Body(0, {}, small.Sign()), kT);
  EXPECT_EQ(back.http_status, 409);
  EXPECT_EQ(state.refusals(), 3u);
  // The record did not move.
  EXPECT_EQ((*state.Latest(std::string(kOrigin)))->root, log.tree.Root());
}

TEST_F(WitnessFixture, UnknownOriginBadSignatureAndBadSizes) {
  log.Grow(2);
  // Unknown origin: 404.
  NoteSigner other = *NoteSigner::Generate("other.example/log", NoteSignatureType::kEd25519);
  std::string foreign = *SignCheckpoint(Checkpoint{"other.example/log", 2, log.tree.Root(), kT, {}}, other);
  EXPECT_EQ(witness.AddCheckpoint(log.Body(0, {}, foreign), kT).http_status, 404);
  // The right origin signed by another key of that name: 403.
  NoteSigner impostor = *NoteSigner::Generate(kOrigin, NoteSignatureType::kEd25519);
  std::string forged = *SignCheckpoint(Checkpoint{std::string(kOrigin), 2, log.tree.Root(), kT, {}}, impostor);
  EXPECT_EQ(witness.AddCheckpoint(log.Body(0, {}, forged), kT).http_status, 403);
  // A changed byte in a signed checkpoint: 403.
  std::string cp = log.Sign();
  std::string flipped = cp;
  flipped[flipped.find('\n') + 1] = '3';  // size 2 -> 3
  EXPECT_EQ(witness.AddCheckpoint(log.Body(0, {}, flipped), kT).http_status, 403);
  // Old size above the checkpoint's: 400; malformed: 400.
  EXPECT_EQ(witness.AddCheckpoint(log.Body(5, {}, cp), kT).http_status, 400);
  EXPECT_EQ(witness.AddCheckpoint("old 0\n", kT).http_status, 400);
  EXPECT_EQ(state.refusals(), 0u);
  EXPECT_FALSE(state.Latest(std::string(kOrigin))->has_value());
}

TEST_F(WitnessFixture, LogSideRetriesFromTheWitnessSizeAndDetectsRollback) {
  WitnessPoster post = [&](const std::string& body) -> Result<WitnessAnswer> {
    return witness.AddCheckpoint(body, kT + 1);
  };
  ConsistencyProver prover = [&](std::uint64_t a, std::uint64_t b) { return ConsistencyProof(log.tree, a, b); };
  log.Grow(5);
  std::uint64_t known = 0;
  auto sig = RequestCosignature(log.Sign(), wvkey, prover, post, &known);
  ASSERT_THAT(sig, IsOk());
  EXPECT_EQ(known, 5u);
  // The log forgets what the witness holds (a restart): one 409, then a proof from 5.
  log.Grow(7);
  known = 0;
  sig = RequestCosignature(log.Sign(), wvkey, prover, post, &known);
  ASSERT_THAT(sig, IsOk());
  EXPECT_EQ(known, 12u);
  EXPECT_EQ(sig->name, wvkey.name());
  // A log restored from an older copy: refused, naming the rollback.
  TestLog old;
  old.key = CopyKey(log.key);
  old.Grow(6);
  known = 0;
  ConsistencyProver old_prover = [&](std::uint64_t a, std::uint64_t b) { return ConsistencyProof(old.tree, a, b); };
  auto refused = RequestCosignature(old.Sign(), wvkey, old_prover, post, &known);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("rolled back"), std::string::npos) << refused.status().message();
  // A witness answering with someone else's signature: Unauthenticated.
  NoteSigner stranger = *NoteSigner::Generate(wvkey.name(), NoteSignatureType::kCosignatureV1);
  MemoryWitnessState other_state;
  Witness impostor(std::move(stranger), {log.key.verifier()}, other_state);
  WitnessPoster post_impostor = [&](const std::string& body) -> Result<WitnessAnswer> {
    return impostor.AddCheckpoint(body, kT);
  };
  known = 0;
  EXPECT_EQ(RequestCosignature(log.Sign(), wvkey, prover, post_impostor, &known).status().code(),
            StatusCode::kUnauthenticated);
}

TEST(CosignatureLines, OnlySignatureLines) {
  EXPECT_FALSE(ParseCosignatureLines("").ok());
  EXPECT_FALSE(ParseCosignatureLines("hello\n").ok());
  EXPECT_FALSE(ParseCosignatureLines("— w AAAA\n\n— w AAAA\n").ok());
}

}  // namespace
}  // namespace arca::tlog
