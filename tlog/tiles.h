// C2SP tlog-tiles (https://c2sp.org/tlog-tiles): tile paths, building tiles
// from a tree's hashes, and reading hashes back out of tiles for proofs.
//
// What this protects: nothing by itself. Tiles are unauthenticated
// transport; a proof built from fetched tiles is only trusted after it
// verifies against a signed checkpoint (proof.h). TileHashReader checks tile
// lengths so a short or long tile is Corruption, not a crash.
#ifndef ARCA_TLOG_TILES_H_
#define ARCA_TLOG_TILES_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "tlog/merkle.h"

namespace arca::tlog {

inline constexpr int kTileHeight = 8;
inline constexpr std::uint32_t kTileWidth = 256;  // hashes in a full tile
inline constexpr int kMaxTileLevel = 63;
// kMaxEntryBytes: entry bundles length-prefix entries with a uint16.
inline constexpr std::size_t kMaxEntryBytes = 0xffff;

// TileId names a tile (level 0..63) or an entry bundle (`entries`); width
// is 1..256, 256 meaning a full tile (no ".p/<W>" suffix).
struct TileId {
  bool entries = false;
  std::uint8_t level = 0;
  std::uint64_t index = 0;
  std::uint32_t width = kTileWidth;
  friend bool operator==(const TileId&, const TileId&) = default;
  friend auto operator<=>(const TileId&, const TileId&) = default;
};

// TilePath is "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]", with N in
// 3-digit groups, all but the last prefixed with "x" (1234067 ->
// "x001/x234/067"). InvalidArgument for a level above 63 or a width outside
// 1..256.
Result<std::string> TilePath(const TileId& tile);

// ParseTilePath is the exact inverse of TilePath: only canonical paths
// (no leading zero groups, no leading zeros in L or W, W < 256) are
// accepted; InvalidArgument otherwise, naming the element.
Result<TileId> ParseTilePath(std::string_view path);

// TilesForSize lists every tile (hash tiles of each level and entry
// bundles) a tree of `size` leaves is served as: full tiles, and one partial
// tile per level where the width is not zero. With `old_size`, only the
// tiles that are new or changed since a tree of old_size.
std::vector<TileId> TilesForSize(std::uint64_t size, std::uint64_t old_size = 0);

// ReadTile returns a hash tile's bytes (width * 32) from `reader`.
// InvalidArgument for an entries id; reader errors pass through.
Result<Bytes> ReadTile(const HashReader& reader, const TileId& tile);

// EncodeEntryBundle concatenates big-endian uint16 length-prefixed entries.
// InvalidArgument for an entry over kMaxEntryBytes or more than 256 entries.
Result<Bytes> EncodeEntryBundle(const std::vector<Bytes>& entries);
// ParseEntryBundle is its strict inverse; InvalidArgument on truncation or
// when the count is not `want_count`.
Result<std::vector<Bytes>> ParseEntryBundle(ByteSpan bundle, std::uint32_t want_count);

// TileFetcher supplies tile bytes (over HTTP, from disk, ...).
class TileFetcher {
 public:
  virtual ~TileFetcher() = default;
  [[nodiscard]] virtual Result<Bytes> Fetch(const TileId& tile) = 0;
};

// TileHashReader serves the complete-subtree hashes of a tree of `size`
// leaves from tiles, fetching each tile once (cached). Not thread-safe.
// Corruption when a fetched tile has the wrong length; NotFound for a node
// outside the tree.
class TileHashReader : public HashReader {
 public:
  TileHashReader(TileFetcher& fetcher, std::uint64_t size) : fetcher_(fetcher), size_(size) {}
  Result<std::vector<Hash>> ReadHashes(std::span<const NodeId> ids) const override;

 private:
  Result<const Bytes*> Tile(const TileId& id) const;
  TileFetcher& fetcher_;
  std::uint64_t size_;
  mutable std::map<TileId, Bytes> cache_;
};

}  // namespace arca::tlog

#endif  // ARCA_TLOG_TILES_H_
