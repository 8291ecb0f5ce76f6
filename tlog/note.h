// C2SP signed notes (https://c2sp.org/signed-note): text signed by one or
// more named keys, the envelope of checkpoints and cosignatures.
//
// What this protects: a note that OpenNote accepts carries at least one
// valid signature over its exact text bytes from a key the caller trusts, and
// no invalid signature from a trusted key. Signatures from keys the caller
// does not know are ignored (as the spec requires) but counted.
//
// What it does not protect: the text means nothing until a caller-chosen
// key has verified it; which keys to trust, and how many, is the caller's
// policy (checkpoint.h, proof.h). Key IDs are 4-byte hints, not fingerprints:
// a signature is only matched to a key by (name, key ID) and then verified.
//
// Parsing is strict: valid UTF-8, no control characters but newline, the
// text separated from signature lines by the last blank line, each signature
// line "— <name> <standard padded base64>", and size limits (NoteLimits).
// All functions are thread-safe; key objects are immutable.
#ifndef ARCA_TLOG_NOTE_H_
#define ARCA_TLOG_NOTE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/file_system.h"
#include "base/secret_bytes.h"
#include "base/signature.h"
#include "base/status.h"
#include "base/time.h"

namespace arca::tlog {

// NoteLimits bound what ParseNote accepts. The defaults carry a checkpoint
// with the spec's minimum of 16 signatures and then some.
struct NoteLimits {
  std::size_t max_bytes = 64 * 1024;  // whole note
  std::size_t max_text_lines = 256;   // lines of text before the blank line
  std::size_t max_signatures = 64;    // signature lines (the spec's floor is 16)
};

// NoteSignature is one signature line: key name, 4-byte key ID (big-endian
// on the wire) and the signature bytes after the key ID.
struct NoteSignature {
  std::string name;
  std::uint32_t key_id = 0;
  Bytes signature;
  friend bool operator==(const NoteSignature&, const NoteSignature&) = default;
};

// Note is a parsed signed note. `text` includes its final newline, not the
// blank separator line.
struct Note {
  std::string text;
  std::vector<NoteSignature> signatures;
};

// ParseNote splits and checks a signed note. Codes: ResourceExhausted over
// a limit; InvalidArgument for anything malformed (the message names the
// line). Signatures are not verified here.
Result<Note> ParseNote(std::string_view message, const NoteLimits& limits = {});

// SerializeNote writes text, a blank line and one line per signature.
// InvalidArgument when the result would not parse back to the same note.
Result<std::string> SerializeNote(const Note& note, const NoteLimits& limits = {});

// NoteSignatureType is the signed-note signature type byte.
enum class NoteSignatureType : std::uint8_t {
  kEd25519 = 0x01,        // signed-note Ed25519 over the note text
  kCosignatureV1 = 0x04,  // tlog-cosignature v1: timestamped Ed25519
};

// IsValidKeyName: non-empty, valid UTF-8 with no control characters, no
// Unicode white space and no '+' (signed-note §Format).
bool IsValidKeyName(std::string_view name);

// NoteKeyId is SHA-256(name || 0x0A || type || public key)[:4], big-endian.
std::uint32_t NoteKeyId(std::string_view name, NoteSignatureType type, ByteSpan public_key);

// CosignatureV1Message is the message a tlog-cosignature v1 signs:
// "cosignature/v1\ntime <t>\n" followed by the checkpoint note text.
std::string CosignatureV1Message(std::string_view checkpoint_text, std::uint64_t timestamp);

// kMaxCosignatureTime keeps cosignature timestamps representable as
// UnixSeconds (int64).
inline constexpr std::uint64_t kMaxCosignatureTime = 0x7fffffffffffffffULL;

// VerifiedSignature records one signature that verified.
struct VerifiedSignature {
  std::string name;
  std::uint32_t key_id = 0;
  NoteSignatureType type = NoteSignatureType::kEd25519;
  std::optional<UnixSeconds> timestamp;  // cosignatures only
};

// NoteVerifier is a trusted public key with its name, as the vkey text
// "<name>+<8 hex key ID>+<base64(type || 32-byte Ed25519 key)>". Immutable.
class NoteVerifier {
 public:
  // Parse reads a vkey. InvalidArgument for a bad name, a key ID that is
  // not 8 lower-case hex digits or does not match the key, non-canonical
  // base64, an unsupported type byte or a key of the wrong length.
  static Result<NoteVerifier> Parse(std::string_view vkey);

