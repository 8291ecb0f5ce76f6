// Status and Result<T>: Arca's one error model.
//
// A Status is a closed code plus a short message that says what was wrong and
// where (file, chunk, field, offset). Messages never carry key bytes,
// plaintext or tokens. Result<T> holds either a T or a non-OK Status, shaped
// like C++23 std::expected so it can become an alias later.
#ifndef ARCA_BASE_STATUS_H_
#define ARCA_BASE_STATUS_H_

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace arca {

// StatusCode is deliberately small; each code maps once to a CLI exit code
// (ExitCodeFor) and once to an HTTP status (added with the registry).
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is malformed
  kNotFound,            // a named thing does not exist
  kAlreadyExists,       // refusing to overwrite
  kUnauthenticated,     // any signature / MAC / tag / digest / attestation failure
  kPermissionDenied,    // authenticated but not allowed
  kFailedPrecondition,  // state does not allow the operation
  kCorruption,          // stored data is structurally damaged
  kResourceExhausted,   // a size or count limit was exceeded
  kUnavailable,         // transient: retry may succeed
  kInternal,            // a bug or an unexpected library failure
};

// StatusCodeName returns a stable lower-case name ("unauthenticated").
std::string_view StatusCodeName(StatusCode code);

// ExitCodeFor maps a code to the CLI's documented exit code (0 for OK).
int ExitCodeFor(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // ToString is "code: message", for logs and CLI errors.
  std::string ToString() const;

  // WithContext prefixes the message ("opening pkg/index.json: ...").
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgumentError(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status UnauthenticatedError(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
inline Status PermissionDeniedError(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status FailedPreconditionError(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status CorruptionError(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
inline Status ResourceExhaustedError(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Result<T> is a T or a non-OK Status. Constructing it from an OK Status is a
// bug (asserted).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  // status() is OK when a value is held.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace arca

#define ARCA_CONCAT_INNER_(a, b) a##b
#define ARCA_CONCAT_(a, b) ARCA_CONCAT_INNER_(a, b)

// ARCA_RETURN_IF_ERROR(expr): return the Status of expr if it is not OK.
#define ARCA_RETURN_IF_ERROR(expr)                      \
  do {                                                  \
    ::arca::Status arca_status_ = ::arca::ToStatus(expr); \
    if (!arca_status_.ok()) return arca_status_;        \
  } while (0)

// ARCA_ASSIGN_OR_RETURN(lhs, expr): evaluate a Result, return its error or
// move its value into lhs (which may be a declaration).
#define ARCA_ASSIGN_OR_RETURN(lhs, expr) \
  ARCA_ASSIGN_OR_RETURN_IMPL_(ARCA_CONCAT_(arca_result_, __LINE__), lhs, expr)
#define ARCA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

namespace arca {
inline Status ToStatus(Status s) { return s; }
template <typename T>
Status ToStatus(const Result<T>& r) { return r.status(); }
}  // namespace arca

#endif  // ARCA_BASE_STATUS_H_
