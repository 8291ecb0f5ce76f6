// Fuzz target: bytes -> ParseTdxQuote, then the PCK certificate chain it
// carries through the certificate parser. Accepted quotes account for every
// byte (quote proper + ignored trailing bytes). Aborts when a property breaks.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "attest/internal/x509.h"
#include "attest/tdx.h"

namespace {
void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tdx_quote invariant broken: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto q = arca::attest::ParseTdxQuote(arca::ByteSpan(data, size));
  if (!q.ok()) {
    Check(q.status().code() == arca::StatusCode::kInvalidArgument ||
              q.status().code() == arca::StatusCode::kResourceExhausted,
          "error code outside {InvalidArgument, ResourceExhausted}");
    return 0;
  }
  Check(q->quote_size + q->trailing_bytes == size, "quote size + trailing bytes != input size");
  Check(q->signed_size <= q->quote_size, "signed region beyond the quote");
  Check(q->version == 4 || q->version == 5, "accepted an unsupported version");
  Check(q->qe_report_raw.size() == 384, "QE report not 384 bytes");
  auto certs = arca::attest::internal::ParseCertificates(q->pck_cert_chain, "fuzz PCK chain");
  if (certs.ok()) {
    for (const auto& c : *certs) (void)arca::attest::internal::CommonName(c.get());
  }
  return 0;
}
