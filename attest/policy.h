// Release policy evaluation (specs/key-release.md §5): judges the normalized
// claims of evidence that verified (verdict.h, specs/attestation.md §6)
// against the rules of a lab-signed release policy, clause by clause, so a
// refusal says which clause failed with what was expected and what was seen.
//
// What this protects: that keys go only to a platform, measurement and TCB
// the lab allowed, never to a revoked measurement or a debuggable guest
// (unless allowed), and never after the policy expired. What it does not:
// decide that the claims are authentic (evaluate only the claims of a
// verdict that passed: Evaluate records that as its first clause) or that
// the policy is the lab's (signer/ verifies its signatures).
#ifndef ARCA_ATTEST_POLICY_H_
#define ARCA_ATTEST_POLICY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "attest/verdict.h"
#include "base/json.h"
#include "base/status.h"

namespace arca::attest {

// PolicyRule allows one measurement on one platform.
struct PolicyRule {
  std::string platform;     // "sev-snp", "tdx", "tpm"
  std::string measurement;  // lower-case hex: 96 digits for sev-snp/tdx, 64 for tpm (PCR 23)
  // min_tcb names TCB components of the `tcb` claim and their minimum SVN:
  // sev-snp bootloader, tee, snp, microcode (and fmc on Turin); tdx
  // pcesvn, sgxTcbComponents[i] as "sgx<i>", teeTcbSvn[i] as "tee<i>".
  std::map<std::string, std::uint64_t> min_tcb;
};

// ReleaseRules are what a release policy says about who may receive keys.
struct ReleaseRules {
  std::optional<UnixSeconds> expires;
  std::vector<PolicyRule> allow;
  std::vector<std::string> revoked;  // measurements refused whatever `allow` says
  bool allow_debug = false;
  bool require_gpu_cc = false;
};

// Clause is one judged clause: "evidence", "expiry", "platform",
// "measurement", "revoked", "tcb", "debug", "gpu".
struct Clause {
  std::string name;
  bool passed = false;
  std::string expected;
  std::string actual;
};

// PolicyDecision is the clause-by-clause result.
struct PolicyDecision {
  std::vector<Clause> clauses;
  // allowed is true when every clause passed.
  bool allowed() const;
  // status is OK, or PermissionDenied "policy clause <name>: expected
  // <expected>, got <actual>" for each failed clause, joined by "; ".
  Status status() const;
  // ToJson is {"allowed": bool, "clauses": [{"clause", "passed",
  // "expected", "actual"}]}.
  Json ToJson() const;
};

// EvaluatePolicy judges `verdict` (its status and claims) against `rules` at
// `now`. Every clause is evaluated even after one fails, so a dry run shows
// everything that would need to change. Pure; thread-safe.
PolicyDecision EvaluatePolicy(const ReleaseRules& rules, const Verdict& verdict, UnixSeconds now);

// ClaimedMeasurement is the measurement a policy rule is compared with: the
// `measurement` claim (SNP MEASUREMENT, TDX MRTD) or, for TPM evidence, the
// SHA-256 bank's PCR 23. Empty when the claims carry none.
std::string ClaimedMeasurement(const Json& claims);

// PolicyPlatform maps a claims platform to the policy's spelling
// ("azure-sev-snp-vtpm" evidence is judged as "sev-snp").
std::string PolicyPlatform(const Json& claims);

}  // namespace arca::attest

#endif  // ARCA_ATTEST_POLICY_H_
