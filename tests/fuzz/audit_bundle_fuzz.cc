// Fuzz target: bytes -> client::ParseAuditBundle (specs/registry-client.md
// §9). Only named errors; an accepted bundle is the canonical serialization
// of what was parsed (one spelling per bundle).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "client/audit.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto b = arca::client::ParseAuditBundle(arca::ByteSpan(data, size));
  if (!b.ok()) {
    const auto code = b.status().code();
    if (code != arca::StatusCode::kInvalidArgument && code != arca::StatusCode::kResourceExhausted) std::abort();
    return 0;
  }
  auto back = arca::client::SerializeAuditBundle(*b);
  if (!back.ok() || *back != std::string(reinterpret_cast<const char*>(data), size)) std::abort();
  return 0;
}
