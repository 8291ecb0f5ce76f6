// Fuzz target: bytes -> ParseCheckpointBody; accepted bodies round-trip
// byte for byte.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tlog/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cp = arca::tlog::ParseCheckpointBody(text);
  if (!cp.ok()) {
    const auto code = cp.status().code();
    if (code != arca::StatusCode::kInvalidArgument && code != arca::StatusCode::kResourceExhausted) std::abort();
    return 0;
  }
  auto back = arca::tlog::SerializeCheckpointBody(*cp);
  if (!back.ok() || *back != text) std::abort();
  return 0;
}
