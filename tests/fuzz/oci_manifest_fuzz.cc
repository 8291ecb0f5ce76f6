// Fuzz target: bytes -> ParseOciManifest. What parses must serialize
// (SerializeOciManifest has no error path, so it must not meet a value it
// cannot canonicalize), re-parse, and be a fixed point; every digest that
// parsed must be valid, since readers build blob paths from them. Aborts when
// a property is broken.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "format/oci_layout.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "OCI manifest invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using arca::StatusCode;
  auto parsed = arca::format::ParseOciManifest(arca::ByteSpan(data, size));
  if (!parsed.ok()) {
    const StatusCode c = parsed.status().code();
    Check(c == StatusCode::kInvalidArgument || c == StatusCode::kResourceExhausted,
          "ParseOciManifest error code outside {InvalidArgument, ResourceExhausted}");
    return 0;
  }
  Check(arca::format::IsValidDigest(parsed->config.digest), "config digest accepted but invalid");
  for (const auto& l : parsed->layers) Check(arca::format::IsValidDigest(l.digest), "layer digest accepted but invalid");

  const std::string text = arca::format::SerializeOciManifest(*parsed);
  auto reparsed = arca::format::ParseOciManifest(arca::AsBytes(text));
  Check(reparsed.ok(), "serialized OCI manifest does not re-parse");
  Check(arca::format::SerializeOciManifest(*reparsed) == text, "serialization is not a fixed point");
  Check(reparsed->layers.size() == parsed->layers.size(), "layers lost in a round trip");
  return 0;
}
