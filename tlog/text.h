// Canonical spellings shared by the tlog text formats (notes, checkpoints,
// proofs, witness requests): each value has exactly one accepted spelling, so
// a parsed message re-serializes byte for byte. Internal to tlog/.
#ifndef ARCA_TLOG_TEXT_H_
#define ARCA_TLOG_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace arca::tlog {

// ParseCanonicalDecimal: ASCII digits, no sign, no leading zero (except
// "0"), below 2^63 (so sizes, indexes and unix times share one rule).
// InvalidArgument prefixed with `where`.
Result<std::uint64_t> ParseCanonicalDecimal(std::string_view s, std::string_view where);

// DecodeCanonicalBase64 accepts only standard padded base64 (RFC 4648 §4)
// whose re-encoding equals the input. InvalidArgument prefixed with `where`.
Result<Bytes> DecodeCanonicalBase64(std::string_view s, std::string_view where);

}  // namespace arca::tlog

#endif  // ARCA_TLOG_TEXT_H_
