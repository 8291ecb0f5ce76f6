#include "tlog/tiles.h"

#include <algorithm>

namespace arca::tlog {
namespace {

std::string Num(std::uint64_t v) { return std::to_string(v); }

// ParseSmall parses canonical decimal (no leading zero) up to `max`.
bool ParseSmall(std::string_view s, std::uint64_t max, std::uint64_t* out) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

bool ThreeDigits(std::string_view s, std::uint64_t* out) {
  if (s.size() != 3) return false;
  *out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    *out = *out * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return true;
}

}  // namespace

Result<std::string> TilePath(const TileId& tile) {
  if (tile.level > kMaxTileLevel) return InvalidArgumentError("tile: level " + Num(tile.level) + " above 63");
  if (tile.width < 1 || tile.width > kTileWidth) return InvalidArgumentError("tile: width " + Num(tile.width) + " not in 1..256");
  std::string n;
  std::uint64_t index = tile.index;
  std::vector<std::string> groups;
  do {
    const std::uint64_t g = index % 1000;
    index /= 1000;
    std::string d = Num(g);
    groups.push_back(std::string(3 - d.size(), '0') + d);
  } while (index > 0);
  std::string out = tile.entries ? "tile/entries" : "tile/" + Num(tile.level);
  for (std::size_t i = groups.size(); i-- > 0;) out += (i > 0 ? "/x" : "/") + groups[i];
  if (tile.width != kTileWidth) out += ".p/" + Num(tile.width);
  return out;
}

Result<TileId> ParseTilePath(std::string_view path) {
  const auto bad = [&](const std::string& why) { return InvalidArgumentError("tile path: " + why); };
  if (path.size() > 128) return bad("too long");
  if (path.substr(0, 5) != "tile/") return bad("does not start with tile/");
  path.remove_prefix(5);
  std::vector<std::string_view> parts;
  while (true) {
    const std::size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  TileId t;
  if (parts[0] == "entries") {
    t.entries = true;
  } else {
    std::uint64_t level = 0;
    if (!ParseSmall(parts[0], kMaxTileLevel, &level)) return bad("level is not 0..63 without leading zeros");
    t.level = static_cast<std::uint8_t>(level);
  }
  std::size_t end = parts.size();
  // Partial: the element before the width ends in ".p".
  if (end >= 3 && parts[end - 2].size() > 2 && parts[end - 2].substr(parts[end - 2].size() - 2) == ".p") {
    std::uint64_t w = 0;
    if (!ParseSmall(parts[end - 1], kTileWidth - 1, &w) || w == 0) return bad("partial width is not 1..255");
    t.width = static_cast<std::uint32_t>(w);
    parts[end - 2].remove_suffix(2);
    --end;
  }
  if (end < 2) return bad("no index");
  if (end - 1 > 7) return bad("index has too many groups");
  std::uint64_t index = 0;
  for (std::size_t i = 1; i < end; ++i) {
    std::string_view g = parts[i];
    const bool last = i == end - 1;
    if (!last) {
      if (g.empty() || g[0] != 'x') return bad("index group " + Num(i) + " lacks the x prefix");
      g.remove_prefix(1);
    }
    std::uint64_t v = 0;
    if (!ThreeDigits(g, &v)) return bad("index group " + Num(i) + " is not three digits");
    if (i == 1 && !last && v == 0) return bad("index has a leading zero group");
    if (index > (~std::uint64_t{0} - v) / 1000) return bad("index overflows 64 bits");
    index = index * 1000 + v;
  }
  t.index = index;
  return t;
}

std::vector<TileId> TilesForSize(std::uint64_t size, std::uint64_t old_size) {
  std::vector<TileId> out;
  if (old_size > size) old_size = 0;
  for (int level = 0; level <= kMaxTileLevel; ++level) {
    const int shift = kTileHeight * level;
    if (shift >= 64) break;
    const std::uint64_t n = size >> shift;  // hashes at this tile level
    if (n == 0) break;
    const std::uint64_t old_n = old_size >> shift;
    // Full tiles completed since old_size, then the partial tile if it changed.
    for (std::uint64_t i = old_n / kTileWidth; i < n / kTileWidth; ++i) {
      out.push_back(TileId{false, static_cast<std::uint8_t>(level), i, kTileWidth});
      if (level == 0) out.push_back(TileId{true, 0, i, kTileWidth});
    }
    const std::uint32_t w = static_cast<std::uint32_t>(n % kTileWidth);
    if (w != 0 && n != old_n) {
      out.push_back(TileId{false, static_cast<std::uint8_t>(level), n / kTileWidth, w});
      if (level == 0) out.push_back(TileId{true, 0, n / kTileWidth, w});
    }
  }
  return out;
}

Result<Bytes> ReadTile(const HashReader& reader, const TileId& tile) {
  if (tile.entries) return InvalidArgumentError("tile: entry bundles are not hash tiles");
  if (tile.level > kMaxTileLevel || tile.width < 1 || tile.width > kTileWidth) {
    return InvalidArgumentError("tile: bad level or width");
  }
  const int merkle_level = kTileHeight * tile.level;
  if (merkle_level > 63) return InvalidArgumentError("tile: level too high for a 64-bit tree");
  std::vector<NodeId> ids;
  for (std::uint32_t i = 0; i < tile.width; ++i) {
    ids.push_back(NodeId{static_cast<std::uint8_t>(merkle_level), tile.index * kTileWidth + i});
  }
  ARCA_ASSIGN_OR_RETURN(std::vector<Hash> hashes, reader.ReadHashes(ids));
  Bytes out;
  out.reserve(hashes.size() * kHashSize);
  for (const Hash& h : hashes) out.insert(out.end(), h.begin(), h.end());
  return out;
}

Result<Bytes> EncodeEntryBundle(const std::vector<Bytes>& entries) {
  if (entries.size() > kTileWidth) return InvalidArgumentError("entry bundle: more than 256 entries");
  Bytes out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].size() > kMaxEntryBytes) {
      return InvalidArgumentError("entry bundle: entry " + Num(i) + " is over 65535 bytes");
    }
    out.push_back(static_cast<std::uint8_t>(entries[i].size() >> 8));
    out.push_back(static_cast<std::uint8_t>(entries[i].size()));
    out.insert(out.end(), entries[i].begin(), entries[i].end());
  }
  return out;
}

