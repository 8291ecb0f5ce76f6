// Merkle tree tests against the standards' vectors:
//  - RFC 6962 / RFC 9162 reference tree (transparency-dev/merkle testonly
//    constants, transcribed in shared/vectors/standards/merkle/
//    rfc6962-reference-tree.json; MANIFEST.md §4);
//  - the 196 inclusion/consistency probe files of transparency-dev/merkle
//    testdata (MANIFEST.md §4.1, §4.2), each checked against its wantErr.
// Algorithms: RFC 9162 §2.1 (https://www.rfc-editor.org/rfc/rfc9162#section-2.1).
#include "tlog/merkle.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/testing/status_matchers.h"
#include "base/testing/test_vectors.h"

namespace arca::tlog {
namespace {

using test_vectors::HasOnlyFields;
using test_vectors::Hex;
using test_vectors::LoadJson;
using test_vectors::StandardVectorPath;

std::string HexOf(const Hash& h) { return HexEncode(h); }

nlohmann::json ReferenceTree() { return LoadJson(StandardVectorPath("merkle/rfc6962-reference-tree.json")); }

std::vector<Hash> ReferenceLeafHashes(const nlohmann::json& tree) {
  std::vector<Hash> out;
  for (const auto& leaf : tree.at("leaf_inputs_hex")) out.push_back(HashLeaf(Hex(leaf)));
  return out;
}

TEST(MerkleReferenceTree, HasOnlyKnownFields) {
  auto tree = ReferenceTree();
  ASSERT_FALSE(tree.is_discarded());
  EXPECT_TRUE(HasOnlyFields(tree, {"description", "hash", "encoding", "leaf_inputs_hex", "node_hashes_by_level_hex",
                                   "root_hashes_by_tree_size_hex", "hasher_vectors"},
                            "reference tree"));
  EXPECT_TRUE(HasOnlyFields(tree.at("node_hashes_by_level_hex"), {"note", "levels"}, "node_hashes_by_level_hex"));
}

TEST(MerkleReferenceTree, HasherVectors) {
  auto tree = ReferenceTree();
  int checked = 0;
  for (const auto& v : tree.at("hasher_vectors")) {
    ASSERT_TRUE(HasOnlyFields(v, {"desc", "input", "leaf_hex", "leaf_ascii", "left_ascii", "right_ascii", "want_hex"},
                              "hasher vector"));
    const std::string want = v.at("want_hex").get<std::string>();
    const std::string desc = v.at("desc").get<std::string>();
    if (v.contains("input")) {
      ASSERT_EQ(v.at("input"), "") << desc;  // the empty-tree root
      EXPECT_EQ(HexOf(EmptyRoot()), want) << desc;
    } else if (v.contains("leaf_hex")) {
      EXPECT_EQ(HexOf(HashLeaf(Hex(v.at("leaf_hex")))), want) << desc;
    } else if (v.contains("leaf_ascii")) {
      EXPECT_EQ(HexOf(HashLeaf(AsBytes(v.at("leaf_ascii").get<std::string>()))), want) << desc;
    } else {
      // HashChildren takes hashes; the vector hashes 4-byte strings, so
      // compute 0x01 || l || r the long way and also check our layout.
      const std::string l = v.at("left_ascii").get<std::string>();
      const std::string r = v.at("right_ascii").get<std::string>();
      Bytes msg{0x01};
      msg.insert(msg.end(), l.begin(), l.end());
      msg.insert(msg.end(), r.begin(), r.end());
      EXPECT_EQ(HexOf(crypto::Sha256::Hash(msg)), want) << desc;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 4);
}

TEST(MerkleReferenceTree, RootsForEverySize) {
  auto tree = ReferenceTree();
  std::vector<Hash> leaves = ReferenceLeafHashes(tree);
  ASSERT_EQ(leaves.size(), 8u);
  MemoryTree mem;
  CompactRange range;
  const auto& roots = tree.at("root_hashes_by_tree_size_hex");
  ASSERT_EQ(roots.size(), 9u);
  for (std::uint64_t n = 0; n <= 8; ++n) {
    const std::string want = roots.at(std::to_string(n)).get<std::string>();
    EXPECT_EQ(HexOf(RootOfLeafHashes(std::span(leaves).first(n))), want) << "size " << n;
    EXPECT_EQ(HexOf(range.Root()), want) << "compact range, size " << n;
    EXPECT_EQ(HexOf(mem.Root()), want) << "memory tree, size " << n;
    auto from_reader = TreeRoot(mem, n);
    ASSERT_THAT(from_reader, IsOk());
    EXPECT_EQ(HexOf(*from_reader), want) << "TreeRoot, size " << n;
    if (n < 8) {
      ASSERT_THAT(range.Append(leaves[n]), IsOk());
      ASSERT_THAT(mem.AppendLeafHash(leaves[n]), IsOk());
    }
  }
}

TEST(MerkleReferenceTree, EveryCompleteSubtreeHash) {
  auto tree = ReferenceTree();
  MemoryTree mem;
  for (const Hash& h : ReferenceLeafHashes(tree)) ASSERT_THAT(mem.AppendLeafHash(h), IsOk());
  const auto& levels = tree.at("node_hashes_by_level_hex").at("levels");
  ASSERT_EQ(levels.size(), 4u);
  int checked = 0;
  for (std::size_t level = 0; level < levels.size(); ++level) {
    for (std::size_t i = 0; i < levels[level].size(); ++i) {
      NodeId id{static_cast<std::uint8_t>(level), i};
      auto got = mem.ReadHashes(std::span(&id, 1));
      ASSERT_THAT(got, IsOk());
      EXPECT_EQ(HexOf((*got)[0]), levels[level][i].get<std::string>()) << "level " << level << " index " << i;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 15);
}

TEST(MerkleReferenceTree, CompactRangeReportsEachCompletedNodeOnce) {
  auto tree = ReferenceTree();
  CompactRange range;
  std::vector<std::pair<NodeId, Hash>> seen;
  for (const Hash& h : ReferenceLeafHashes(tree)) {
    ASSERT_THAT(range.Append(h, [&](const NodeId& id, const Hash& hash) { seen.emplace_back(id, hash); }), IsOk());
  }
  // 8 leaves + 4 + 2 + 1 parents, each equal to the published node hash.
  ASSERT_EQ(seen.size(), 15u);
  const auto& levels = tree.at("node_hashes_by_level_hex").at("levels");
  for (const auto& [id, hash] : seen) {
    EXPECT_EQ(HexOf(hash), levels[id.level][id.index].get<std::string>());
  }
  auto restored = CompactRange::FromFrontier(range.size(), range.frontier());
  ASSERT_THAT(restored, IsOk());
  EXPECT_EQ(restored->Root(), range.Root());
  EXPECT_THAT(CompactRange::FromFrontier(7, {EmptyRoot()}), HasCode(StatusCode::kInvalidArgument));
}

// --- transparency-dev/merkle probe files --------------------------------

Bytes B64(const nlohmann::json& v, const std::string& where) {
  EXPECT_TRUE(v.is_string()) << where;
  auto b = Base64Decode(v.get<std::string>());
  EXPECT_THAT(b, IsOk()) << where;
  return b.ok() ? *b : Bytes{};
}

// RunProbe returns the verifier's verdict on one probe file.
Status RunProbe(const nlohmann::json& j, const std::string& where, bool inclusion) {
  std::vector<Bytes> raw;
  for (const auto& p : j.at("proof")) raw.push_back(B64(p, where));
  std::vector<Hash> proof;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    auto h = HashFromBytes(raw[i], "proof hash " + std::to_string(i));
    if (!h.ok()) return h.status();
    proof.push_back(*h);
  }
  if (inclusion) {
    return VerifyInclusion(j.at("leafIdx").get<std::uint64_t>(), j.at("treeSize").get<std::uint64_t>(),
                           B64(j.at("leafHash"), where), proof, B64(j.at("root"), where));
  }
  return VerifyConsistency(j.at("size1").get<std::uint64_t>(), j.at("size2").get<std::uint64_t>(), proof,
                           B64(j.at("root1"), where), B64(j.at("root2"), where));
}

void RunProbeDir(const std::string& kind, int want_files) {
  namespace fs = std::filesystem;
  const fs::path dir = StandardVectorPath("merkle/transparency-dev-testdata/" + kind);
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  const bool inclusion = kind == "inclusion";
  int files = 0, happy = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string where = fs::relative(entry.path(), dir.parent_path()).string();
    auto j = LoadJson(entry.path().string());
    ASSERT_FALSE(j.is_discarded()) << where;
    if (inclusion) {
      ASSERT_TRUE(HasOnlyFields(j, {"leafIdx", "treeSize", "root", "leafHash", "proof", "desc", "wantErr"}, where));
    } else {
      ASSERT_TRUE(HasOnlyFields(j, {"size1", "size2", "root1", "root2", "proof", "desc", "wantErr"}, where));
    }
    const bool want_err = j.at("wantErr").get<bool>();
    Status got = RunProbe(j, where, inclusion);
    EXPECT_EQ(!got.ok(), want_err) << where << " (" << j.at("desc").get<std::string>() << "): " << got.ToString();
    if (!got.ok()) {
      EXPECT_TRUE(got.code() == StatusCode::kInvalidArgument || got.code() == StatusCode::kUnauthenticated) << where;
    } else {
      ++happy;
    }
    ++files;
  }
  EXPECT_EQ(files, want_files);
  EXPECT_GT(happy, 0);
}

TEST(MerkleProbes, Inclusion) { RunProbeDir("inclusion", 98); }
TEST(MerkleProbes, Consistency) { RunProbeDir("consistency", 98); }

// The two probes MANIFEST.md §4.2 names, pinned to the stricter checks.
TEST(MerkleProbes, RefusesShortLeafHashEvenWhenRootMatches) {
  EXPECT_THAT(VerifyInclusion(0, 1, Bytes{}, {}, Bytes{}), HasCodeAndMessage(StatusCode::kInvalidArgument, "leaf hash"));
}
TEST(MerkleProbes, RefusesConsistencyFromSizeZero) {
  const Bytes root = {1, 2, 3};
  EXPECT_THAT(VerifyConsistency(0, 0, {}, root, root), HasCodeAndMessage(StatusCode::kInvalidArgument, "empty tree"));
}

// --- generated proofs against the verifier ------------------------------

Hash LeafFor(std::uint64_t i) {
  const std::string s = "leaf " + std::to_string(i);
  return HashLeaf(AsBytes(s));
}

TEST(MerkleProofs, EveryInclusionAndConsistencyUpTo64) {
  MemoryTree mem;
  std::vector<Hash> leaves;
  std::vector<Hash> roots{EmptyRoot()};
  for (std::uint64_t i = 0; i < 64; ++i) {
    leaves.push_back(LeafFor(i));
    ASSERT_THAT(mem.AppendLeafHash(leaves.back()), IsOk());
    roots.push_back(RootOfLeafHashes(leaves));
    ASSERT_EQ(mem.Root(), roots.back());
  }
  for (std::uint64_t size = 1; size <= 64; ++size) {
    for (std::uint64_t index = 0; index < size; ++index) {
      auto proof = InclusionProof(mem, index, size);
      ASSERT_THAT(proof, IsOk());
      ASSERT_THAT(VerifyInclusion(index, size, leaves[index], *proof, roots[size]), IsOk())
          << index << "/" << size;
      // Wrong leaf, wrong index, dropped or extra hash: refused.
      EXPECT_FALSE(VerifyInclusion(index, size, leaves[(index + 1) % 64], *proof, roots[size]).ok());
      if (size > 1) {
        EXPECT_FALSE(VerifyInclusion((index + 1) % size, size, leaves[index], *proof, roots[size]).ok());
        auto shorter = *proof;
        shorter.pop_back();
        EXPECT_FALSE(VerifyInclusion(index, size, leaves[index], shorter, roots[size]).ok());
      }
      auto longer = *proof;
      longer.push_back(leaves[0]);
      EXPECT_FALSE(VerifyInclusion(index, size, leaves[index], longer, roots[size]).ok());
    }
    for (std::uint64_t size1 = 1; size1 <= size; ++size1) {
      auto proof = ConsistencyProof(mem, size1, size);
      ASSERT_THAT(proof, IsOk());
      ASSERT_THAT(VerifyConsistency(size1, size, *proof, roots[size1], roots[size]), IsOk()) << size1 << "->" << size;
      if (size1 < size) {
        EXPECT_FALSE(VerifyConsistency(size1, size, *proof, roots[size1 - 1], roots[size]).ok());
        EXPECT_FALSE(VerifyConsistency(size1, size, *proof, roots[size1], roots[size - 1]).ok());
        for (std::size_t i = 0; i < proof->size(); ++i) {
          auto flipped = *proof;
          flipped[i][i % 32] ^= 0x80;
          EXPECT_FALSE(VerifyConsistency(size1, size, flipped, roots[size1], roots[size]).ok());
        }
        if (proof->size() > 1) {
          auto swapped = *proof;
          std::swap(swapped[0], swapped[1]);
          if (swapped != *proof) {
            EXPECT_FALSE(VerifyConsistency(size1, size, swapped, roots[size1], roots[size]).ok());
          }
        }
      }
    }
  }
}

TEST(MerkleProofs, RandomLargerTrees) {
  std::mt19937_64 rng(20261124);
  MemoryTree mem;
  const std::uint64_t n = 5000;
  for (std::uint64_t i = 0; i < n; ++i) ASSERT_THAT(mem.AppendLeafHash(LeafFor(i)), IsOk());
  for (int t = 0; t < 300; ++t) {
    const std::uint64_t size = 1 + rng() % n;
    const std::uint64_t index = rng() % size;
    const std::uint64_t size1 = 1 + rng() % size;
    auto root = TreeRoot(mem, size);
    auto root1 = TreeRoot(mem, size1);
    ASSERT_THAT(root, IsOk());
    ASSERT_THAT(root1, IsOk());
    auto incl = InclusionProof(mem, index, size);
    ASSERT_THAT(incl, IsOk());
    EXPECT_LE(incl->size(), 13u);  // ceil(log2(5000))
    EXPECT_THAT(VerifyInclusion(index, size, LeafFor(index), *incl, *root), IsOk());
    auto cons = ConsistencyProof(mem, size1, size);
    ASSERT_THAT(cons, IsOk());
    EXPECT_LE(cons->size(), 2u * 13u);
    EXPECT_THAT(VerifyConsistency(size1, size, *cons, *root1, *root), IsOk());
  }
}

TEST(MerkleProofs, GenerationRefusesBadSizes) {
  MemoryTree mem;
  ASSERT_THAT(mem.AppendLeaf(AsBytes("a")), IsOk());
  EXPECT_THAT(InclusionProof(mem, 1, 1), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ConsistencyProof(mem, 0, 1), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ConsistencyProof(mem, 2, 1), HasCode(StatusCode::kInvalidArgument));
  // Asking beyond what the reader holds is the reader's NotFound.
  EXPECT_THAT(InclusionProof(mem, 0, 2), HasCode(StatusCode::kNotFound));
}

TEST(MerkleProofs, VerifierRefusesOversizedProof) {
  std::vector<Hash> proof(kMaxProofHashes + 1, EmptyRoot());
  const Hash leaf = LeafFor(0);
  EXPECT_THAT(VerifyInclusion(0, 2, leaf, proof, leaf), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(VerifyConsistency(1, 2, proof, leaf, leaf), HasCode(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace arca::tlog
