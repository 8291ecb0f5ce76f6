// C2SP tlog-checkpoint bodies (https://c2sp.org/tlog-checkpoint) with Arca's
// `time` extension line, signed checkpoints and tlog-cosignature v1
// (https://c2sp.org/tlog-cosignature).
//
// What this protects: OpenCheckpoint accepts a checkpoint only when the log's
// key signed exactly these bytes, the origin is the one the caller expects,
// and (when asked) enough trusted witnesses cosigned it. A signed checkpoint
// commits the log to one tree of `size` leaves with root `root`.
//
// What it does not protect: one checkpoint says nothing about what another
// client was shown: consistency between checkpoints (proof.h,
// CheckConsistency) and witnesses do. Extension lines, the `time` line
// included, are signed by the log but witnesses make no statement about them
// (tlog-cosignature §Signed message).
#ifndef ARCA_TLOG_CHECKPOINT_H_
#define ARCA_TLOG_CHECKPOINT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/time.h"
#include "tlog/merkle.h"
#include "tlog/note.h"

namespace arca::tlog {

// Checkpoint is a parsed checkpoint body. Arca's checkpoints carry `time`,
// written as the first extension line "time <unix seconds>"; any other
// extension lines are kept verbatim, in order.
struct Checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  Hash root{};
  std::optional<UnixSeconds> time;
  std::vector<std::string> extensions;  // other extension lines, no newline
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// kMaxCheckpointLines bounds the body: origin, size, root and 13 extensions.
inline constexpr std::size_t kMaxCheckpointLines = 16;

// ParseCheckpointBody parses note text. InvalidArgument (naming the line)
// for fewer than three lines, an empty line, an origin with a space or '+'
// or a control character, a size that is not canonical decimal below 2^63,
// a root that is not canonical base64 of 32 bytes, a `time` line that is
// not canonical decimal or not the first extension line, or a missing final
// newline; ResourceExhausted above kMaxCheckpointLines.
Result<Checkpoint> ParseCheckpointBody(std::string_view text);

// SerializeCheckpointBody writes the body ParseCheckpointBody reads back.
// InvalidArgument when a field would not round-trip (bad origin, empty or
// multi-line extension, an extension that looks like `time`, negative time).
Result<std::string> SerializeCheckpointBody(const Checkpoint& checkpoint);

// SignCheckpoint serializes `checkpoint` and signs it with the log's key
// (type 0x01), returning the signed note. The key name should equal the
// origin; InvalidArgument when it does not (Arca requires it).
Result<std::string> SignCheckpoint(const Checkpoint& checkpoint, const NoteSigner& log_key);

// CheckpointPolicy says which checkpoints a client accepts.
struct CheckpointPolicy {
  std::string origin;                   // the log's origin line
  std::vector<NoteVerifier> log_keys;   // the log's key(s), type 0x01
  std::vector<NoteVerifier> witnesses;  // trusted witness keys, type 0x04
  std::size_t min_witnesses = 0;        // cosignatures required from `witnesses`
};

// OpenedCheckpoint is a verified signed checkpoint.
struct OpenedCheckpoint {
  Checkpoint checkpoint;
  std::string text;                        // the signed body
  std::vector<VerifiedSignature> cosigned;  // witnesses that cosigned, with their times
  std::size_t unknown_signatures = 0;
};

// OpenCheckpoint parses a signed checkpoint and checks it against `policy`.
// Unauthenticated, with the check named first in the message:
//   "bad-signature:"  a log or witness key's signature fails;
//   "unknown-key:"    no signature by a log key;
//   "wrong-origin:"   the origin line is not policy.origin;
//   "witnesses:"      fewer than min_witnesses trusted cosignatures.
// InvalidArgument / ResourceExhausted for malformed notes or bodies.
Result<OpenedCheckpoint> OpenCheckpoint(std::string_view signed_note, const CheckpointPolicy& policy);

// Cosign adds a witness cosignature at `timestamp` to a signed checkpoint and
// returns the new note. The witness must have verified consistency first;
// this only signs. FailedPrecondition for a non-cosignature key.
Result<std::string> Cosign(std::string_view signed_note, const NoteSigner& witness, UnixSeconds timestamp);

}  // namespace arca::tlog

#endif  // ARCA_TLOG_CHECKPOINT_H_
