// Helpers for known-answer-vector runners: locating vector files, reading
// JSON and hex, and refusing fields a runner does not understand.
//
// Vectors from the standards live in two places: the shared set beside the
// checkout (`../shared/vectors/standards/`: Wycheproof, HPKE, DSSE; see its
// MANIFEST.md) and the repository's own `tests/vectors/<area>/` (RFC
// appendices copied by hand, each with a README citing its section).
// Test-only: needs ARCA_SOURCE_DIR (set by arca_test) and GTest.
#ifndef ARCA_BASE_TESTING_TEST_VECTORS_H_
#define ARCA_BASE_TESTING_TEST_VECTORS_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/bytes.h"

namespace arca::test_vectors {

// StandardVectorPath names a file under shared/vectors/standards/.
inline std::string StandardVectorPath(std::string_view relative) {
  return std::string(ARCA_SOURCE_DIR) + "/../shared/vectors/standards/" + std::string(relative);
}

// RepoVectorPath names a file under the repository's tests/vectors/.
inline std::string RepoVectorPath(std::string_view relative) {
  return std::string(ARCA_SOURCE_DIR) + "/tests/vectors/" + std::string(relative);
}

// LoadJson reads and parses a JSON file; on failure it records a test
// failure and returns a discarded value (check with is_discarded()).
inline nlohmann::json LoadJson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot open vector file " << path;
    return nlohmann::json::value_t::discarded;
  }
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) ADD_FAILURE() << "vector file is not JSON: " << path;
  return j;
}

// Hex decodes a JSON string of hex digits; a non-string or bad hex records a
// failure and yields empty bytes.
inline Bytes Hex(const nlohmann::json& value) {
  if (!value.is_string()) {
    ADD_FAILURE() << "expected a hex string, got " << value.dump();
    return {};
  }
  Result<Bytes> b = HexDecode(value.get<std::string>());
  if (!b.ok()) {
    ADD_FAILURE() << "bad hex " << value.dump() << ": " << b.status().ToString();
    return {};
  }
  return std::move(b).value();
}

// HasOnlyFields fails when `object` is not an object or has a member outside
// `known`: a runner must understand every field it is given, so a new field
// in a vector file (a new condition to test) cannot be silently ignored.
inline ::testing::AssertionResult HasOnlyFields(const nlohmann::json& object,
                                                std::initializer_list<std::string_view> known,
                                                std::string_view where) {
  if (!object.is_object()) return ::testing::AssertionFailure() << where << " is not a JSON object";
  for (const auto& [name, value] : object.items()) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return ::testing::AssertionFailure() << where << " has field \"" << name
                                           << "\" that this runner does not understand";
    }
  }
  return ::testing::AssertionSuccess();
}

// HasOnlyFlags fails when a Wycheproof test carries a flag the runner has no
// policy for, or one the file's "notes" do not define.
inline ::testing::AssertionResult HasOnlyFlags(const nlohmann::json& test, const nlohmann::json& notes,
                                               std::initializer_list<std::string_view> known,
                                               std::string_view where) {
  for (const auto& flag : test.at("flags")) {
    std::string f = flag.get<std::string>();
    if (!notes.contains(f)) return ::testing::AssertionFailure() << where << " flag " << f << " is not in notes";
    if (std::find(known.begin(), known.end(), f) == known.end()) {
      return ::testing::AssertionFailure() << where << " has flag " << f << " that this runner has no policy for";
    }
  }
  return ::testing::AssertionSuccess();
}

// HasFlag reports whether a Wycheproof test carries `flag`.
inline bool HasFlag(const nlohmann::json& test, std::string_view flag) {
  for (const auto& f : test.at("flags")) {
    if (f.get<std::string>() == flag) return true;
  }
  return false;
}

// WycheproofCounts tallies results so each runner can assert it ran every
// test and saw the expected mix.
struct WycheproofCounts {
  int valid = 0;
  int invalid = 0;
  int acceptable = 0;
  int skipped = 0;
  int total() const { return valid + invalid + acceptable + skipped; }
};

// CheckWycheproofFile checks the top-level fields of a Wycheproof v1 file
// (algorithm, schema, numberOfTests, header, notes, testGroups).
inline ::testing::AssertionResult CheckWycheproofFile(const nlohmann::json& file, std::string_view algorithm,
                                                      std::string_view schema) {
  auto fields = HasOnlyFields(file, {"algorithm", "schema", "numberOfTests", "header", "notes", "testGroups"},
                              "Wycheproof file");
  if (!fields) return fields;
  if (file.at("algorithm") != algorithm) {
    return ::testing::AssertionFailure() << "algorithm is " << file.at("algorithm") << ", want " << algorithm;
  }
  if (file.at("schema") != schema) {
    return ::testing::AssertionFailure() << "schema is " << file.at("schema") << ", want " << schema;
  }
  return ::testing::AssertionSuccess();
}

// ResultOf returns a Wycheproof test's "result" and counts it; an unknown
// result value records a failure.
inline std::string ResultOf(const nlohmann::json& test, WycheproofCounts& counts) {
  std::string result = test.at("result").get<std::string>();
  if (result == "valid") {
    ++counts.valid;
  } else if (result == "invalid") {
    ++counts.invalid;
  } else if (result == "acceptable") {
    ++counts.acceptable;
  } else {
    ADD_FAILURE() << "unknown Wycheproof result \"" << result << "\" in tcId " << test.at("tcId");
  }
  return result;
}

// TcId renders "tcId N" for failure messages.
inline std::string TcId(const nlohmann::json& test) { return "tcId " + test.at("tcId").dump(); }

}  // namespace arca::test_vectors

#endif  // ARCA_BASE_TESTING_TEST_VECTORS_H_
