// in-toto Statement v1 (github.com/in-toto/attestation spec/v1/statement.md):
//   {"_type": "https://in-toto.io/Statement/v1",
//    "subject": [{"name": ..., "digest": {"sha256": "<hex>", ...}}, ...],
//    "predicateType": "<URI>", "predicate": {...}}
//
// Arca signs statements (inside DSSE envelopes) whose single subject is the
// digest of the Arca manifest blob; the predicate type says what is claimed
// (release, SLSA provenance, policy, countersignature: specs/signing.md §3).
//
// The parser is strict about the envelope of the statement (exact _type,
// non-empty subject list, digests as lower-case hex of the algorithm's
// length) and bounded; the predicate is returned as JSON for the predicate's
// own parser. Serialization is canonical JSON (RFC 8785).
#ifndef ARCA_SIGNER_STATEMENT_H_
#define ARCA_SIGNER_STATEMENT_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/bytes.h"
#include "base/json.h"
#include "base/status.h"

namespace arca::signer {

inline constexpr std::string_view kStatementType = "https://in-toto.io/Statement/v1";

struct Subject {
  std::string name;
  std::map<std::string, std::string> digest;  // algorithm -> lower-case hex
};

struct Statement {
  std::vector<Subject> subjects;
  std::string predicate_type;
  Json predicate = Json::object();
};

struct StatementLimits {
  std::size_t max_bytes = 1 << 20;
  std::size_t max_subjects = 64;
  int max_depth = 16;
};

// ParseStatement parses untrusted statement bytes. InvalidArgument naming the
// field for a wrong _type, a missing/empty subject list, a subject digest that
// is not lower-case hex of its algorithm's size (sha256: 64, sha512: 128,
// gitCommit: 40 or 64; others: even-length hex), unknown top-level fields, or
// a non-object predicate; ResourceExhausted over `limits`.
Result<Statement> ParseStatement(ByteSpan bytes, const StatementLimits& limits = {});

// SerializeStatement writes canonical JSON. InvalidArgument when the
// predicate holds a non-integer number.
Result<std::string> SerializeStatement(const Statement& statement);

// SubjectSha256 returns the statement's subject digests as "sha256:<hex>".
std::vector<std::string> SubjectSha256Digests(const Statement& statement);

}  // namespace arca::signer

#endif  // ARCA_SIGNER_STATEMENT_H_
