// Verdict and RFC 3339 time handling.
#include "attest/verdict.h"

#include <gtest/gtest.h>

#include "base/testing/status_matchers.h"

namespace arca::attest {
namespace {

TEST(Rfc3339, ParsesAndFormats) {
  auto t = ParseRfc3339("2025-06-01T00:00:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, 1748736000);
  EXPECT_EQ(FormatRfc3339(*t), "2025-06-01T00:00:00Z");
  EXPECT_EQ(*ParseRfc3339("2025-06-01T00:00:00.123Z"), 1748736000);
  EXPECT_EQ(*ParseRfc3339("2025-06-01T00:00:00+00:00"), 1748736000);
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:00Z"), 0);
}

TEST(Rfc3339, RefusesOtherForms) {
  for (const char* s : {"", "2025-06-01", "2025-06-01 00:00:00Z", "2025-13-01T00:00:00Z", "2025-06-01T00:00:00",
                        "2025-06-01T00:00:00+02:00", "2025-06-01T25:00:00Z"}) {
    EXPECT_THAT(ParseRfc3339(s).status(), HasCode(StatusCode::kInvalidArgument)) << s;
  }
}

TEST(Verdict, FirstFailureIsTheStatus) {
  Verdict v;
  EXPECT_FALSE(v.ok());
  v.Pass("a");
  EXPECT_TRUE(v.ok());
  v.Fail("b", UnauthenticatedError("b broke"));
  v.Fail("c", InvalidArgumentError("c broke"));
  EXPECT_FALSE(v.ok());
  EXPECT_THAT(v.status(), HasCode(StatusCode::kUnauthenticated));
  EXPECT_EQ(v.status().message(), "check b: b broke");
  Json j = v.ToJson();
  EXPECT_EQ(j["verified"], false);
  EXPECT_EQ(j["checks"].size(), 3u);
}

}  // namespace
}  // namespace arca::attest
