// The built-in pinned roots as PEM text with their expected fingerprints.
#ifndef ARCA_ATTEST_INTERNAL_ROOTS_H_
#define ARCA_ATTEST_INTERNAL_ROOTS_H_

#include <vector>

#include "attest/roots.h"

namespace arca::attest::internal {

// BuiltinRoot is one embedded root certificate.
struct BuiltinRoot {
  const char* name;
  RootVendor vendor;
  const char* pem;
  const char* sha256_der_hex;
};

// BuiltinRoots lists ARK-Milan, ARK-Genoa, ARK-Turin and the Intel SGX Root CA.
const std::vector<BuiltinRoot>& BuiltinRoots();

}  // namespace arca::attest::internal

#endif  // ARCA_ATTEST_INTERNAL_ROOTS_H_
