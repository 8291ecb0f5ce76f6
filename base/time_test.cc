#include "base/time.h"

#include <gtest/gtest.h>

#include "base/testing/status_matchers.h"

namespace arca {
namespace {

TEST(Rfc3339, ParsesAndFormatsUtc) {
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseRfc3339("2025-06-01T00:00:00Z"), 1748736000);
  EXPECT_EQ(FormatRfc3339(1748736000), "2025-06-01T00:00:00Z");
  EXPECT_EQ(*ParseRfc3339("2024-02-29T12:30:59Z"), 1709209859);
}

// Found by the policy fuzzer: year 25 formatted as "25-01-01…", which the
// parser refuses, so a policy expiring in 0025 could not be re-read.
TEST(Rfc3339, SmallYearsRoundTrip) {
  for (const char* t : {"0025-01-01T00:00:00Z", "0001-12-31T23:59:59Z", "0999-07-04T01:02:03Z"}) {
    auto parsed = ParseRfc3339(t);
    ASSERT_THAT(parsed, IsOk()) << t;
    EXPECT_EQ(FormatRfc3339(*parsed), t);
  }
}

TEST(Rfc3339, RefusesDatesThatDoNotExist) {
  for (const char* t : {"2025-02-29T00:00:00Z", "2024-02-30T00:00:00Z", "2025-04-31T00:00:00Z", "2025-13-01T00:00:00Z",
                        "2025-00-10T00:00:00Z", "2025-01-00T00:00:00Z", "2025-06-30T24:00:00Z",
                        "2016-12-31T23:59:60Z", "1900-02-29T00:00:00Z"}) {
    EXPECT_THAT(ParseRfc3339(t), HasCode(StatusCode::kInvalidArgument)) << t;
  }
  EXPECT_THAT(ParseRfc3339("2000-02-29T00:00:00Z"), IsOk());
}

TEST(Rfc3339, RefusesOtherZonesAndShapes) {
  for (const char* t : {"2025-06-01T00:00:00+01:00", "2025-06-01 00:00:00Z", "2025-06-01T00:00:00", "2025-6-01T00:00:00Z",
                        "2025-06-01T00:00:00.Z", ""}) {
    EXPECT_THAT(ParseRfc3339(t), HasCode(StatusCode::kInvalidArgument)) << t;
  }
}

}  // namespace
}  // namespace arca
