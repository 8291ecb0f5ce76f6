// The statements Arca signs about a version, and their predicates
// (specs/signing.md §3). Every statement has exactly one subject: the digest
// of the version's Arca manifest blob, named "<namespace/model>:<version>".
//
//  role        predicateType                                   signed by
//  release     https://arca.dev/attestation/release/v1         threshold of root keys, one envelope per key
//  provenance  https://slsa.dev/provenance/v1                  threshold of root keys, one envelope per key
//  policy      https://arca.dev/attestation/policy/v1          threshold of root keys, one multi-signature envelope
//  countersign https://arca.dev/attestation/countersign/v1     anyone (an auditor); never counts toward a threshold
#ifndef ARCA_SIGNER_DOCUMENTS_H_
#define ARCA_SIGNER_DOCUMENTS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "attest/policy.h"
#include "base/signature.h"
#include "base/status.h"
#include "base/time.h"
#include "format/manifest.h"
#include "signer/statement.h"

namespace arca::signer {

inline constexpr std::string_view kReleasePredicateType = "https://arca.dev/attestation/release/v1";
inline constexpr std::string_view kProvenancePredicateType = "https://slsa.dev/provenance/v1";
inline constexpr std::string_view kPolicyPredicateType = "https://arca.dev/attestation/policy/v1";
inline constexpr std::string_view kCountersignPredicateType = "https://arca.dev/attestation/countersign/v1";
inline constexpr std::string_view kMlStepBuildType = "https://arca.dev/ml-step/v1";

inline constexpr std::string_view kRoleRelease = "release";
inline constexpr std::string_view kRoleProvenance = "provenance";
inline constexpr std::string_view kRolePolicy = "policy";
inline constexpr std::string_view kRoleCountersign = "countersign";

// PackageSubject is the one subject of every Arca statement.
struct PackageSubject {
  std::string name;             // "acme/med-llm"
  std::string version;          // "1.2"
  std::string manifest_digest;  // "sha256:<hex>" of the Arca manifest blob
};

// SubjectOf builds the subject from a loaded manifest and its digest.
PackageSubject SubjectOf(const format::Manifest& manifest, const std::string& manifest_digest);

// CheckSubject verifies a statement has exactly one subject, the package's
// (name "<name>:<version>", sha256 digest). Unauthenticated naming both
// digests otherwise: a statement about another package (mix-and-match).
[[nodiscard]] Status CheckSubject(const Statement& statement, const PackageSubject& subject);

// --- release

// MakeReleaseStatement: predicate {"name", "version", "parent"?}.
Statement MakeReleaseStatement(const PackageSubject& subject, const std::optional<std::string>& parent_digest);

// --- provenance (SLSA provenance v1 with Arca's ML facts)

struct Dataset {
  std::string name;
  std::string uri;
  std::string sha256;  // lower-case hex
};

struct GitSource {
  std::string uri;     // "git+<remote url>" or "git+file://<path>" without a remote
  std::string commit;  // hex object id of HEAD
  bool dirty = false;  // uncommitted changes in the work tree or index
};

struct ProvenanceInput {
  std::string step = "seal";        // "train", "fine-tune", "quantize", ...
  std::optional<std::string> base_model_name;    // "acme/med-llm:1.1"
  std::optional<std::string> base_model_digest;  // parent's manifest digest
  std::vector<Dataset> datasets;
  std::optional<GitSource> code;
  std::optional<std::string> hyperparameters_name;
  std::optional<std::string> hyperparameters_sha256;
  std::string ran_by;  // who ran the step
  UnixSeconds started_on = 0;
  UnixSeconds finished_on = 0;
};

// ParseProvenanceInput reads the `--provenance FILE` document (specs/signing.md
// §3.2): {"step", "datasets": [{"name","uri","sha256"}], "gitRepository"?,
// "hyperparameters"?, "ranBy"?, "startedOn"?, "finishedOn"?}. Paths it names
// are returned unresolved in git_repository / hyperparameters_path.
struct ProvenanceFile {
  ProvenanceInput input;
  std::optional<std::string> git_repository;   // local path, read with ReadGitSource
  std::optional<std::string> hyperparameters_path;
};
Result<ProvenanceFile> ParseProvenanceFile(ByteSpan bytes);

// ReadGitSource reads a local git repository with libgit2: the "origin"
// remote's URL (else the first remote, else the path), HEAD's commit, and
// whether the work tree or index differ from HEAD (untracked files count).
// NotFound when `path` is not in a repository; FailedPrecondition for a
// repository without commits.
Result<GitSource> ReadGitSource(const std::string& path);

// MakeProvenanceStatement builds the SLSA v1 statement.
Statement MakeProvenanceStatement(const PackageSubject& subject, const ProvenanceInput& input);

// ProvenanceFacts are what verify checks and audit prints.
struct ProvenanceFacts {
  std::string build_type;
  std::optional<std::string> base_model_digest;
  std::vector<Json> dependencies;
};
// ParseProvenancePredicate checks the SLSA v1 shape (buildDefinition with
// buildType and externalParameters, runDetails with builder.id) and extracts
// the base-model link. InvalidArgument naming the field.
Result<ProvenanceFacts> ParseProvenancePredicate(const Json& predicate);

// --- release policy

// The rules (who may receive keys) and their evaluation live in attest/policy.h;
// a policy is those rules bound to one package and numbered.
using PolicyRule = attest::PolicyRule;

struct Policy : attest::ReleaseRules {
  PackageSubject subject;
  std::uint64_t version = 1;
};

// ValidatePlatformMeasurement checks the platform name and measurement length.
[[nodiscard]] Status ValidatePlatformMeasurement(std::string_view platform, std::string_view measurement);

Statement PolicyToStatement(const Policy& policy);
// PolicyFromStatement parses a policy statement strictly (InvalidArgument
// naming the field).
Result<Policy> PolicyFromStatement(const Statement& statement);

// --- countersignature

struct Countersign {
  std::string note;
  UnixSeconds signed_at = 0;
  crypto::PublicKey key;  // the countersigner's key, carried in the statement
};
Statement MakeCountersignStatement(const PackageSubject& subject, const Countersign& c);
Result<Countersign> CountersignFromStatement(const Statement& statement);

}  // namespace arca::signer

#endif  // ARCA_SIGNER_DOCUMENTS_H_
