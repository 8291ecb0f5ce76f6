#include "format/chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "base/testing/status_matchers.h"

namespace arca::format {
namespace {

// Small parameters so a few hundred KiB give hundreds of chunks.
ChunkingParams SmallParams() {
  ChunkingParams p;
  p.min_size = 256;
  p.avg_size = 1024;
  p.max_size = 4096;
  return p;
}

Bytes RandomBytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = std::uint8_t(rng());
  return out;
}

Bytes GearKey(std::uint8_t fill) { return Bytes(32, fill); }

// CutAll chunks `data` the way the sealer does within one region: each call
// sees at most max_size bytes. It returns the absolute end offset of every
// chunk.
std::vector<std::uint64_t> CutAll(const GearChunker& c, ByteSpan data, std::uint32_t align = 1) {
  std::vector<std::uint64_t> ends;
  std::size_t pos = 0;
  while (pos < data.size()) {
    std::size_t want = std::min<std::size_t>(c.params().max_size, data.size() - pos);
    std::size_t cut = c.FindCut(data.subspan(pos, want), align);
    EXPECT_GT(cut, 0u);
    EXPECT_LE(cut, want);
    if (cut == 0) break;
    pos += cut;
    ends.push_back(pos);
  }
  return ends;
}

TEST(ChunkerTest, SameKeyAndDataGiveSameCuts) {
  const Bytes data = RandomBytes(256 * 1024, 1);
  GearChunker a(GearKey(7), SmallParams());
  GearChunker b(GearKey(7), SmallParams());
  auto cuts_a = CutAll(a, data);
  EXPECT_EQ(cuts_a, CutAll(b, data));
  EXPECT_EQ(cuts_a, CutAll(a, data));  // no hidden state between calls
  EXPECT_GT(cuts_a.size(), 100u);
}

TEST(ChunkerTest, DifferentGearKeyGivesDifferentCuts) {
  const Bytes data = RandomBytes(256 * 1024, 2);
  GearChunker a(GearKey(1), SmallParams());
  GearChunker b(GearKey(2), SmallParams());
  auto cuts_a = CutAll(a, data);
  auto cuts_b = CutAll(b, data);
  EXPECT_NE(cuts_a, cuts_b);
  // Not merely shifted at one point: most boundaries differ.
  std::set<std::uint64_t> set_a(cuts_a.begin(), cuts_a.end());
  std::size_t shared = 0;
  for (auto e : cuts_b) shared += set_a.count(e);
  EXPECT_LT(shared, cuts_b.size() / 2);
}

TEST(ChunkerTest, ChunkSizesRespectMinAndMax) {
  const Bytes data = RandomBytes(512 * 1024, 3);
  const ChunkingParams p = SmallParams();
  GearChunker c(GearKey(3), p);
  auto ends = CutAll(c, data);
  ASSERT_FALSE(ends.empty());
  EXPECT_EQ(ends.back(), data.size());
  std::uint64_t prev = 0;
  bool saw_content_defined = false;
  for (std::size_t i = 0; i < ends.size(); ++i) {
    std::uint64_t size = ends[i] - prev;
    EXPECT_LE(size, p.max_size) << "chunk " << i;
    if (i + 1 < ends.size()) {
      EXPECT_GE(size, p.min_size) << "chunk " << i;  // only the last may be short
    }
    if (size < p.max_size) saw_content_defined = true;
    prev = ends[i];
  }
  EXPECT_TRUE(saw_content_defined);
}

TEST(ChunkerTest, AverageSizeIsNearTarget) {
  const Bytes data = RandomBytes(1 << 20, 4);
  const ChunkingParams p = SmallParams();
  GearChunker c(GearKey(4), p);
  auto ends = CutAll(c, data);
  double avg = double(data.size()) / double(ends.size());
  EXPECT_GT(avg, p.avg_size / 2.0);
  EXPECT_LT(avg, p.avg_size * 2.0);
}

TEST(ChunkerTest, ConstantDataStaysWithinMax) {
  // Over a run of one byte value the gear hash settles after 64 bytes, so
  // the mask either always or never matches; chunks stay bounded either way.
  const Bytes data(64 * 1024, 0);
  GearChunker c(GearKey(5), SmallParams());
  auto ends = CutAll(c, data);
  std::uint64_t prev = 0;
  for (auto e : ends) {
    EXPECT_LE(e - prev, SmallParams().max_size);
    prev = e;
  }
}

TEST(ChunkerTest, InputNoLargerThanMinIsOneChunk) {
  const Bytes data = RandomBytes(256, 6);
  GearChunker c(GearKey(6), SmallParams());
  EXPECT_EQ(c.FindCut(data), 256u);
  EXPECT_EQ(c.FindCut(ByteSpan(data).first(10)), 10u);
}

TEST(ChunkerTest, Align2KeepsCutsElementAligned) {
  const Bytes data = RandomBytes(256 * 1024, 7);
  GearChunker c(GearKey(8), SmallParams());
  auto ends = CutAll(c, data, 2);
  for (auto e : ends) EXPECT_EQ(e % 2, 0u) << e;
  // Unaligned cuts would occur without it (so the test is not vacuous).
  auto unaligned = CutAll(c, data, 1);
  EXPECT_TRUE(std::any_of(unaligned.begin(), unaligned.end(), [](std::uint64_t e) { return e % 2 != 0; }));
}

TEST(ChunkerTest, Align4KeepsCutsElementAligned) {
  const Bytes data = RandomBytes(256 * 1024, 9);
  const ChunkingParams p = SmallParams();
  GearChunker c(GearKey(9), p);
  auto ends = CutAll(c, data, 4);
  std::uint64_t prev = 0;
  for (std::size_t i = 0; i < ends.size(); ++i) {
    EXPECT_EQ(ends[i] % 4, 0u) << ends[i];
    if (i + 1 < ends.size()) {
      EXPECT_GE(ends[i] - prev, p.min_size);  // rounding down never goes below min
    }
    prev = ends[i];
  }
}

TEST(ChunkerTest, InsertionEarlyResynchronisesLaterCuts) {
  const Bytes original = RandomBytes(512 * 1024, 10);
  Bytes edited = original;
  const std::size_t insert_at = 10'000, inserted = 777;
  Bytes extra = RandomBytes(inserted, 11);
  edited.insert(edited.begin() + insert_at, extra.begin(), extra.end());

  GearChunker c(GearKey(10), SmallParams());
  auto cuts_a = CutAll(c, original);
  auto cuts_b = CutAll(c, edited);
  // Shift the edited cuts back into the original's coordinates.
  std::set<std::uint64_t> shifted;
  for (auto e : cuts_b) {
    if (e > insert_at + inserted) shifted.insert(e - inserted);
  }
  // Find the first original cut after the insertion that the edited stream
  // shares; from there on every cut must be shared.
  auto first = std::find_if(cuts_a.begin(), cuts_a.end(),
                            [&](std::uint64_t e) { return e > insert_at && shifted.count(e); });
  ASSERT_NE(first, cuts_a.end()) << "never resynchronised";
  EXPECT_LT(*first, insert_at + 8 * SmallParams().max_size) << "resynchronised too late";
  for (auto it = first; it != cuts_a.end(); ++it) EXPECT_TRUE(shifted.count(*it)) << "cut " << *it << " lost";
  // And everything before the insertion point is untouched.
  for (auto e : cuts_a) {
    if (e + SmallParams().max_size > insert_at) break;
    EXPECT_TRUE(std::find(cuts_b.begin(), cuts_b.end(), e) != cuts_b.end()) << e;
  }
}

TEST(ChunkerTest, DefaultParamsAreValid) { EXPECT_THAT(ValidateChunkingParams(ChunkingParams{}), IsOk()); }

TEST(ChunkerTest, SmallestValidParams) {
  EXPECT_THAT(ValidateChunkingParams({64, 128, 136}), IsOk());
  EXPECT_THAT(ValidateChunkingParams({8 << 20, 16 << 20, 64 << 20}), IsOk());
}

TEST(ChunkerTest, RejectsMinNotMultipleOf8) {
  EXPECT_THAT(ValidateChunkingParams({260, 1024, 4096}), HasCodeAndMessage(StatusCode::kInvalidArgument, "multiples of 8"));
}

TEST(ChunkerTest, RejectsAvgNotMultipleOf8) {
  EXPECT_THAT(ValidateChunkingParams({256, 1025, 4096}), HasCodeAndMessage(StatusCode::kInvalidArgument, "multiples of 8"));
}

TEST(ChunkerTest, RejectsMaxNotMultipleOf8) {
  EXPECT_THAT(ValidateChunkingParams({256, 1024, 4097}), HasCodeAndMessage(StatusCode::kInvalidArgument, "multiples of 8"));
}

TEST(ChunkerTest, RejectsMinBelow64) {
  EXPECT_THAT(ValidateChunkingParams({56, 1024, 4096}), HasCodeAndMessage(StatusCode::kInvalidArgument, "at least 64"));
  EXPECT_THAT(ValidateChunkingParams({0, 1024, 4096}), HasCode(StatusCode::kInvalidArgument));
}

TEST(ChunkerTest, RejectsMinNotBelowAvg) {
  EXPECT_THAT(ValidateChunkingParams({1024, 1024, 4096}), HasCodeAndMessage(StatusCode::kInvalidArgument, "min < avg < max"));
  EXPECT_THAT(ValidateChunkingParams({2048, 1024, 4096}), HasCodeAndMessage(StatusCode::kInvalidArgument, "min < avg < max"));
}

TEST(ChunkerTest, RejectsAvgNotBelowMax) {
  EXPECT_THAT(ValidateChunkingParams({256, 4096, 4096}), HasCodeAndMessage(StatusCode::kInvalidArgument, "min < avg < max"));
  EXPECT_THAT(ValidateChunkingParams({256, 4096, 2048}), HasCodeAndMessage(StatusCode::kInvalidArgument, "min < avg < max"));
}

TEST(ChunkerTest, RejectsMaxAbove64MiB) {
  EXPECT_THAT(ValidateChunkingParams({256, 1024, (64ull << 20) + 8}),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "at most 64 MiB"));
  EXPECT_THAT(ValidateChunkingParams({256, 1024, UINT64_MAX - 7}), HasCode(StatusCode::kInvalidArgument));
}

