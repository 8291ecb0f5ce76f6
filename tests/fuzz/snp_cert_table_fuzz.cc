// Fuzz target: bytes -> ParseSnpCertTable (the SNP certificate table that
// configfs-tsm returns as auxblob). Any accepted table re-serializes into a
// table that parses to the same entries. Aborts when a property is broken.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "attest/snp_cert_table.h"

namespace {
void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "snp_cert_table invariant broken: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto t = arca::attest::ParseSnpCertTable(arca::ByteSpan(data, size));
  if (!t.ok()) {
    Check(t.status().code() == arca::StatusCode::kInvalidArgument ||
              t.status().code() == arca::StatusCode::kResourceExhausted,
          "error code is not InvalidArgument/ResourceExhausted");
    return 0;
  }
  Check(t->size() <= 16, "accepted more than 16 entries");
  std::size_t total = 0;
  for (const auto& e : *t) {
    Check(!e.der.empty(), "accepted an empty certificate");
    total += e.der.size();
  }
  Check(total <= size, "certificates larger than the input");
  auto again = arca::attest::SerializeSnpCertTable(*t);
  Check(again.ok(), "accepted entries do not serialize");
  auto back = arca::attest::ParseSnpCertTable(*again);
  Check(back.ok() && back->size() == t->size(), "re-serialized table does not parse to the same entries");
  for (std::size_t i = 0; i < t->size(); ++i) {
    Check((*back)[i].guid == (*t)[i].guid && (*back)[i].der == (*t)[i].der, "entry changed in the round trip");
  }
  return 0;
}
