// tlog-tiles tests. Path examples and tile counts are from the spec text,
// https://c2sp.org/tlog-tiles (C2SP/C2SP tlog-tiles.md, "Merkle Tree" and
// "Partial Tiles"); proofs read from tiles must equal proofs read from the
// tree itself.
#include "tlog/tiles.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "base/testing/status_matchers.h"

namespace arca::tlog {
namespace {

TEST(TilePaths, SpecExamples) {
  EXPECT_EQ(*TilePath(TileId{false, 0, 1234067, 256}), "tile/0/x001/x234/067");
  EXPECT_EQ(*TilePath(TileId{false, 2, 0, 1}), "tile/2/000.p/1");
  EXPECT_EQ(*TilePath(TileId{true, 0, 1234067, 112}), "tile/entries/x001/x234/067.p/112");
  EXPECT_EQ(*TilePath(TileId{false, 63, 1000, 256}), "tile/63/x001/000");
  auto parsed = ParseTilePath("tile/0/x001/x234/067");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(*parsed, (TileId{false, 0, 1234067, 256}));
  parsed = ParseTilePath("tile/entries/x001/x234/067.p/112");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(*parsed, (TileId{true, 0, 1234067, 112}));
}

TEST(TilePaths, RoundTrips) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    TileId t;
    t.entries = rng() % 4 == 0;
    t.level = t.entries ? 0 : static_cast<std::uint8_t>(rng() % 64);
    t.index = rng() >> (rng() % 64);
    t.width = rng() % 2 ? 256 : 1 + static_cast<std::uint32_t>(rng() % 255);
    auto path = TilePath(t);
    ASSERT_THAT(path, IsOk());
    auto back = ParseTilePath(*path);
    ASSERT_THAT(back, IsOk()) << *path;
    EXPECT_EQ(*back, t) << *path;
  }
  EXPECT_EQ(*TilePath(TileId{false, 0, ~std::uint64_t{0}, 256}), "tile/0/x018/x446/x744/x073/x709/x551/615");
  EXPECT_THAT(ParseTilePath("tile/0/x018/x446/x744/x073/x709/x551/616"), HasCode(StatusCode::kInvalidArgument));
}

TEST(TilePaths, NonCanonicalRefused) {
  for (const char* p : {"tile/00/000", "tile/64/000", "tile/0/x000/001", "tile/0/1", "tile/0/0001", "tile/0/001/002",
                        "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/05", "tile/0/000.p/", "tile/0/", "tile/0",
                        "tile/entries", "tiles/0/000", "tile/0/x001.p/5", "tile/-1/000", "tile/0/000/", "tile//000",
                        "tile/0/xx01/000", "tile/entries/x001", "tile/0/000.p/1/2"}) {
    EXPECT_THAT(ParseTilePath(p), HasCode(StatusCode::kInvalidArgument)) << p;
  }
  EXPECT_THAT(TilePath(TileId{false, 64, 0, 256}), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(TilePath(TileId{false, 0, 0, 0}), HasCode(StatusCode::kInvalidArgument));
}

TEST(TileSet, SpecCountsForSize70000And256) {
  int full0 = 0, full1 = 0, entries = 0;
  std::map<int, std::uint32_t> partial;
  for (const TileId& t : TilesForSize(70000)) {
    if (t.entries) {
      ++entries;
    } else if (t.width == 256) {
      (t.level == 0 ? full0 : full1)++;
    } else {
      partial[t.level] = t.width;
    }
  }
  EXPECT_EQ(full0, 273);
  EXPECT_EQ(full1, 1);
  EXPECT_EQ(entries, 274);
  EXPECT_EQ(partial, (std::map<int, std::uint32_t>{{0, 112}, {1, 17}, {2, 1}}));
  const auto t256 = TilesForSize(256);
  EXPECT_EQ(t256, (std::vector<TileId>{{false, 0, 0, 256}, {true, 0, 0, 256}, {false, 1, 0, 1}}));
  // Growing from 256 to 300: a new partial level-0 tile and bundle only.
  EXPECT_EQ(TilesForSize(300, 256), (std::vector<TileId>{{false, 0, 1, 44}, {true, 0, 1, 44}}));
}

class MapFetcher : public TileFetcher {
 public:
  std::map<TileId, Bytes> tiles;
  int fetches = 0;
  Result<Bytes> Fetch(const TileId& t) override {
    ++fetches;
    auto it = tiles.find(t);
    if (it == tiles.end()) return NotFoundError("no tile " + *TilePath(t));
    return it->second;
  }
};

TEST(TileHashReader, ProofsFromTilesEqualProofsFromTheTree) {
  MemoryTree mem;
  MapFetcher fetcher;
  std::uint64_t published = 0;
  for (std::uint64_t size : {1000u, 70000u}) {
    while (mem.size() < size) ASSERT_THAT(mem.AppendLeaf(AsBytes(std::to_string(mem.size()))), IsOk());
    for (const TileId& t : TilesForSize(size, published)) {
      if (t.entries) continue;
      auto bytes = ReadTile(mem, t);
      ASSERT_THAT(bytes, IsOk());
      fetcher.tiles[t] = *bytes;
    }
    published = size;
  }
  std::mt19937_64 rng(11);
  for (std::uint64_t size : {1000u, 70000u}) {
    TileHashReader tiles(fetcher, size);
    EXPECT_EQ(*TreeRoot(tiles, size), *TreeRoot(mem, size)) << size;
    for (int i = 0; i < 100; ++i) {
      const std::uint64_t index = rng() % size;
      EXPECT_EQ(*InclusionProof(tiles, index, size), *InclusionProof(mem, index, size));
      const std::uint64_t size1 = 1 + rng() % size;
      EXPECT_EQ(*ConsistencyProof(tiles, size1, size), *ConsistencyProof(mem, size1, size));
    }
  }
  // A node beyond the tree is NotFound; a short tile is Corruption.
  TileHashReader small(fetcher, 1000);
  NodeId beyond{0, 1000};
  EXPECT_THAT(small.ReadHashes(std::span(&beyond, 1)), HasCode(StatusCode::kNotFound));
  fetcher.tiles[TileId{false, 0, 3, 232}].pop_back();
  NodeId last{0, 999};
  EXPECT_THAT(small.ReadHashes(std::span(&last, 1)), HasCode(StatusCode::kCorruption));
}

TEST(EntryBundles, RoundTripAndRefusals) {
  std::vector<Bytes> entries{{}, {1, 2, 3}, Bytes(300, 7)};
  auto bundle = EncodeEntryBundle(entries);
  ASSERT_THAT(bundle, IsOk());
  EXPECT_EQ((*bundle)[0], 0);
  EXPECT_EQ(bundle->size(), 3 * 2 + 3 + 300u);
  EXPECT_EQ(*ParseEntryBundle(*bundle, 3), entries);
  EXPECT_THAT(ParseEntryBundle(*bundle, 2), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEntryBundle(*bundle, 4), HasCode(StatusCode::kInvalidArgument));
  bundle->pop_back();
  EXPECT_THAT(ParseEntryBundle(*bundle, 3), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(EncodeEntryBundle({Bytes(70000)}), HasCode(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace arca::tlog
