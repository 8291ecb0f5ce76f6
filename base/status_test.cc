#include "base/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/testing/status_matchers.h"

namespace arca {
namespace {

using ::testing::Not;

constexpr StatusCode kAllCodes[] = {
    StatusCode::kOk,           StatusCode::kInvalidArgument,    StatusCode::kNotFound,
    StatusCode::kAlreadyExists, StatusCode::kUnauthenticated,   StatusCode::kPermissionDenied,
    StatusCode::kFailedPrecondition, StatusCode::kCorruption,   StatusCode::kResourceExhausted,
    StatusCode::kUnavailable,  StatusCode::kInternal,
};

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "ok");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, CodeNamesAreStableLowerCase) {
  EXPECT_EQ(StatusCodeName(StatusCode::kOk), "ok");
  EXPECT_EQ(StatusCodeName(StatusCode::kInvalidArgument), "invalid argument");
  EXPECT_EQ(StatusCodeName(StatusCode::kNotFound), "not found");
  EXPECT_EQ(StatusCodeName(StatusCode::kAlreadyExists), "already exists");
  EXPECT_EQ(StatusCodeName(StatusCode::kUnauthenticated), "unauthenticated");
  EXPECT_EQ(StatusCodeName(StatusCode::kPermissionDenied), "permission denied");
  EXPECT_EQ(StatusCodeName(StatusCode::kFailedPrecondition), "failed precondition");
  EXPECT_EQ(StatusCodeName(StatusCode::kCorruption), "corruption");
  EXPECT_EQ(StatusCodeName(StatusCode::kResourceExhausted), "resource exhausted");
  EXPECT_EQ(StatusCodeName(StatusCode::kUnavailable), "unavailable");
  EXPECT_EQ(StatusCodeName(StatusCode::kInternal), "internal");
}

TEST(StatusTest, CodeNamesAreDistinct) {
  std::set<std::string_view> names;
  for (StatusCode c : kAllCodes) EXPECT_TRUE(names.insert(StatusCodeName(c)).second) << StatusCodeName(c);
}

TEST(StatusTest, ExitCodesAreDistinctPerCode) {
  std::set<int> exits;
  for (StatusCode c : kAllCodes) {
    EXPECT_TRUE(exits.insert(ExitCodeFor(c)).second) << StatusCodeName(c) << " shares exit code " << ExitCodeFor(c);
  }
}

TEST(StatusTest, ExitCodeIsZeroOnlyForOk) {
  EXPECT_EQ(ExitCodeFor(StatusCode::kOk), 0);
  for (StatusCode c : kAllCodes) {
    if (c == StatusCode::kOk) continue;
    EXPECT_GT(ExitCodeFor(c), 0) << StatusCodeName(c);
    // Shells reserve 126+ for exec failures and signals.
    EXPECT_LT(ExitCodeFor(c), 126) << StatusCodeName(c);
  }
}

TEST(StatusTest, DocumentedExitCodes) {
  EXPECT_EQ(ExitCodeFor(StatusCode::kInternal), 1);
  EXPECT_EQ(ExitCodeFor(StatusCode::kInvalidArgument), 2);
}

TEST(StatusTest, ErrorConstructorsSetCodeAndMessage) {
  struct Case {
    Status status;
    StatusCode code;
  };
  const Case cases[] = {
      {InvalidArgumentError("m"), StatusCode::kInvalidArgument},
      {NotFoundError("m"), StatusCode::kNotFound},
      {AlreadyExistsError("m"), StatusCode::kAlreadyExists},
      {UnauthenticatedError("m"), StatusCode::kUnauthenticated},
      {PermissionDeniedError("m"), StatusCode::kPermissionDenied},
      {FailedPreconditionError("m"), StatusCode::kFailedPrecondition},
      {CorruptionError("m"), StatusCode::kCorruption},
      {ResourceExhaustedError("m"), StatusCode::kResourceExhausted},
      {UnavailableError("m"), StatusCode::kUnavailable},
      {InternalError("m"), StatusCode::kInternal},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "m");
  }
}

TEST(StatusTest, ToStringIsCodeColonMessage) {
  EXPECT_EQ(NotFoundError("pkg/index.json").ToString(), "not found: pkg/index.json");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  Status s = CorruptionError("chunk 3 is truncated").WithContext("reading pkg/chunks");
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_EQ(s.message(), "reading pkg/chunks: chunk 3 is truncated");
}

