// Arca log entries (specs/log.md §9): what a registry appends to its
// transparency log for each state change it accepts, and the strict parser
// clients and auditors read them back with.
//
// What this protects: nothing by itself. An entry is a claim by the registry;
// inclusion under a signed checkpoint (proof.h) makes the claim
// non-repudiable and the same for every client. Whether the claim is true
// (the package really is signed by the namespace's keys) is checked by the
// signer's verification of the documents the entry names.
//
// Encoding: one JSON object, RFC 8785 canonical, integers only, with "v": 1,
// "kind", "namespace", "time" and the kind's fields; digests are
// "sha256:<64 lower-case hex>"; absent optional values are JSON null. The
// parser accepts only the canonical bytes of a well-formed entry, so each
// entry has exactly one encoding (and one leaf hash).
#ifndef ARCA_TLOG_ENTRIES_H_
#define ARCA_TLOG_ENTRIES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/time.h"

namespace arca::tlog {

inline constexpr std::string_view kEntryPublish = "publish";
inline constexpr std::string_view kEntryTag = "tag";
inline constexpr std::string_view kEntryPolicy = "policy";
inline constexpr std::string_view kEntryRoot = "root";
inline constexpr std::string_view kEntryKeyRelease = "key-release";

// kMaxEntryJsonBytes bounds an entry (tile entry bundles allow 65535).
inline constexpr std::size_t kMaxEntryJsonBytes = 16 * 1024;

// LogEntry is one entry. Which fields a kind uses (others must stay empty):
//   publish:     repository, manifest (OCI manifest digest), package (Arca
//                manifest digest, or empty for a plain OCI artifact), name,
//                version, signers (release key IDs), provenance (attachment
//                digests), policy (attachment digest or empty),
//                policy_version, parent (parent's Arca manifest digest or empty)
//   tag:         repository, tag, manifest, previous (digest or empty)
//   policy:      repository, package, policy, policy_version
//   root:        root (digest of the root document), root_version, previous
//   key-release: repository, manifest, measurement (hex), platform,
//                evidence (digest), recipient (digest)
struct LogEntry {
  std::string kind;
  std::string ns;
  UnixSeconds time = 0;
  std::string repository;
  std::string manifest;
  std::string package;
  std::string name;
  std::string version;
  std::vector<std::string> signers;
  std::vector<std::string> provenance;
  std::string policy;
  std::optional<std::uint64_t> policy_version;
  std::string parent;
  std::string tag;
  std::string previous;
  std::string root;
  std::optional<std::uint64_t> root_version;
  std::string measurement;
  std::string platform;
  std::string evidence;
  std::string recipient;
  friend bool operator==(const LogEntry&, const LogEntry&) = default;
};

// EncodeLogEntry returns the canonical bytes. InvalidArgument (naming the
// field) for an unknown kind, a bad digest, a field the kind does not use,
// a missing required field, or more than 64 signers / provenance digests.
Result<std::string> EncodeLogEntry(const LogEntry& entry);

// ParseLogEntry is the strict inverse: InvalidArgument for malformed JSON,
// unknown or missing fields, wrong types, bad digests, or bytes that are not
// the canonical encoding; ResourceExhausted above kMaxEntryJsonBytes.
Result<LogEntry> ParseLogEntry(std::string_view bytes);

}  // namespace arca::tlog

#endif  // ARCA_TLOG_ENTRIES_H_
