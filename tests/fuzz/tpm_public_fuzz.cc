// Fuzz target: bytes -> ParseTpm2bPublic (strict TPM2B_PUBLIC of an ECC
// key, as the runtime reads its attestation key). Aborts when a property
// breaks.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "attest/tpm.h"

namespace {
void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tpm_public invariant broken: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  arca::ByteSpan in(data, size);
  auto p = arca::attest::ParseTpm2bPublic(in);
  if (!p.ok()) {
    Check(p.status().code() == arca::StatusCode::kInvalidArgument ||
              p.status().code() == arca::StatusCode::kResourceExhausted,
          "error code outside {InvalidArgument, ResourceExhausted}");
    return 0;
  }
  Check(size >= 2 && (std::size_t(data[0]) << 8 | data[1]) == size - 2, "outer size not checked");
  Check(size >= 4 && data[2] == 0x00 && data[3] == 0x23, "accepted a non-ECC key");
  Check(p->x.size() <= 66 && p->y.size() <= 66 && p->auth_policy.size() <= 64, "oversized TPM2B accepted");
  return 0;
}
