// C2SP tlog-witness (https://c2sp.org/tlog-witness): the add-checkpoint
// exchange by which a log obtains cosignatures, both sides.
//
// What this protects: a witness cosigns a checkpoint only when it is signed
// by a log key it trusts for that origin and a consistency proof shows it
// extends the latest checkpoint the witness cosigned for that origin; the
// check and the update of that record are one atomic step. So N witnesses
// that cosigned two checkpoints have each seen one append-only history, and a
// log that shows two clients different histories cannot get both cosigned by
// the same honest witness.
//
// What it does not: a witness says nothing about what the entries mean, nor
// about the checkpoint's extension lines (its `time` included). It protects
// clients only if they require its cosignature (specs/log.md §7 step 5).
#ifndef ARCA_TLOG_WITNESS_H_
#define ARCA_TLOG_WITNESS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/time.h"
#include "tlog/checkpoint.h"
#include "tlog/merkle.h"
#include "tlog/note.h"

namespace arca::tlog {

// kMaxWitnessProofHashes: "The client MUST NOT send more than 63 consistency
// proof lines" (tlog-witness §add-checkpoint).
inline constexpr std::size_t kMaxWitnessProofHashes = 63;
// kMaxAddCheckpointBytes bounds a request body: a whole note plus the old
// size line and 63 hashes.
inline constexpr std::size_t kMaxAddCheckpointBytes = 64 * 1024 + 64 * 46;
// kTlogSizeContentType is the media type of a 409 answer's body.
inline constexpr std::string_view kTlogSizeContentType = "text/x.tlog.size";

// AddCheckpointRequest is the body of POST <prefix>/add-checkpoint.
struct AddCheckpointRequest {
  std::uint64_t old_size = 0;
  std::vector<Hash> proof;  // consistency proof from old_size to the checkpoint's size
  std::string checkpoint;   // the signed note, verbatim
  friend bool operator==(const AddCheckpointRequest&, const AddCheckpointRequest&) = default;
};

// ParseAddCheckpointRequest reads "old N\n", up to 63 base64 hash lines, a
// blank line and a signed note. InvalidArgument naming the line for anything
// malformed (non-canonical decimal or base64, a hash not 32 bytes, a missing
// blank line, a note that does not parse); ResourceExhausted above
// kMaxAddCheckpointBytes or 63 hashes. Signatures are not checked here.
Result<AddCheckpointRequest> ParseAddCheckpointRequest(std::string_view body);

// SerializeAddCheckpointRequest writes what the parser reads back;
// InvalidArgument when it would not round-trip.
Result<std::string> SerializeAddCheckpointRequest(const AddCheckpointRequest& request);

// ParseCosignatureLines reads a 200 answer: one or more note signature lines
// ("— name base64\n"). InvalidArgument when malformed or empty.
Result<std::vector<NoteSignature>> ParseCosignatureLines(std::string_view body);

// WitnessedCheckpoint is what a witness records per origin.
struct WitnessedCheckpoint {
  std::uint64_t size = 0;
  Hash root{};
  std::string note;        // the checkpoint as submitted (the log's signature at least)
  UnixSeconds cosigned = 0;
  friend bool operator==(const WitnessedCheckpoint&, const WitnessedCheckpoint&) = default;
};

// WitnessState persists the latest cosigned checkpoint per origin. Witness
// serializes calls, so implementations need not; Put MUST be durable before
// it returns (the protocol requires persisting before answering).
class WitnessState {
 public:
  virtual ~WitnessState() = default;
  virtual Result<std::optional<WitnessedCheckpoint>> Latest(const std::string& origin) = 0;
  virtual Status Put(const std::string& origin, const WitnessedCheckpoint& checkpoint) = 0;
  // RecordRefusal keeps a checkpoint that was validly signed by a trusted
  // log key but refused (conflict, bad proof): possible evidence of a log
  // misbehaving (tlog-witness: the witness MAY log it).
  virtual Status RecordRefusal(const std::string& origin, std::string_view request, std::string_view why,
                               UnixSeconds when) = 0;
};

// WitnessAnswer is an add-checkpoint response: the HTTP status, its media
// type and body. 200: cosignature line(s); 409: the recorded size and a
// newline (text/x.tlog.size); other codes: a one-line explanation.
struct WitnessAnswer {
  int http_status = 500;
  std::string content_type = "text/plain";
  std::string body;
};

// Witness is the witness side: its cosigning key, the logs it witnesses
// (origin → trusted log keys) and its state. Thread-safe.
class Witness {
 public:
  Witness(NoteSigner key, std::vector<NoteVerifier> log_keys, WitnessState& state);

  const NoteVerifier& verifier() const { return key_.verifier(); }
  // Origins lists the logs this witness accepts checkpoints of.
  std::vector<std::string> Origins() const;

  // AddCheckpoint handles one request body, per tlog-witness:
  //   400 malformed body, or old size larger than the checkpoint's;
  //   404 the checkpoint's origin is not a witnessed log;
  //   403 no signature by a trusted key of that log verifies (or one fails);
  //   409 old size is not the recorded size, or equal sizes with another
  //       root (body: the recorded size);
  //   422 the consistency proof does not verify;
  //   200 cosigned, after the new record was persisted;
  //   500 the state could not be read or written (nothing cosigned).
  WitnessAnswer AddCheckpoint(std::string_view body, UnixSeconds now);

 private:
  NoteSigner key_;
  std::vector<NoteVerifier> log_keys_;
  WitnessState& state_;
  std::mutex mu_;  // check-and-update is atomic (tlog-witness's rollback race)
};

// MemoryWitnessState keeps records in memory (tests, fuzzing).
class MemoryWitnessState : public WitnessState {
 public:
  Result<std::optional<WitnessedCheckpoint>> Latest(const std::string& origin) override;
  Status Put(const std::string& origin, const WitnessedCheckpoint& checkpoint) override;
  Status RecordRefusal(const std::string& origin, std::string_view request, std::string_view why, UnixSeconds when) override;
  std::size_t refusals() const { return refusals_; }

 private:
  std::vector<std::pair<std::string, WitnessedCheckpoint>> records_;
  std::size_t refusals_ = 0;
};

// --- the log's side ------------------------------------------------------

// ConsistencyProver returns the RFC 9162 consistency proof from `old_size`
// to `new_size` of the log (old_size > 0).
using ConsistencyProver = std::function<Result<std::vector<Hash>>(std::uint64_t old_size, std::uint64_t new_size)>;

// WitnessPoster sends an add-checkpoint body to one witness and returns its
// answer (transport failures as Unavailable/DeadlineExceeded).
using WitnessPoster = std::function<Result<WitnessAnswer>(const std::string& body)>;

// RequestCosignature runs the log's side of add-checkpoint with one witness:
// it sends `signed_checkpoint` with a proof from *known_size (the size the
// witness is believed to hold; 0 when unknown), and on a 409 retries once
// from the size the witness reports. It returns the witness's verified
// cosignature and updates *known_size. Errors: FailedPrecondition when the
// witness holds a larger tree than the checkpoint (this log was rolled back,
// or forked) or refuses with 409/422 after the retry; Unauthenticated when
// the answer holds no valid cosignature by `witness`; the poster's errors.
Result<NoteSignature> RequestCosignature(std::string_view signed_checkpoint, const NoteVerifier& witness,
                                         const ConsistencyProver& prover, const WitnessPoster& post,
                                         std::uint64_t* known_size);

}  // namespace arca::tlog

#endif  // ARCA_TLOG_WITNESS_H_
