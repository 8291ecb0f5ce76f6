// Fuzz target: bytes -> ParseBundle -> SerializeBundle must be a fixed point,
// and VerifyBundle (pinned roots, fixed time) must run every parser and the
// certificate-chain handling without crashing. Aborts when a property breaks.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "attest/bundle.h"

namespace {
void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "attest_bundle invariant broken: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto b = arca::attest::ParseBundle(text);
  if (!b.ok()) return 0;
  auto s = arca::attest::SerializeBundle(*b);
  if (!s.ok()) return 0;  // e.g. a platform whose evidence field is empty
  auto again = arca::attest::ParseBundle(*s);
  Check(again.ok(), "serialized bundle does not re-parse");
  auto s2 = arca::attest::SerializeBundle(*again);
  Check(s2.ok() && *s2 == *s, "serialization is not a fixed point");
  static const auto roots = arca::attest::RootStore::Pinned();
  Check(roots.ok(), "pinned roots do not load");
  arca::attest::VerifyOptions o;
  o.time = 1748736000;  // 2025-06-01T00:00:00Z
  arca::attest::Verdict v = arca::attest::VerifyBundle(*b, *roots, o);
  (void)v.ToJson().dump();
  return 0;
}
