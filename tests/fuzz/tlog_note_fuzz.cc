// Fuzz target: bytes -> ParseNote; an accepted note must serialize back to
// the same bytes, and errors carry only the promised codes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "tlog/note.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto note = arca::tlog::ParseNote(text);
  if (!note.ok()) {
    const auto code = note.status().code();
    if (code != arca::StatusCode::kInvalidArgument && code != arca::StatusCode::kResourceExhausted) std::abort();
    return 0;
  }
  auto back = arca::tlog::SerializeNote(*note);
  if (!back.ok() || *back != text) {
    std::fprintf(stderr, "note does not round-trip\n");
    std::abort();
  }
  // Verifying with no keys must refuse (never crash).
  if (arca::tlog::VerifyNote(*note, {}).ok()) std::abort();
  return 0;
}
