// RawJsonMember finds the exact bytes of one top-level member's value in a
// JSON object, without re-serializing: Intel signs the served bytes of the
// "tcbInfo" / "enclaveIdentity" value, so they must be verified as served.
#ifndef ARCA_ATTEST_INTERNAL_JSON_RAW_H_
#define ARCA_ATTEST_INTERNAL_JSON_RAW_H_

#include <string_view>

#include "base/status.h"

namespace arca::attest::internal {

// RawJsonMember returns the value text of top-level `key` in `object_text`
// (which the caller has already validated with ParseJson, so duplicates are
// impossible). InvalidArgument when `key` is absent or the text is not an
// object. The view points into `object_text`.
Result<std::string_view> RawJsonMember(std::string_view object_text, std::string_view key);

}  // namespace arca::attest::internal

#endif  // ARCA_ATTEST_INTERNAL_JSON_RAW_H_