TEST(ChunkerTest, RejectsAvgNotPowerOfTwo) {
  EXPECT_THAT(ValidateChunkingParams({256, 1032, 4096}), HasCodeAndMessage(StatusCode::kInvalidArgument, "power of two"));
}

TEST(ChunkerTest, ErrorNamesTheParameters) {
  EXPECT_THAT(ValidateChunkingParams({256, 1032, 4096}),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "min=256 avg=1032 max=4096"));
}

TensorInfo Tensor(std::string dtype, std::uint64_t begin, std::uint64_t end, std::uint32_t element_bytes) {
  TensorInfo t;
  t.name = "t" + std::to_string(begin);
  t.dtype = std::move(dtype);
  t.begin = begin;
  t.end = end;
  t.element_bytes = element_bytes;
  return t;
}

TEST(PlanRegionsTest, NoHeaderIsOneRegion) {
  auto r = PlanRegions(1000, nullptr);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].begin, 0u);
  EXPECT_EQ(r[0].end, 1000u);
  EXPECT_EQ(r[0].element_bytes, 1u);
  EXPECT_FALSE(r[0].float16);
  EXPECT_FALSE(r[0].float32);
}

TEST(PlanRegionsTest, EmptyFileHasNoRegions) { EXPECT_TRUE(PlanRegions(0, nullptr).empty()); }

