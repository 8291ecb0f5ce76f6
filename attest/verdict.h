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
#include "base/time.h"

namespace arca::attest {

// Times are base/time.h's: UnixSeconds, and RFC 3339 parsing/formatting
// with four-digit years and real calendar dates (one implementation).
// Verifiers take the time as an argument and never read the clock.
using arca::FormatRfc3339;
using arca::ParseRfc3339;
using arca::UnixSeconds;

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
