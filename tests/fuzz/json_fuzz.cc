// Fuzz target: bytes -> ParseJson -> CanonicalJson, checking that
// canonicalization is a fixed point (RFC 8785 output must re-parse under the
// same limits and re-canonicalize to the identical bytes) and that failures
// carry the promised codes. Aborts when a property is broken.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "base/status.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "json invariant broken: %s\n", what);
    std::abort();
  }
}

constexpr std::string_view kName = "fuzz-input";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  arca::JsonLimits limits;
  limits.max_bytes = 8192;
  limits.max_depth = 12;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto parsed = arca::ParseJson(text, kName, limits);
  if (!parsed.ok()) {
    const arca::Status& s = parsed.status();
    Check(s.code() == arca::StatusCode::kInvalidArgument || s.code() == arca::StatusCode::kResourceExhausted,
          "ParseJson error code outside {InvalidArgument, ResourceExhausted}");
    Check(s.message().find(kName) != std::string::npos, "ParseJson error does not name the document");
    Check(size <= limits.max_bytes || s.code() == arca::StatusCode::kResourceExhausted,
          "oversized input not refused as ResourceExhausted");
    return 0;
  }
  Check(size <= limits.max_bytes, "input over max_bytes was accepted");

  auto canonical = arca::CanonicalJson(*parsed);
  if (!canonical.ok()) {
    // Only numbers outside the integer subset may be refused.
    Check(canonical.status().code() == arca::StatusCode::kInvalidArgument, "CanonicalJson error code");
    return 0;
  }
  // Canonical form drops whitespace and needless escapes and never adds any,
  // so it is never longer than the input (which keeps it under max_bytes).
  Check(canonical->size() <= size, "canonical form is longer than the input");

  auto reparsed = arca::ParseJson(*canonical, kName, limits);
  Check(reparsed.ok(), "canonical form does not re-parse under the same limits");
  Check(*reparsed == *parsed, "canonical form parses to a different value");

  auto again = arca::CanonicalJson(*reparsed);
  Check(again.ok(), "canonical form cannot be re-canonicalized");
  Check(*again == *canonical, "canonicalization is not a fixed point");
  return 0;
}
