// Fuzz target: bytes -> ParseTilePath; accepted paths are canonical
// (TilePath gives the same text back).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tlog/tiles.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto tile = arca::tlog::ParseTilePath(text);
  if (!tile.ok()) {
    if (tile.status().code() != arca::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  auto back = arca::tlog::TilePath(*tile);
  if (!back.ok() || *back != text) std::abort();
  return 0;
}
