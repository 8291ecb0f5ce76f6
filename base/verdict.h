// A verification result as a list of named checks: what every verifier in
// Arca (attestation evidence, signatures, roots, policies) returns, so the
// CLI prints each check with its verdict and a failure names the check.
#ifndef ARCA_BASE_VERDICT_H_
#define ARCA_BASE_VERDICT_H_

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "base/status.h"

namespace arca {

// Check is one named verification step ("release.threshold") and its
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
  // Note records an informational line that neither passes nor fails
  // (e.g. a countersignature by a key nobody asked to trust).
  void Note(std::string name, std::string detail);

  // ok is true when at least one check ran and none failed.
  bool ok() const { return failure_.ok() && !checks_.empty(); }
  // status is OK or the first failure as "check <name>: <message>", with
  // that failure's code (Unauthenticated when it had none).
  Status status() const;
  const std::vector<Check>& checks() const { return checks_; }
  const std::vector<Check>& notes() const { return notes_; }
  // Find returns the first check named `name`, or nullptr.
  const Check* Find(std::string_view name) const;

  // claims are what the verified documents say (verifier-specific).
  Json claims = Json::object();

  // ToJson is {"verified": bool, "error"?: ..., "claims": ..., "checks": [...], "notes": [...]}.
  Json ToJson() const;

 private:
  std::vector<Check> checks_;
  std::vector<Check> notes_;
  Status failure_;
};

}  // namespace arca

#endif  // ARCA_BASE_VERDICT_H_