TEST(StatusTest, WithContextNests) {
  Status s = NotFoundError("x").WithContext("inner").WithContext("outer");
  EXPECT_EQ(s.message(), "outer: inner: x");
}

TEST(StatusTest, WithContextOnOkStaysOk) {
  Status s = Status::Ok().WithContext("ignored");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, WithContextDoesNotModifyOriginal) {
  Status original = InternalError("boom");
  Status wrapped = original.WithContext("ctx");
  EXPECT_EQ(original.message(), "boom");
  EXPECT_EQ(wrapped.message(), "ctx: boom");
}

TEST(ResultTest, HoldsValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(r.value(), 42);
  EXPECT_TRUE(r.status().ok());
}

TEST(ResultTest, HoldsError) {
  Result<int> r = NotFoundError("missing");
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "missing");
}

TEST(ResultTest, MovesOutMoveOnlyValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

TEST(ResultTest, ArrowReachesMembers) {
  Result<std::string> r = std::string("abc");
  EXPECT_EQ(r->size(), 3u);
}

#ifndef NDEBUG
TEST(ResultDeathTest, ConstructingFromOkStatusAsserts) {
  EXPECT_DEATH({ Result<int> r{Status::Ok()}; (void)r; }, "");
}
#endif

// --- macros ---------------------------------------------------------------

Result<int> ParsePositive(int v) {
  if (v <= 0) return InvalidArgumentError("not positive: " + std::to_string(v));
  return v;
}

Status CheckPositive(int v) {
  if (v <= 0) return InvalidArgumentError("not positive");
  return Status::Ok();
}

Result<int> DoubleIt(int v) {
  ARCA_ASSIGN_OR_RETURN(int x, ParsePositive(v));
  return 2 * x;
}

Result<int> SumTwo(int a, int b) {
  // Two uses in one function must not collide.
  ARCA_ASSIGN_OR_RETURN(int x, ParsePositive(a));
  ARCA_ASSIGN_OR_RETURN(int y, ParsePositive(b));
  return x + y;
}

Status AssignToExisting(int v, int* out) {
  int existing = -1;
  ARCA_ASSIGN_OR_RETURN(existing, ParsePositive(v));
  *out = existing;
  return Status::Ok();
}

Result<std::unique_ptr<int>> MakeBox(int v) {
  if (v < 0) return NotFoundError("no box");
  return std::make_unique<int>(v);
}

Result<int> Unbox(int v) {
  ARCA_ASSIGN_OR_RETURN(auto box, MakeBox(v));
  return *box;
}

Status ReturnIfErrorStatus(int v, int* calls_after) {
  ARCA_RETURN_IF_ERROR(CheckPositive(v));
  ++*calls_after;
  return Status::Ok();
}

Result<std::string> ReturnIfErrorResult(int v) {
  ARCA_RETURN_IF_ERROR(ParsePositive(v));
  return std::string("fine");
}

int g_evaluations = 0;
Status CountedCheck() {
  ++g_evaluations;
  return Status::Ok();
}
Status EvaluatesOnce() {
  ARCA_RETURN_IF_ERROR(CountedCheck());
  return Status::Ok();
}

TEST(MacroTest, AssignOrReturnAssignsValue) { EXPECT_EQ(*DoubleIt(21), 42); }

TEST(MacroTest, AssignOrReturnPropagatesError) {
  EXPECT_THAT(DoubleIt(-1), HasCodeAndMessage(StatusCode::kInvalidArgument, "not positive: -1"));
}

TEST(MacroTest, AssignOrReturnTwiceInOneFunction) {
  EXPECT_EQ(*SumTwo(1, 2), 3);
  EXPECT_THAT(SumTwo(1, -2), HasCodeAndMessage(StatusCode::kInvalidArgument, "-2"));
}

TEST(MacroTest, AssignOrReturnToExistingVariable) {
  int out = 0;
  EXPECT_THAT(AssignToExisting(5, &out), IsOk());
  EXPECT_EQ(out, 5);
  EXPECT_THAT(AssignToExisting(0, &out), HasCode(StatusCode::kInvalidArgument));
  EXPECT_EQ(out, 5);
}

TEST(MacroTest, AssignOrReturnMovesMoveOnlyValue) {
  EXPECT_EQ(*Unbox(9), 9);
  EXPECT_THAT(Unbox(-1), HasCode(StatusCode::kNotFound));
}

TEST(MacroTest, ReturnIfErrorPassesOk) {
  int calls = 0;
  EXPECT_THAT(ReturnIfErrorStatus(1, &calls), IsOk());
  EXPECT_EQ(calls, 1);
}

TEST(MacroTest, ReturnIfErrorReturnsEarly) {
  int calls = 0;
  EXPECT_THAT(ReturnIfErrorStatus(0, &calls), HasCode(StatusCode::kInvalidArgument));
  EXPECT_EQ(calls, 0);
}

TEST(MacroTest, ReturnIfErrorAcceptsResultAndConvertsIntoResult) {
  EXPECT_EQ(*ReturnIfErrorResult(1), "fine");
  EXPECT_THAT(ReturnIfErrorResult(-3), HasCodeAndMessage(StatusCode::kInvalidArgument, "not positive: -3"));
}

TEST(MacroTest, ReturnIfErrorEvaluatesExpressionOnce) {
  g_evaluations = 0;
  EXPECT_THAT(EvaluatesOnce(), IsOk());
  EXPECT_EQ(g_evaluations, 1);
}

TEST(MacroTest, ReturnIfErrorIsASingleStatement) {
  // The do/while wrapper makes it safe in an unbraced if/else.
  auto f = [](bool check) -> Status {
    if (check)
      ARCA_RETURN_IF_ERROR(CheckPositive(0));
    else
      return NotFoundError("else branch");
    return Status::Ok();
  };
  EXPECT_THAT(f(true), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(f(false), HasCode(StatusCode::kNotFound));
}

// --- matchers (base/testing/status_matchers.h) ----------------------------

TEST(StatusMatchersTest, IsOkOnStatusAndResult) {
  EXPECT_THAT(Status::Ok(), IsOk());
  EXPECT_THAT(Result<int>(1), IsOk());
  EXPECT_THAT(InternalError("x"), Not(IsOk()));
  EXPECT_THAT(Result<int>(InternalError("x")), Not(IsOk()));
}

TEST(StatusMatchersTest, HasCodeOnStatusAndResult) {
  EXPECT_THAT(NotFoundError("x"), HasCode(StatusCode::kNotFound));
  EXPECT_THAT(Result<std::string>(NotFoundError("x")), HasCode(StatusCode::kNotFound));
  EXPECT_THAT(NotFoundError("x"), Not(HasCode(StatusCode::kInternal)));
  EXPECT_THAT(Result<int>(3), Not(HasCode(StatusCode::kNotFound)));
  EXPECT_THAT(Result<int>(3), HasCode(StatusCode::kOk));
}

TEST(StatusMatchersTest, HasCodeAndMessageChecksSubstring) {
  Status s = CorruptionError("chunk 7 ends early");
  EXPECT_THAT(s, HasCodeAndMessage(StatusCode::kCorruption, "chunk 7"));
  EXPECT_THAT(s, Not(HasCodeAndMessage(StatusCode::kCorruption, "chunk 8")));
  EXPECT_THAT(s, Not(HasCodeAndMessage(StatusCode::kInternal, "chunk 7")));
}

TEST(StatusMatchersTest, ExplainsMismatch) {
  ::testing::StringMatchResultListener listener;
  const auto m = ::testing::SafeMatcherCast<const Status&>(HasCode(StatusCode::kNotFound));
  EXPECT_FALSE(m.MatchAndExplain(InternalError("boom"), &listener));
  EXPECT_THAT(listener.str(), ::testing::HasSubstr("internal: boom"));
  EXPECT_EQ(::testing::DescribeMatcher<const Status&>(HasCode(StatusCode::kNotFound)), "has code not found");
  EXPECT_EQ(::testing::DescribeMatcher<const Status&>(IsOk()), "is OK");
}

TEST(StatusMatchersTest, PrintsStatusReadably) {
  EXPECT_EQ(::testing::PrintToString(NotFoundError("x")), "not found: x");
  EXPECT_EQ(::testing::PrintToString(Result<int>(5)), "ok(5)");
  EXPECT_EQ(::testing::PrintToString(Result<int>(NotFoundError("y"))), "not found: y");
}

}  // namespace
}  // namespace arca
