// Fuzz target: bytes -> tlog::ParseLogEntry (specs/log.md §9). Only named
// errors; an accepted entry is the canonical encoding of what was parsed.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tlog/entries.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto e = arca::tlog::ParseLogEntry(text);
  if (!e.ok()) {
    const auto code = e.status().code();
    if (code != arca::StatusCode::kInvalidArgument && code != arca::StatusCode::kResourceExhausted) std::abort();
    return 0;
  }
  auto back = arca::tlog::EncodeLogEntry(*e);
  if (!back.ok() || *back != text) std::abort();
  return 0;
}