  // FromPublicKey wraps an Ed25519 key under `name` with `type`.
  // InvalidArgument for a bad name or a non-Ed25519 key.
  static Result<NoteVerifier> FromPublicKey(std::string_view name, NoteSignatureType type,
                                            const crypto::PublicKey& key);

  const std::string& name() const { return name_; }
  std::uint32_t key_id() const { return key_id_; }
  NoteSignatureType type() const { return type_; }

  // ToString is the vkey text (no newline).
  std::string ToString() const;

  // Verify checks `signature` (without its key ID) over `text`: Ed25519 over
  // the text for type 0x01; for 0x04 a 72-byte timestamp || signature over
  // CosignatureV1Message(text, timestamp). Unauthenticated
  // ("bad-signature: ...") on any failure; the message names the key.
  Result<VerifiedSignature> Verify(std::string_view text, ByteSpan signature) const;

 private:
  NoteVerifier(std::string name, NoteSignatureType type, crypto::PublicKey key, std::uint32_t key_id)
      : name_(std::move(name)), type_(type), key_(std::move(key)), key_id_(key_id) {}

  std::string name_;
  NoteSignatureType type_;
  crypto::PublicKey key_;
  std::uint32_t key_id_;
};

// ReadVerifierKeyFile reads a file holding one verifier key of `type` (what
// `arca-registry log key` or `witness key` prints; trailing newlines are
// ignored). Errors name the file; InvalidArgument says which key is wanted.
Result<NoteVerifier> ReadVerifierKeyFile(FileSystem& fs, const std::string& path, NoteSignatureType type);

// NoteSigner is a private key with its name. Its text form is
// "PRIVATE+KEY+<name>+<8 hex key ID>+<base64(type || 32-byte seed)>", the
// form golang.org/x/mod/sumdb/note uses for type 0x01 (Arca uses the same
// shape for 0x04 witness keys). Move-only.
class NoteSigner {
 public:
  // Generate makes a fresh Ed25519 key. InvalidArgument for a bad name.
  static Result<NoteSigner> Generate(std::string_view name, NoteSignatureType type);

  // Parse reads the PRIVATE+KEY text. InvalidArgument when malformed or the
  // key ID does not match; the message never contains key bytes. The caller
  // wipes `skey`.
  static Result<NoteSigner> Parse(std::string_view skey);

  // FromSeed builds a signer from a 32-byte Ed25519 seed (RFC 8032 secret).
  static Result<NoteSigner> FromSeed(std::string_view name, NoteSignatureType type, ByteSpan seed);

  // ToSecretString is the PRIVATE+KEY text, as SecretBytes.
  SecretBytes ToSecretString() const;

  const NoteVerifier& verifier() const { return verifier_; }

  // Sign signs `text` as a type-0x01 note signature. FailedPrecondition for
  // a cosignature key; Internal if OpenSSL fails.
  Result<NoteSignature> Sign(std::string_view text) const;

  // Cosign signs `checkpoint_text` as a tlog-cosignature v1 at `timestamp`.
  // FailedPrecondition for a non-cosignature key; InvalidArgument when the
  // timestamp exceeds kMaxCosignatureTime.
  Result<NoteSignature> Cosign(std::string_view checkpoint_text, std::uint64_t timestamp) const;

 private:
  NoteSigner(SecretBytes seed, crypto::PrivateKey key, NoteVerifier verifier)
      : seed_(std::move(seed)), key_(std::move(key)), verifier_(std::move(verifier)) {}

  SecretBytes seed_;
  crypto::PrivateKey key_;
  NoteVerifier verifier_;
};

// NoteVerification is what VerifyNote found.
struct NoteVerification {
  std::vector<VerifiedSignature> verified;  // in note order
  std::size_t unknown = 0;                  // signatures from keys not in `known`
};

// VerifyNote checks every signature whose (name, key ID) matches a key in
// `known` and ignores the others. Unauthenticated when a known key's
// signature fails ("bad-signature: ...") — the whole note is refused — or
// when no known key signed ("unknown-key: ..."); InvalidArgument when one
// known key signed twice.
Result<NoteVerification> VerifyNote(const Note& note, std::span<const NoteVerifier> known);

// OpenNote is ParseNote then VerifyNote.
Result<NoteVerification> OpenNote(std::string_view message, std::span<const NoteVerifier> known,
                                  const NoteLimits& limits = {});

}  // namespace arca::tlog

#endif  // ARCA_TLOG_NOTE_H_
