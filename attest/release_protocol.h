// The key-release protocol between arca-runtime and arca-keybroker
// (specs/key-release.md): its messages, strictly parsed, and the HPKE
// envelope that carries the chunk keys of one version to the runtime's
// ephemeral key. Shared by both sides so neither depends on the other.
//
//   1. runtime → broker  POST /v1/challenge {"package"}
//   2. broker → runtime  {"nonce", "expires", "policyDigest", "policyVersion"}
//   3. runtime → broker  POST /v1/release {"package", "nonce", "publicKey", "evidence"}
//      where the evidence's report data is the binding (attest/binding.h)
//      of (nonce, publicKey, package, policyDigest)
//   4. broker → runtime  {"package", "policyDigest", "releaseId", "enc", "keys"}
//      keys = HPKE-Seal(publicKey, info, aad = nonce, key list)
//
// What this protects: the keys are readable only with the private key that
// the evidence vouches for, for exactly this package, policy and nonce
// (HPKE info and AAD repeat the binding's values, so a response spliced
// from another exchange does not open). What it does not: authenticate the
// broker to the runtime (base-mode HPKE; a fake broker can send keys that
// fail every chunk tag, which the runtime then refuses) or keep the nonce
// single-use (the broker's store does that).
#ifndef ARCA_ATTEST_RELEASE_PROTOCOL_H_
#define ARCA_ATTEST_RELEASE_PROTOCOL_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "attest/verdict.h"
#include "base/bytes.h"
#include "base/json.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace arca::release {

inline constexpr std::string_view kHpkeInfoLabel = "arca-key-release-v1";
inline constexpr std::size_t kNonceSize = 32;
inline constexpr attest::UnixSeconds kNonceLifetimeSeconds = 60;
// kMaxMessageBytes bounds every protocol message but the release response
// (an evidence bundle is at most 4 MiB; base64 adds a third).
inline constexpr std::size_t kMaxMessageBytes = 6 << 20;
// kMaxKeys bounds one release: 2^21 chunk keys, a ~1.6 TB model at the
// default ~1.27 chunks per MiB.
inline constexpr std::size_t kMaxKeys = 2 << 20;
// kMaxResponseBytes bounds a release response: kMaxKeys keys of 64 bytes
// (id and key), base64 (4/3), and the JSON around them.
inline constexpr std::size_t kMaxResponseBytes = (64 * kMaxKeys + 64) / 3 * 4 + (1 << 20);

using ChunkId = std::array<std::uint8_t, 32>;
using ChunkKeys = std::map<ChunkId, SecretBytes>;

struct ChallengeRequest {
  std::string package_digest;  // sha256:<hex> of the Arca manifest
};

struct Challenge {
  Bytes nonce;  // kNonceSize bytes
  attest::UnixSeconds expires = 0;
  std::string policy_digest;  // sha256:<hex> of the signed policy envelope the broker judges with
  std::uint64_t policy_version = 0;
};

struct ReleaseRequest {
  std::string package_digest;
  Bytes nonce;
  std::array<std::uint8_t, 32> public_key{};  // X25519, raw
  std::string evidence;                       // an evidence bundle (specs/attestation.md §3)
};

struct ReleaseResponse {
  std::string package_digest;
  std::string policy_digest;
  std::uint64_t release_id = 0;
  Bytes enc;   // HPKE encapsulated key
  Bytes keys;  // HPKE ciphertext of the key list
};

// Each message's JSON form; the parsers refuse unknown fields, wrong
// types, bad digests, base64 or sizes, naming the field, and anything over
// kMaxMessageBytes (ResourceExhausted).
std::string SerializeChallengeRequest(const ChallengeRequest& m);
Result<ChallengeRequest> ParseChallengeRequest(std::string_view text);
std::string SerializeChallenge(const Challenge& m);
Result<Challenge> ParseChallenge(std::string_view text);
std::string SerializeReleaseRequest(const ReleaseRequest& m);
Result<ReleaseRequest> ParseReleaseRequest(std::string_view text);
std::string SerializeReleaseResponse(const ReleaseResponse& m);
Result<ReleaseResponse> ParseReleaseResponse(std::string_view text);

// HpkeInfo is LP(kHpkeInfoLabel) || LP(package digest) || LP(policy digest),
// LP(x) = u32be(len(x)) || x.
Bytes HpkeInfo(std::string_view package_digest, std::string_view policy_digest);

// SealChunkKeys encrypts the key list (u32be count, then id || key per
// chunk in id order) to `public_key`, with aad = nonce. Fills enc and keys
// of `response`, whose digests must be set.
Status SealChunkKeys(const ChunkKeys& keys, ByteSpan public_key, ByteSpan nonce, ReleaseResponse* response);

// OpenChunkKeys decrypts and parses the key list with the runtime's private
// key; Unauthenticated when the response was altered or was made for
// another key, package, policy or nonce; InvalidArgument when the list is
// malformed (count, length, order). The plaintext is wiped.
Result<ChunkKeys> OpenChunkKeys(const ReleaseResponse& response, const SecretBytes& private_key, ByteSpan nonce,
                                std::string_view expected_package, std::string_view expected_policy);

// --- The attested endpoint (specs/key-release.md §7)
//
// GET kEndpointEvidencePath?nonce=<hex, 16..64 bytes> on the runtime's TLS
// endpoint answers with fresh evidence whose report data binds (nonce, the
// endpoint's TLS SubjectPublicKeyInfo DER, the package it serves, the policy
// its keys were released under). A client that verifies it and then pins
// that SPKI for its request talks only to the attested runtime.
inline constexpr std::string_view kEndpointEvidencePath = "/.well-known/arca/evidence";

struct EndpointEvidence {
  std::string package_digest;
  std::string policy_digest;
  Bytes tls_spki;        // DER SubjectPublicKeyInfo, at most 1024 bytes
  std::string evidence;  // an evidence bundle
};
std::string SerializeEndpointEvidence(const EndpointEvidence& m);
Result<EndpointEvidence> ParseEndpointEvidence(std::string_view text);

// HttpStatusFor is the HTTP status the broker answers a refusal with;
// StatusCodeForHttp reads one back in the runtime (anything it does not
// name, 5xx and 429 included, is Unavailable: worth another try).
int HttpStatusFor(StatusCode code);
StatusCode StatusCodeForHttp(int http_status);

// ErrorJson is the body of every refusal: {"error": {"code", "message"}}
// plus, for a policy refusal, "clauses".
Json ErrorJson(const Status& status);

}  // namespace arca::release

#endif  // ARCA_ATTEST_RELEASE_PROTOCOL_H_