TEST(PlanRegionsTest, SplitsAtTensorBoundaries) {
  TensorHeader h;
  h.data_begin = 100;
  h.tensors = {Tensor("BF16", 100, 300, 2), Tensor("F32", 300, 700, 4), Tensor("F16", 704, 800, 2),
               Tensor("Q4_0", 800, 900, 0), Tensor("I16", 900, 950, 2)};
  auto r = PlanRegions(1000, &h);
  ASSERT_EQ(r.size(), 8u);
  struct Want {
    std::uint64_t b, e;
    std::uint32_t elem;
    bool f16;
    bool f32;
  };
  const Want want[] = {
      {0, 100, 1, false, false},    // header
      {100, 300, 2, true, false},   // BF16
      {300, 700, 4, false, true},   // F32: bg4
      {700, 704, 1, false, false},  // padding
      {704, 800, 2, true, false},   // F16
      {800, 900, 1, false, false},  // block-quantized: no element alignment
      {900, 950, 2, false, false},  // 2-byte integers: aligned but no bg2
      {950, 1000, 1, false, false}, // trailing bytes
  };
  for (std::size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i].begin, want[i].b) << i;
    EXPECT_EQ(r[i].end, want[i].e) << i;
    EXPECT_EQ(r[i].element_bytes, want[i].elem) << i;
    EXPECT_EQ(r[i].float16, want[i].f16) << i;
    EXPECT_EQ(r[i].float32, want[i].f32) << i;
  }
}

TEST(PlanRegionsTest, RegionsAreContiguousAndSkipEmptyTensors) {
  TensorHeader h;
  h.tensors = {Tensor("BF16", 8, 8, 2), Tensor("BF16", 8, 64, 2), Tensor("F32", 64, 128, 4)};
  auto r = PlanRegions(128, &h);
  ASSERT_EQ(r.size(), 3u);
  std::uint64_t pos = 0;
  for (const auto& region : r) {
    EXPECT_EQ(region.begin, pos);
    EXPECT_GT(region.end, region.begin);
    pos = region.end;
  }
  EXPECT_EQ(pos, 128u);
}

TEST(PlanRegionsTest, IgnoresTensorsOutsideTheFile) {
  TensorHeader h;
  h.tensors = {Tensor("F32", 0, 64, 4), Tensor("F32", 32, 96, 4), Tensor("F32", 96, 5000, 4)};
  auto r = PlanRegions(128, &h);
  std::uint64_t pos = 0;
  for (const auto& region : r) {
    EXPECT_EQ(region.begin, pos);
    pos = region.end;
  }
  EXPECT_EQ(pos, 128u);
}

}  // namespace
}  // namespace arca::format
