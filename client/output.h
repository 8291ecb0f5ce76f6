// Output helpers shared by the CLI's commands: human sizes, progress on a
// terminal, JSON or text results, and error reporting.
#ifndef ARCA_CLIENT_OUTPUT_H_
#define ARCA_CLIENT_OUTPUT_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "base/json.h"
#include "base/status.h"
#include "format/package.h"

namespace arca::client {

// HumanBytes formats 1536 as "1.5 KiB".
std::string HumanBytes(std::uint64_t bytes);

// ParseSize accepts "4096", "256K", "1M", "64MiB" (powers of 1024).
Result<std::uint64_t> ParseSize(const std::string& text);

// ProgressPrinter draws a one-line progress meter on stderr, only when stderr
// is a terminal, at most ten times a second.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(std::string verb);
  ~ProgressPrinter();
  format::ProgressFn Callback();

 private:
  std::string verb_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

// PrintJson writes `value` to stdout, indented, with a trailing newline.
void PrintJson(const Json& value);

// ReportError prints a failed command's status to stderr (and, with json, a
// {"error":{code,message}} document to stdout) and returns the exit code.
int ReportError(const Status& status, bool json);

}  // namespace arca::client

#endif  // ARCA_CLIENT_OUTPUT_H_
