#include "client/output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/testing/status_matchers.h"

namespace arca::client {
namespace {

TEST(ParseSizeTest, AcceptsPlainAndSuffixedSizes) {
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("256K"), 256u << 10);
  EXPECT_EQ(*ParseSize("1M"), 1u << 20);
  EXPECT_EQ(*ParseSize("64MiB"), 64u << 20);
  EXPECT_EQ(*ParseSize("2G"), 2ull << 30);
}

TEST(ParseSizeTest, RefusesMissingNumber) {
  EXPECT_THAT(ParseSize("M"), HasCodeAndMessage(StatusCode::kInvalidArgument, "must start with a number"));
  EXPECT_THAT(ParseSize(""), HasCode(StatusCode::kInvalidArgument));
}

TEST(ParseSizeTest, RefusesUnknownUnit) {
  EXPECT_THAT(ParseSize("4T"), HasCodeAndMessage(StatusCode::kInvalidArgument, "unknown unit"));
  EXPECT_THAT(ParseSize("1 M"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseSize("-1M"), HasCode(StatusCode::kInvalidArgument));
}

TEST(ParseSizeTest, RefusesOverflow) {
  EXPECT_THAT(ParseSize("99999999999999999999"), HasCodeAndMessage(StatusCode::kInvalidArgument, "too large"));
  EXPECT_THAT(ParseSize("17179869184G"), HasCodeAndMessage(StatusCode::kInvalidArgument, "too large"));
}

TEST(HumanBytesTest, FormatsBinaryUnits) {
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(64ull << 20), "64.0 MiB");
}

}  // namespace
}  // namespace arca::client

namespace arca::client {
namespace {

TEST(PrintJsonTest, InvalidUtf8IsReplacedNotThrown) {
  testing::internal::CaptureStdout();
  // A message cut inside "é" (0xC3 0xA9), as a substr of a peer's text can be.
  EXPECT_NO_THROW(PrintJson(Json{{"message", std::string("caf\xC3")}}));
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("caf\xEF\xBF\xBD"), std::string::npos) << out;  // U+FFFD
}

}  // namespace
}  // namespace arca::client