Result<std::vector<Bytes>> ParseEntryBundle(ByteSpan bundle, std::uint32_t want_count) {
  std::vector<Bytes> out;
  std::size_t off = 0;
  while (off < bundle.size()) {
    if (out.size() == want_count) return InvalidArgumentError("entry bundle: more than " + Num(want_count) + " entries");
    if (bundle.size() - off < 2) return InvalidArgumentError("entry bundle: truncated length at byte " + Num(off));
    const std::size_t len = std::size_t(bundle[off]) << 8 | bundle[off + 1];
    off += 2;
    if (bundle.size() - off < len) return InvalidArgumentError("entry bundle: truncated entry at byte " + Num(off));
    out.emplace_back(bundle.begin() + off, bundle.begin() + off + len);
    off += len;
  }
  if (out.size() != want_count) {
    return InvalidArgumentError("entry bundle: " + Num(out.size()) + " entries, want " + Num(want_count));
  }
  return out;
}

Result<const Bytes*> TileHashReader::Tile(const TileId& id) const {
  auto it = cache_.find(id);
  if (it != cache_.end()) return &it->second;
  ARCA_ASSIGN_OR_RETURN(Bytes bytes, fetcher_.Fetch(id));
  if (bytes.size() != std::size_t{id.width} * kHashSize) {
    auto path = TilePath(id);
    return CorruptionError("tile " + (path.ok() ? *path : std::string("?")) + " is " + Num(bytes.size()) +
                           " bytes, want " + Num(std::size_t{id.width} * kHashSize));
  }
  return &cache_.emplace(id, std::move(bytes)).first->second;
}

Result<std::vector<Hash>> TileHashReader::ReadHashes(std::span<const NodeId> ids) const {
  std::vector<Hash> out;
  out.reserve(ids.size());
  for (const NodeId& id : ids) {
    // Node (level, index) covers leaves [index << level, (index+1) << level).
    if (id.level > 63 || id.index >= (size_ >> id.level)) {
      return NotFoundError("tiles: node level " + Num(id.level) + " index " + Num(id.index) +
                           " is not complete in a tree of size " + Num(size_));
    }
    const int tile_level = id.level / kTileHeight;
    const int r = id.level % kTileHeight;  // levels inside the tile above its stored hashes
    const std::uint64_t first = id.index << r;  // first stored hash at level 8 * tile_level
    const std::uint64_t stored = size_ >> (kTileHeight * tile_level);
    TileId tile{false, static_cast<std::uint8_t>(tile_level), first / kTileWidth, kTileWidth};
    if ((tile.index + 1) * kTileWidth > stored) tile.width = static_cast<std::uint32_t>(stored % kTileWidth);
    ARCA_ASSIGN_OR_RETURN(const Bytes* bytes, Tile(tile));
    const std::size_t offset = static_cast<std::size_t>(first % kTileWidth);
    const std::size_t count = std::size_t{1} << r;
    std::vector<Hash> hashes(count);
    for (std::size_t i = 0; i < count; ++i) {
      std::copy_n(bytes->begin() + (offset + i) * kHashSize, kHashSize, hashes[i].begin());
    }
    out.push_back(RootOfLeafHashes(hashes));  // a perfect subtree of 2^r stored hashes
  }
  return out;
}

}  // namespace arca::tlog
