// JSON at Arca's trust boundary: a bounded, strict parser and an RFC 8785
// (JCS) canonical serializer.
//
// ParseJson refuses input over a byte limit, nesting deeper than a depth
// limit, duplicate object keys (a classic way to make two verifiers read two
// different documents) and invalid UTF-8. nlohmann's exceptions stop here.
// CanonicalJson implements RFC 8785 for the values Arca's documents use:
// strings, integers (|n| <= 2^53), booleans, null, arrays, objects. Non-integer
// numbers are refused rather than formatted, so no two encoders can disagree.
#ifndef ARCA_BASE_JSON_H_
#define ARCA_BASE_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"

namespace arca {

using Json = nlohmann::json;

struct JsonLimits {
  std::size_t max_bytes = 1 << 20;
  int max_depth = 32;
};

// ParseJson parses `text`. `what` names the document in errors ("index.json").
// InvalidArgument on syntax, UTF-8 or duplicate-key errors (with the byte
// offset or key); ResourceExhausted over the limits.
Result<Json> ParseJson(std::string_view text, std::string_view what, const JsonLimits& limits = {});

// CanonicalJson serializes per RFC 8785. InvalidArgument for non-integer or
// out-of-range numbers.
Result<std::string> CanonicalJson(const Json& value);

// Typed field accessors for strict schema checks. Each fails with
// InvalidArgument naming `where` and the field when it is missing or has the
// wrong type; RequireUint also refuses negatives and values above max.
Result<std::string> RequireString(const Json& obj, std::string_view field, std::string_view where);
Result<std::uint64_t> RequireUint(const Json& obj, std::string_view field, std::string_view where,
                                  std::uint64_t max = UINT64_MAX);
Result<const Json*> RequireArray(const Json& obj, std::string_view field, std::string_view where);
Result<const Json*> RequireObject(const Json& obj, std::string_view field, std::string_view where);
// RejectUnknownFields fails (InvalidArgument) when `obj` is not an object or
// has a key not in `allowed`.
Status RejectUnknownFields(const Json& obj, std::initializer_list<std::string_view> allowed,
                           std::string_view where);

}  // namespace arca

#endif  // ARCA_BASE_JSON_H_
