// Namespace roots: who may release models under a namespace (specs/signing.md §4).
//
// A root lists the namespace's release keys and a threshold k: a release,
// provenance or policy counts only when k distinct listed keys signed it.
// The document is TUF-shaped: {"signed": {...}, "signatures": [{keyid, sig}]}
// with every signature over the RFC 8785 canonical JSON of "signed".
//
// Rotation follows TUF's root rule: version N+1 is trusted only when a
// threshold of version N's keys AND a threshold of its own keys signed it, so
// neither a stolen old key set nor a fabricated new one can move the chain
// alone. A client starts from a root it trusts out of band and walks N → N+1
// → …; a gap, a namespace change, or a missing threshold stops the walk with
// an error (never a silent fallback to the older root). A key is revoked by
// rotating to a root that no longer lists it.
//
// What this does not protect: a threshold of keys stolen together can sign
// anything; expiry (optional here, see the spec) is the only bound on how
// long a frozen, outdated root can be replayed to a client that never walks.
#ifndef ARCA_SIGNER_ROOT_H_
#define ARCA_SIGNER_ROOT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/signature.h"
#include "base/status.h"
#include "base/time.h"
#include "base/verdict.h"
#include "signer/key_source.h"

namespace arca::signer {

inline constexpr std::string_view kRootType = "arca-namespace-root";
inline constexpr std::size_t kMaxRootBytes = 256 * 1024;
inline constexpr std::size_t kMaxRootKeys = 64;

struct Root {
  std::string namespace_name;  // [a-z0-9][a-z0-9._-]{0,63}
  std::uint64_t version = 1;
  std::optional<UnixSeconds> expires;
  std::uint64_t threshold = 1;
  std::map<std::string, crypto::PublicKey> keys;  // KeyId -> key
};

struct RootSignature {
  std::string keyid;
  Bytes sig;
};

struct SignedRoot {
  Root root;
  std::vector<RootSignature> signatures;
};

// ValidateRoot checks the invariants every root must hold: a valid namespace
// name, version >= 1, 1 <= threshold <= number of keys <= kMaxRootKeys, and
// every map key equal to its key's KeyId. InvalidArgument naming the field.
[[nodiscard]] Status ValidateRoot(const Root& root);

// RootSignedBytes is the canonical JSON of the "signed" object: the bytes
// every root signature covers.
Result<std::string> RootSignedBytes(const Root& root);

// ParseDocumentKey parses a "PUBLIC KEY" PEM held in a signed document and
// requires it to be exactly the canonical PEM of the key it decodes to
// (what PublicKey::ToPem writes). OpenSSL's PEM reader ignores base64
// padding bits and line layout, so without this a changed byte in a
// document could leave its key, KeyId and signed bytes unchanged.
// InvalidArgument naming `where`.
Result<crypto::PublicKey> ParseDocumentKey(std::string_view pem, const std::string& where);

// ParseRoot parses an untrusted root document strictly (unknown fields,
// duplicate keys, a keyid that is not the SHA-256 of its key, a duplicate
// signature keyid: InvalidArgument; over kMaxRootBytes: ResourceExhausted).
// It does not check signatures.
Result<SignedRoot> ParseRoot(ByteSpan bytes);

// SerializeRoot writes the document as canonical JSON.
Result<std::string> SerializeRoot(const SignedRoot& root);

// SignRoot adds (or replaces) `signer`'s signature on `root`.
[[nodiscard]] Status SignRoot(Signer& signer, SignedRoot& root);

// RootSigners returns the KeyIds of `by`'s keys that validly signed `doc`.
// A signature by a key `by` does not list is skipped (it may belong to the
// other root of a rotation); a signature by a listed key that does not
// verify is Unauthenticated: the document was altered.
Result<std::vector<std::string>> RootSigners(const SignedRoot& doc, const Root& by);

// WalkRootChain verifies `trusted` against its own threshold, then applies
// `updates` (any order; versions <= the trusted one are ignored) one version
// at a time: namespace unchanged, version exactly +1, threshold of the
// previous root's keys and of its own. The final root must not have expired
// at `now`. Each step is recorded in `verdict` (checks "root.v<N>...").
// Returns every root walked, oldest first (the last is the one to use).
// Unauthenticated for a missing threshold or bad signature, FailedPrecondition
// for a gap in versions or a namespace change, and for expiry.
Result<std::vector<Root>> WalkRootChain(const SignedRoot& trusted, const std::vector<SignedRoot>& updates, UnixSeconds now,
                                        Verdict& verdict);

// KeyTypeScheme names a key the way TUF/securesystemslib do:
// ("ed25519","ed25519"), ("ecdsa","ecdsa-sha2-nistp256"), ("ecdsa","ecdsa-sha2-nistp384").
std::pair<std::string, std::string> KeyTypeScheme(crypto::KeyType type);

// ValidateNamespace checks a namespace name: [a-z0-9][a-z0-9._-]{0,63}.
[[nodiscard]] Status ValidateNamespace(std::string_view name);

}  // namespace arca::signer

#endif  // ARCA_SIGNER_ROOT_H_
