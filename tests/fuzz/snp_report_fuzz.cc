// Fuzz target: bytes -> ParseSnpReport. Any accepted input is exactly 1184
// bytes with a supported version and signature algorithm, and its claims
// serialize. Aborts when a property is broken.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "attest/snp.h"

namespace {
void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "snp_report invariant broken: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = arca::attest::ParseSnpReport(arca::ByteSpan(data, size));
  if (!r.ok()) {
    Check(r.status().code() == arca::StatusCode::kInvalidArgument, "error code is not InvalidArgument");
    return 0;
  }
  Check(size == arca::attest::kSnpReportSize, "accepted a report of the wrong length");
  Check(r->version == 2 || r->version == 3 || r->version == 5, "accepted an unsupported version");
  Check(r->signature_algo == 1, "accepted an unknown signature algorithm");
  Check(r->raw.size() == size, "raw bytes not kept");
  auto j = arca::attest::SnpReportJson(*r, r->IsTurinLayout());
  Check(!j.dump().empty(), "claims do not serialize");
  return 0;
}
