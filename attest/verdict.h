// Verification results shared by every attestation verifier: the injected
// verification time, the list of named checks with their outcome, and the
// normalized claims.
//
// A Verdict says whether evidence is authentic (every signature, chain,
// binding and freshness check passed, and a TCB status was determined). It
// does not say whether the claims are acceptable (debug, OutOfDate, which
// measurement): that is the release policy's judgement over `claims`.
#ifndef ARCA_ATTEST_VERDICT_H_
#define ARCA_ATTEST_VERDICT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "base/status.h"

namespace arca::attest {

// UnixSeconds is a point in time as seconds since 1970-01-01T00:00:00Z.
// Verifiers take it as an argument and never read the clock.
using UnixSeconds = std::int64_t;

// ParseRfc3339 accepts "YYYY-MM-DDTHH:MM:SSZ" with optional fractional
// seconds (truncated) and a "Z" or "+00:00" zone. InvalidArgument otherwise,
// naming `what`.
Result<UnixSeconds> ParseRfc3339(std::string_view text, std::string_view what = "time");

// FormatRfc3339 prints "YYYY-MM-DDTHH:MM:SSZ".
std::string FormatRfc3339(UnixSeconds t);

// Check is one named verification step ("snp.report.signature") and its
// outcome; `detail` is what was seen (pass) or why it failed.
struct Check {
  std::string name;
  bool passed = false;
  std::string detail;
};

// Verdict accumulates checks and claims during one verification. Not
// thread-safe; one per verification.
class Verdict {
 public:
  // Pass records a passed check.
  void Pass(std::string name, std::string detail = "");
  // Fail records a failed check; the first failure becomes status().
  void Fail(std::string name, const Status& why);
  // Record records `s` as a pass (OK) or a failure, and returns s.ok().
  bool Record(std::string name, const Status& s, std::string pass_detail = "");

  // ok is true when at least one check ran and none failed.
  bool ok() const { return failure_.ok() && !checks_.empty(); }
  // status is OK or the first failure as "check <name>: <message>", with
  // that failure's code.
  Status status() const;
  // checks lists every check in the order it ran.
  const std::vector<Check>& checks() const { return checks_; }
  // Failed returns the first failed check named `name`, or nullptr.
  const Check* Find(std::string_view name) const;

  // claims are the normalized claims (see specs/attestation.md §6).
  Json claims = Json::object();

  // ToJson is {"verified": bool, "error": ..., "claims": ..., "checks": [...]}.
  Json ToJson() const;

 private:
  std::vector<Check> checks_;
  Status failure_;
};

}  // namespace arca::attest

#endif  // ARCA_ATTEST_VERDICT_H_
