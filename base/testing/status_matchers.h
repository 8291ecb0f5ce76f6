// GoogleTest matchers for Status and Result<T>.
//
//   EXPECT_THAT(WriteFileAtomic(...), IsOk());
//   EXPECT_THAT(HexDecode("abc"), HasCode(StatusCode::kInvalidArgument));
//   EXPECT_THAT(ParseJson(text, "index.json"),
//               HasCodeAndMessage(StatusCode::kInvalidArgument, "duplicate key \"a\""));
//
// Each matcher accepts a Status or any Result<T>; on a mismatch the failure
// message shows the actual "code: message". Test-only: link GTest::gmock.
#ifndef ARCA_BASE_TESTING_STATUS_MATCHERS_H_
#define ARCA_BASE_TESTING_STATUS_MATCHERS_H_

#include <gmock/gmock.h>

#include <ostream>
#include <string>
#include <utility>

#include "base/status.h"

namespace arca {

// gtest finds these by ADL, so failing EXPECT_EQ / EXPECT_THAT print
// "invalid argument: ..." instead of raw object bytes.
inline void PrintTo(const Status& status, std::ostream* os) { *os << status.ToString(); }
template <typename T>
void PrintTo(const Result<T>& result, std::ostream* os) {
  if (result.ok()) {
    *os << "ok(" << ::testing::PrintToString(result.value()) << ")";
  } else {
    *os << result.status().ToString();
  }
}

// The matchers live in namespace arca (not arca::testing, which would shadow
// ::testing inside every test written in namespace arca).
namespace status_matchers_internal {

inline const Status& GetStatus(const Status& status) { return status; }
template <typename T>
Status GetStatus(const Result<T>& result) {
  return result.status();
}

// Matches a Status or Result<T> whose code is `code` and, when
// `message_substring` is set, whose message contains it.
class StatusMatcher {
 public:
  StatusMatcher(StatusCode code, bool check_message, std::string message_substring)
      : code_(code), check_message_(check_message), message_substring_(std::move(message_substring)) {}

  template <typename StatusOrResult>
  bool MatchAndExplain(const StatusOrResult& actual, ::testing::MatchResultListener* listener) const {
    const Status status = GetStatus(actual);
    if (status.code() != code_) {
      *listener << "whose status is " << status.ToString();
      return false;
    }
    if (check_message_ && status.message().find(message_substring_) == std::string::npos) {
      *listener << "whose message \"" << status.message() << "\" lacks \"" << message_substring_ << "\"";
      return false;
    }
    return true;
  }

  void DescribeTo(std::ostream* os) const {
    if (code_ == StatusCode::kOk) {
      *os << "is OK";
      return;
    }
    *os << "has code " << StatusCodeName(code_);
    if (check_message_) *os << " and a message containing \"" << message_substring_ << "\"";
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "not (";
    DescribeTo(os);
    *os << ")";
  }

 private:
  StatusCode code_;
  bool check_message_;
  std::string message_substring_;
};

}  // namespace status_matchers_internal

// IsOk matches an OK Status or a Result<T> holding a value.
inline ::testing::PolymorphicMatcher<status_matchers_internal::StatusMatcher> IsOk() {
  return ::testing::MakePolymorphicMatcher(status_matchers_internal::StatusMatcher(StatusCode::kOk, false, ""));
}

// HasCode matches a Status / Result<T> whose code is `code` (any message).
inline ::testing::PolymorphicMatcher<status_matchers_internal::StatusMatcher> HasCode(StatusCode code) {
  return ::testing::MakePolymorphicMatcher(status_matchers_internal::StatusMatcher(code, false, ""));
}

// HasCodeAndMessage additionally requires the message to contain
// `message_substring` (plain substring, case-sensitive).
inline ::testing::PolymorphicMatcher<status_matchers_internal::StatusMatcher> HasCodeAndMessage(StatusCode code,
                                                                               std::string message_substring) {
  return ::testing::MakePolymorphicMatcher(status_matchers_internal::StatusMatcher(code, true, std::move(message_substring)));
}

}  // namespace arca

#endif  // ARCA_BASE_TESTING_STATUS_MATCHERS_H_
