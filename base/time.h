// Time as verifiers use it: an explicit argument, never read from the clock
// inside a verification, so a result is a pure function of its inputs and a
// test can ask "was this valid on 2025-06-01?".
#ifndef ARCA_BASE_TIME_H_
#define ARCA_BASE_TIME_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace arca {

// UnixSeconds is a point in time as seconds since 1970-01-01T00:00:00Z.
using UnixSeconds = std::int64_t;

// NowUnixSeconds reads the system clock (callers at the edge only: CLIs and
// servers pass the result into verifiers).
UnixSeconds NowUnixSeconds();

// ParseRfc3339 accepts "YYYY-MM-DDTHH:MM:SSZ" with optional fractional
// seconds (truncated) and a "Z" or "+00:00" zone. InvalidArgument otherwise,
// naming `what`.
Result<UnixSeconds> ParseRfc3339(std::string_view text, std::string_view what = "time");

// ParseDateOrTime accepts RFC 3339 as above or a bare date "YYYY-MM-DD"
// (meaning 00:00:00Z that day), as people type expiry dates.
Result<UnixSeconds> ParseDateOrTime(std::string_view text, std::string_view what = "time");

// FormatRfc3339 prints "YYYY-MM-DDTHH:MM:SSZ".
std::string FormatRfc3339(UnixSeconds t);

}  // namespace arca

#endif  // ARCA_BASE_TIME_H_
