// Test helpers for attest/: reading the shared attestation vectors and
// building bundles from them. Test-only.
#ifndef ARCA_ATTEST_TEST_UTIL_H_
#define ARCA_ATTEST_TEST_UTIL_H_

#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "attest/bundle.h"
#include "base/bytes.h"

namespace arca::attest::testing {

// VectorPath is the path of a file under shared/vectors/attestation/.
inline std::string VectorPath(const std::string& rel) {
  return std::string(ARCA_SOURCE_DIR) + "/../shared/vectors/attestation/" + rel;
}

// ReadVector returns a vector file's bytes (fails the test when missing).
inline Bytes ReadVector(const std::string& rel) {
  std::ifstream f(VectorPath(rel), std::ios::binary);
  EXPECT_TRUE(f.good()) << "missing vector " << rel;
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// ReadVectorText returns a vector file as text.
inline std::string ReadVectorText(const std::string& rel) { return ToString(ReadVector(rel)); }

// At parses an RFC 3339 time or fails the test.
inline UnixSeconds At(const char* rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.ok() ? *t : 0;
}

// FailedCheck returns the first failed check's "name: detail", or "".
inline std::string FailedCheck(const Verdict& v) {
  for (const auto& c : v.checks())
    if (!c.passed) return c.name + ": " + c.detail;
  return "";
}

// HasFailed is true when check `name` ran and failed.
inline bool HasFailed(const Verdict& v, const std::string& name) {
  for (const auto& c : v.checks())
    if (c.name == name && !c.passed) return true;
  return false;
}

// HasPassed is true when check `name` ran and passed.
inline bool HasPassed(const Verdict& v, const std::string& name) {
  for (const auto& c : v.checks())
    if (c.name == name && c.passed) return true;
  return false;
}

}  // namespace arca::attest::testing

#endif  // ARCA_ATTEST_TEST_UTIL_H_
