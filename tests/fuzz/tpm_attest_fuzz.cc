// Fuzz target: bytes -> ParseTpmsAttest (strict TPMS_ATTEST), then a quote
// verification without an AK (which must refuse). Aborts when a property
// breaks.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "attest/tpm.h"

namespace {
void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tpm_attest invariant broken: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  arca::ByteSpan in(data, size);
  auto a = arca::attest::ParseTpmsAttest(in);
  if (!a.ok()) {
    Check(a.status().code() == arca::StatusCode::kInvalidArgument ||
              a.status().code() == arca::StatusCode::kResourceExhausted,
          "error code outside {InvalidArgument, ResourceExhausted}");
    return 0;
  }
  Check(a->magic == 0xff544347 && a->type == 0x8018, "accepted a non-quote");
  Check(a->extra_data.size() <= 64 && a->pcr_digest.size() <= 64, "oversized TPM2B accepted");
  arca::attest::TpmQuote q;
  q.message.assign(in.begin(), in.end());
  arca::attest::Verdict v;
  arca::attest::VerifyTpmQuote(q, nullptr, "", &v);
  Check(!v.ok(), "a quote without an AK verified");
  return 0;
}
