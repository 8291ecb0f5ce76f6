// C2SP tlog-proof@v1 (https://c2sp.org/tlog-proof): an offline-verifiable
// proof that an entry is in a log — index, inclusion proof and a signed
// checkpoint — and the checks a client runs on it and between checkpoints.
//
// What this protects, check by check (each refusal's message starts with
// the name of the check, as specs/log.md §Verification names them):
//   bad-signature / unknown-key / wrong-origin / witnesses: the checkpoint is
//     the trusted log's (and witnesses') statement about this log;
//   inclusion: the entry is at `index` in that checkpoint's tree;
//   freeze: the checkpoint is recent (a log or mirror cannot keep serving an
//     old view to hide newer entries);
//   rollback / split-view (CheckConsistency): a newer checkpoint extends the
//     one the client saw before, so the log cannot fork or shrink history for
//     this client without detection.
//
// What it does not protect: the `extra` line is not authenticated; a log
// that shows every client the same wrong-but-consistent history is caught
// only by monitors reading the entries, not by these checks.
#ifndef ARCA_TLOG_PROOF_H_
#define ARCA_TLOG_PROOF_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "base/time.h"
#include "tlog/checkpoint.h"
#include "tlog/merkle.h"

namespace arca::tlog {

inline constexpr std::string_view kTlogProofHeader = "c2sp.org/tlog-proof@v1";
// kMaxTlogProofBytes bounds a whole proof (the checkpoint note included).
inline constexpr std::size_t kMaxTlogProofBytes = 96 * 1024;
// kMaxTlogProofExtraBytes bounds the decoded extra data.
inline constexpr std::size_t kMaxTlogProofExtraBytes = 4096;

// TlogProof is a parsed tlog-proof@v1. `checkpoint` is the signed note,
// verbatim.
struct TlogProof {
  std::optional<Bytes> extra;
  std::uint64_t index = 0;
  std::vector<Hash> hashes;
  std::string checkpoint;
  friend bool operator==(const TlogProof&, const TlogProof&) = default;
};

// ParseTlogProof reads the text format. InvalidArgument (naming the line)
// for a wrong header, a malformed extra or index line, a hash line that is
// not canonical base64 of 32 bytes, a missing blank line or a checkpoint
// that is not a well-formed signed note; ResourceExhausted above
// kMaxTlogProofBytes, kMaxTlogProofExtraBytes or kMaxProofHashes.
// Signatures and the inclusion proof are not checked here.
Result<TlogProof> ParseTlogProof(std::string_view text);

// SerializeTlogProof writes what ParseTlogProof reads back; InvalidArgument
// when it would not round-trip.
Result<std::string> SerializeTlogProof(const TlogProof& proof);

// ProofPolicy is CheckpointPolicy plus freshness.
struct ProofPolicy {
  CheckpointPolicy checkpoint;
  UnixSeconds now = 0;              // the caller's clock (never read here)
  std::int64_t max_age_s = 86400;   // freeze: oldest checkpoint time accepted
  std::int64_t max_future_s = 300;  // clock skew tolerated ahead of `now`
};

// VerifyTlogProof checks, in order: the checkpoint's signatures and origin
// (OpenCheckpoint: bad-signature, unknown-key, wrong-origin, witnesses),
// freshness ("freeze: ..." when the checkpoint has no time, is older than
// max_age_s or more than max_future_s ahead of now), then inclusion of
// `leaf_hash` at proof.index ("inclusion: ..."). All refusals are
// Unauthenticated except malformed input (InvalidArgument). Returns the
// verified checkpoint, for CheckConsistency and for saving.
Result<OpenedCheckpoint> VerifyTlogProof(const TlogProof& proof, const Hash& leaf_hash, const ProofPolicy& policy);

// VerifyTlogProofForEntry is VerifyTlogProof with leaf_hash = HashLeaf(entry).
Result<OpenedCheckpoint> VerifyTlogProofForEntry(const TlogProof& proof, ByteSpan entry, const ProofPolicy& policy);

// CheckConsistency checks that `newer` extends `older` (both already
// verified checkpoints of one log) with a consistency proof. Unauthenticated:
//   "split-view: ..." origins differ, same size with different roots, or the
//     proof does not verify (the log showed two histories);
//   "rollback: ..."   newer.size < older.size.
// An older size of 0 is consistent with anything when its root is the empty
// root (and split-view otherwise); the proof must then be empty.
Status CheckConsistency(const Checkpoint& older, const Checkpoint& newer, std::span<const Hash> proof);

}  // namespace arca::tlog

#endif  // ARCA_TLOG_PROOF_H_
