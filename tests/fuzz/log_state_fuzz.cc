// Fuzz target: bytes -> distribution::ParseLogState (the client's per-
// registry log state, specs/registry-client.md §8). Only named errors; an
// accepted state serializes to text that parses back to the same state.
#include <cstdint>
#include <cstdlib>

#include "distribution/log_client.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto s = arca::distribution::ParseLogState(arca::ByteSpan(data, size));
  if (!s.ok()) {
    const auto code = s.status().code();
    if (code != arca::StatusCode::kInvalidArgument && code != arca::StatusCode::kResourceExhausted) std::abort();
    return 0;
  }
  auto text = arca::distribution::SerializeLogState(*s);
  if (!text.ok()) std::abort();
  auto again = arca::distribution::ParseLogState(arca::AsBytes(*text));
  if (!again.ok() || !(*again == *s)) std::abort();
  return 0;
}
