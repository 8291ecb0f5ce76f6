// Fuzz target: bytes -> ParseManifest. Whatever parses must be a fixed point
// of canonical serialization (SerializeManifest succeeds, its output
// re-parses, and re-serializes to the same bytes), because LoadPackage refuses
// a manifest whose bytes are not exactly its canonical form and the MAC is
// computed over that form. Errors must carry the documented codes. Aborts
// when a property is broken.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "format/lineage_key.h"
#include "format/manifest.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "manifest invariant broken: %s\n", what);
    std::abort();
  }
}

const arca::format::LineageKey& FuzzKey() {
  static const arca::format::LineageKey key = arca::format::LineageKey::FromBytes(arca::Bytes(32, 0x5a)).value();
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using arca::StatusCode;
  arca::format::ManifestLimits limits;
  limits.max_bytes = 1 << 20;
  limits.max_files = 1000;
  limits.max_chunks = 10'000;
  limits.max_packs = 1000;
  limits.max_tensors_per_file = 1000;

  auto parsed = arca::format::ParseManifest(arca::ByteSpan(data, size), limits);
  if (!parsed.ok()) {
    const StatusCode c = parsed.status().code();
    Check(c == StatusCode::kInvalidArgument || c == StatusCode::kCorruption || c == StatusCode::kResourceExhausted,
          "ParseManifest error code outside {InvalidArgument, Corruption, ResourceExhausted}");
    Check(!parsed.status().message().empty(), "ParseManifest error without a message");
    return 0;
  }

  auto canonical = arca::format::SerializeManifest(*parsed);
  Check(canonical.ok(), "a parsed manifest does not serialize");
  Check(arca::format::SerializeManifest(*parsed, /*include_mac=*/false).ok(), "the MAC input does not serialize");

  auto reparsed = arca::format::ParseManifest(arca::AsBytes(*canonical), limits);
  Check(reparsed.ok(), "the canonical form of a parsed manifest does not re-parse");
  auto again = arca::format::SerializeManifest(*reparsed);
  Check(again.ok() && *again == *canonical, "serialization is not a fixed point");

  // Key checks must fail cleanly (or pass, for a manifest that happens to
  // carry this key's id and MAC), never crash.
  arca::Status s = arca::format::VerifyManifestKey(*parsed, FuzzKey());
  Check(s.ok() || s.code() == StatusCode::kUnauthenticated, "VerifyManifestKey error is not Unauthenticated");
  return 0;
}
