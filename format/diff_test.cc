#include "format/diff.h"

#include <gtest/gtest.h>

namespace arca::format {
namespace {

ChunkId Id(std::uint8_t b) {
  ChunkId id;
  id.fill(b);
  return id;
}

TensorInfo Tensor(const std::string& name, std::vector<std::uint64_t> shape, std::uint64_t begin, std::uint64_t end,
                  std::string dtype = "BF16") {
  TensorInfo t;
  t.name = name;
  t.dtype = std::move(dtype);
  t.shape = std::move(shape);
  t.begin = begin;
  t.end = end;
  return t;
}

// A: weights.safetensors = header chunk (id 1, 100 B) | t1 (id 2, 1000 B) |
//    t2 (ids 3, 4: 1000 B each) | gone (id 5, 500 B); old.txt (id 6).
Manifest VersionA() {
  Manifest m;
  m.lineage_id = "l";
  m.packs = {PackRef{"sha256:aa", 5000, false}};
  auto chunk = [&](std::uint8_t id, std::uint64_t size, std::uint64_t length) {
    m.chunks.push_back(ChunkRef{Id(id), 0, 0, length, size, ChunkEncoding::kBg2, {}});
  };
  chunk(1, 100, 128);
  chunk(2, 1000, 700);
  chunk(3, 1000, 700);
  chunk(4, 1000, 700);
  chunk(5, 500, 400);
  chunk(6, 50, 78);
  FileEntry w;
  w.path = "weights.safetensors";
  w.sha256 = "a1";
  w.size = 3600;
  w.chunks = {0, 1, 2, 3, 4};
  w.tensors = {Tensor("t1", {500}, 100, 1100), Tensor("t2", {1000}, 1100, 3100), Tensor("gone", {250}, 3100, 3600)};
  FileEntry old;
  old.path = "old.txt";
  old.sha256 = "a2";
  old.size = 50;
  old.chunks = {5};
  m.files = {w, old};
  return m;
}

// B: t1 unchanged; t2's second chunk rewritten as a delta against A's id 4
//    (listed in B, inherited pack); "gone" removed; t3 added (id 8); a new
//    header (id 9); new.txt added (id 10).
Manifest VersionB() {
  Manifest m;
  m.lineage_id = "l";
  m.packs = {PackRef{"sha256:aa", 5000, true}, PackRef{"sha256:bb", 2000, false}};
  auto chunk = [&](std::uint8_t id, std::uint32_t pack, std::uint64_t size, std::uint64_t length, ChunkEncoding e,
                   std::optional<std::uint32_t> base = {}) {
    m.chunks.push_back(ChunkRef{Id(id), pack, 0, length, size, e, base});
  };
  chunk(9, 1, 120, 150, ChunkEncoding::kZstd);           // 0 header
  chunk(2, 0, 1000, 700, ChunkEncoding::kBg2);            // 1 t1
  chunk(3, 0, 1000, 700, ChunkEncoding::kBg2);            // 2 t2 first half
  chunk(4, 0, 1000, 700, ChunkEncoding::kBg2);            // 3 base of 4
  chunk(7, 1, 1000, 300, ChunkEncoding::kDelta, 3);       // 4 t2 second half
  chunk(8, 1, 800, 560, ChunkEncoding::kBg2);             // 5 t3
  chunk(10, 1, 40, 60, ChunkEncoding::kZstd);             // 6 new.txt
  FileEntry w;
  w.path = "weights.safetensors";
  w.sha256 = "b1";
  w.size = 3920;
  w.chunks = {0, 1, 2, 4, 5};
  w.tensors = {Tensor("t1", {500}, 120, 1120), Tensor("t2", {1000}, 1120, 3120), Tensor("t3", {400}, 3120, 3920)};
  FileEntry nf;
  nf.path = "new.txt";
  nf.sha256 = "b2";
  nf.size = 40;
  nf.chunks = {6};
  m.files = {w, nf};
  return m;
}

const TensorDiff* FindTensor(const FileDiff& f, const std::string& name) {
  for (const auto& t : f.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

TEST(DiffTest, FilesAndTensorsAreClassified) {
  ManifestDiff d = DiffManifests(VersionA(), VersionB());
  ASSERT_EQ(d.files.size(), 3u);
  EXPECT_EQ(d.files[0].path, "weights.safetensors");
  EXPECT_EQ(d.files[0].kind, ChangeKind::kChanged);
  EXPECT_EQ(d.files[1].path, "new.txt");
  EXPECT_EQ(d.files[1].kind, ChangeKind::kAdded);
  EXPECT_EQ(d.files[2].path, "old.txt");
  EXPECT_EQ(d.files[2].kind, ChangeKind::kRemoved);
  const FileDiff& w = d.files[0];
  EXPECT_EQ(w.tensors_unchanged, 1u);  // t1, though its offset moved
  ASSERT_EQ(w.tensors.size(), 3u);
  ASSERT_NE(FindTensor(w, "t2"), nullptr);
  EXPECT_EQ(FindTensor(w, "t2")->kind, ChangeKind::kChanged);
  EXPECT_EQ(FindTensor(w, "t2")->update_bytes, 300u);  // only the delta record; its base is in A
  EXPECT_EQ(FindTensor(w, "t2")->delta_chunks, 1u);
  EXPECT_EQ(FindTensor(w, "t3")->kind, ChangeKind::kAdded);
  EXPECT_EQ(FindTensor(w, "t3")->update_bytes, 560u);
  EXPECT_EQ(FindTensor(w, "gone")->kind, ChangeKind::kRemoved);
}

TEST(DiffTest, UpdateCostCountsRecordsAndPacksALacks) {
  ManifestDiff d = DiffManifests(VersionA(), VersionB());
  EXPECT_EQ(d.files[0].update_bytes, 150u + 300u + 560u);  // header + delta + t3
  EXPECT_EQ(d.files[1].update_bytes, 60u);
  EXPECT_EQ(d.update_record_bytes, 150u + 300u + 560u + 60u);
  EXPECT_EQ(d.record_bytes_needed, 150u + 700u * 3 + 300u + 560u + 60u);  // the base counts once
  EXPECT_EQ(d.pack_bytes_b, 7000u);
  EXPECT_EQ(d.update_pack_bytes, 2000u);
  EXPECT_EQ(d.plaintext_bytes_b, 3960u);
}

TEST(DiffTest, ReshapedTensorIsChangedAndSaysSo) {
  Manifest b = VersionB();
  b.files[0].tensors[0].shape = {250, 2};
  ManifestDiff d = DiffManifests(VersionA(), b);
  const TensorDiff* t1 = FindTensor(d.files[0], "t1");
  ASSERT_NE(t1, nullptr);
  EXPECT_EQ(t1->kind, ChangeKind::kChanged);
  EXPECT_TRUE(t1->reshaped);
}

TEST(DiffTest, OtherLineageSharesNothing) {
  Manifest b = VersionB();
  b.lineage_id = "other";
  ManifestDiff d = DiffManifests(VersionA(), b);
  EXPECT_FALSE(d.same_lineage);
  EXPECT_EQ(d.update_record_bytes, d.record_bytes_needed);
  EXPECT_EQ(d.files[0].tensors_unchanged, 0u);
}

TEST(DiffTest, IdenticalVersionsCostNothing) {
  ManifestDiff d = DiffManifests(VersionA(), VersionA());
  EXPECT_EQ(d.update_record_bytes, 0u);
  EXPECT_EQ(d.update_pack_bytes, 0u);
  for (const auto& f : d.files) {
    EXPECT_EQ(f.kind, ChangeKind::kUnchanged);
    EXPECT_TRUE(f.tensors.empty());
  }
}

}  // namespace
}  // namespace arca::format
