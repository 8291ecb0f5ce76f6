#include "attest/release_protocol.h"

#include <cstring>
#include <utility>

#include "base/hpke.h"

namespace arca::release {
namespace {

constexpr hpke::Aead kAead = hpke::Aead::kAes256Gcm;

void AppendLp(Bytes& out, ByteSpan x) {
  std::uint32_t n = std::uint32_t(x.size());
  std::uint8_t be[4] = {std::uint8_t(n >> 24), std::uint8_t(n >> 16), std::uint8_t(n >> 8), std::uint8_t(n)};
  out.insert(out.end(), be, be + 4);
  out.insert(out.end(), x.begin(), x.end());
}

Result<Json> ParseMessage(std::string_view text, std::string_view what, std::size_t max_bytes = kMaxMessageBytes) {
  if (text.size() > max_bytes) {
    return ResourceExhaustedError(std::string(what) + ": " + std::to_string(text.size()) + " bytes, more than the " +
                                  std::to_string(max_bytes) + " allowed");
  }
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(text, what, JsonLimits{max_bytes, 8}));
  if (!j.is_object()) return InvalidArgumentError(std::string(what) + ": expected a JSON object");
  return j;
}

Result<std::string> RequireDigest(const Json& j, std::string_view field, std::string_view where) {
  ARCA_ASSIGN_OR_RETURN(std::string d, RequireString(j, field, where));
  if (d.size() != 71 || d.compare(0, 7, "sha256:") != 0 || !IsLowerHex(std::string_view(d).substr(7), 64)) {
    return InvalidArgumentError(std::string(where) + "." + std::string(field) +
                                ": expected sha256:<64 lower-case hex>, got " + std::to_string(d.size()) + " characters");
  }
  return d;
}

Result<Bytes> RequireBase64(const Json& j, std::string_view field, std::string_view where, std::size_t min,
                            std::size_t max) {
  ARCA_ASSIGN_OR_RETURN(std::string s, RequireString(j, field, where));
  auto b = Base64Decode(s);
  if (!b.ok()) return b.status().WithContext(std::string(where) + "." + std::string(field));
  if (b->size() < min || b->size() > max) {
    return InvalidArgumentError(std::string(where) + "." + std::string(field) + ": expected " +
                                (min == max ? std::to_string(min) : std::to_string(min) + ".." + std::to_string(max)) +
                                " bytes, got " + std::to_string(b->size()));
  }
  return std::move(*b);
}

}  // namespace

std::string SerializeChallengeRequest(const ChallengeRequest& m) { return Json{{"package", m.package_digest}}.dump(); }

Result<ChallengeRequest> ParseChallengeRequest(std::string_view text) {
  constexpr std::string_view w = "challenge request";
  ARCA_ASSIGN_OR_RETURN(Json j, ParseMessage(text, w));
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(j, {"package"}, w));
  ChallengeRequest m;
  ARCA_ASSIGN_OR_RETURN(m.package_digest, RequireDigest(j, "package", w));
  return m;
}

std::string SerializeChallenge(const Challenge& m) {
  return Json{{"nonce", Base64Encode(m.nonce)},
              {"expires", attest::FormatRfc3339(m.expires)},
              {"policyDigest", m.policy_digest},
              {"policyVersion", m.policy_version}}
      .dump();
}

Result<Challenge> ParseChallenge(std::string_view text) {
  constexpr std::string_view w = "challenge";
  ARCA_ASSIGN_OR_RETURN(Json j, ParseMessage(text, w));
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(j, {"nonce", "expires", "policyDigest", "policyVersion"}, w));
  Challenge m;
  ARCA_ASSIGN_OR_RETURN(m.nonce, RequireBase64(j, "nonce", w, kNonceSize, kNonceSize));
  ARCA_ASSIGN_OR_RETURN(std::string expires, RequireString(j, "expires", w));
  ARCA_ASSIGN_OR_RETURN(m.expires, attest::ParseRfc3339(expires, "challenge.expires"));
  ARCA_ASSIGN_OR_RETURN(m.policy_digest, RequireDigest(j, "policyDigest", w));
  ARCA_ASSIGN_OR_RETURN(m.policy_version, RequireUint(j, "policyVersion", w, 1ull << 53));
  return m;
}

std::string SerializeReleaseRequest(const ReleaseRequest& m) {
  return Json{{"package", m.package_digest},
              {"nonce", Base64Encode(m.nonce)},
              {"publicKey", Base64Encode(m.public_key)},
              {"evidence", m.evidence}}
      .dump();
}

Result<ReleaseRequest> ParseReleaseRequest(std::string_view text) {
  constexpr std::string_view w = "release request";
  ARCA_ASSIGN_OR_RETURN(Json j, ParseMessage(text, w));
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(j, {"package", "nonce", "publicKey", "evidence"}, w));
  ReleaseRequest m;
  ARCA_ASSIGN_OR_RETURN(m.package_digest, RequireDigest(j, "package", w));
  ARCA_ASSIGN_OR_RETURN(m.nonce, RequireBase64(j, "nonce", w, kNonceSize, kNonceSize));
  ARCA_ASSIGN_OR_RETURN(Bytes pk, RequireBase64(j, "publicKey", w, 32, 32));
  std::memcpy(m.public_key.data(), pk.data(), 32);
  ARCA_ASSIGN_OR_RETURN(m.evidence, RequireString(j, "evidence", w));
  return m;
}

std::string SerializeReleaseResponse(const ReleaseResponse& m) {
  return Json{{"package", m.package_digest},
              {"policyDigest", m.policy_digest},
              {"releaseId", m.release_id},
              {"enc", Base64Encode(m.enc)},
              {"keys", Base64Encode(m.keys)}}
      .dump();
}

Result<ReleaseResponse> ParseReleaseResponse(std::string_view text) {
  constexpr std::string_view w = "release response";
  ARCA_ASSIGN_OR_RETURN(Json j, ParseMessage(text, w, kMaxResponseBytes));
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(j, {"package", "policyDigest", "releaseId", "enc", "keys"}, w));
  ReleaseResponse m;
  ARCA_ASSIGN_OR_RETURN(m.package_digest, RequireDigest(j, "package", w));
  ARCA_ASSIGN_OR_RETURN(m.policy_digest, RequireDigest(j, "policyDigest", w));
  ARCA_ASSIGN_OR_RETURN(m.release_id, RequireUint(j, "releaseId", w, 1ull << 53));
  ARCA_ASSIGN_OR_RETURN(m.enc, RequireBase64(j, "enc", w, hpke::kEncSize, hpke::kEncSize));
  ARCA_ASSIGN_OR_RETURN(m.keys, RequireBase64(j, "keys", w, 4 + hpke::kTagSize, 4 + 64 * kMaxKeys + hpke::kTagSize));
  return m;
}

Bytes HpkeInfo(std::string_view package_digest, std::string_view policy_digest) {
  Bytes info;
  AppendLp(info, AsBytes(kHpkeInfoLabel));
  AppendLp(info, AsBytes(package_digest));
  AppendLp(info, AsBytes(policy_digest));
  return info;
}

Status SealChunkKeys(const ChunkKeys& keys, ByteSpan public_key, ByteSpan nonce, ReleaseResponse* response) {
  if (keys.size() > kMaxKeys) return ResourceExhaustedError("release: " + std::to_string(keys.size()) + " keys, more than allowed");
  SecretBytes plain(4 + 64 * keys.size());
  auto p = plain.ExposeMutable();
  std::uint32_t n = std::uint32_t(keys.size());
  p[0] = std::uint8_t(n >> 24);
  p[1] = std::uint8_t(n >> 16);
  p[2] = std::uint8_t(n >> 8);
  p[3] = std::uint8_t(n);
  std::size_t at = 4;
  for (const auto& [id, key] : keys) {
    if (key.size() != 32) return InternalError("release: a chunk key is not 32 bytes");
    std::memcpy(&p[at], id.data(), 32);
    std::memcpy(&p[at + 32], key.Expose().data(), 32);
    at += 64;
  }
  Bytes info = HpkeInfo(response->package_digest, response->policy_digest);
  ARCA_ASSIGN_OR_RETURN(hpke::Sealed sealed, hpke::Seal(kAead, public_key, info, nonce, plain.Expose()));
  response->enc = std::move(sealed.enc);
  response->keys = std::move(sealed.ciphertext);
  return Status::Ok();
}

Result<ChunkKeys> OpenChunkKeys(const ReleaseResponse& response, const SecretBytes& private_key, ByteSpan nonce,
                                std::string_view expected_package, std::string_view expected_policy) {
  if (response.package_digest != expected_package) {
    return UnauthenticatedError("release response is for package " + response.package_digest + ", not " +
                                std::string(expected_package));
  }
  if (response.policy_digest != expected_policy) {
    return UnauthenticatedError("release response was judged under policy " + response.policy_digest +
                                ", but the challenge named " + std::string(expected_policy));
  }
  Bytes info = HpkeInfo(expected_package, expected_policy);
  auto plain = hpke::Open(kAead, response.enc, private_key.Expose(), info, nonce, response.keys);
  if (!plain.ok()) {
    return UnauthenticatedError("release response does not open with this runtime's key for this package, policy and "
                                "nonce (altered, or made for another exchange)");
  }
  auto p = plain->Expose();
  if (p.size() < 4) return InvalidArgumentError("release key list: shorter than its count");
  std::size_t n = (std::size_t(p[0]) << 24) | (std::size_t(p[1]) << 16) | (std::size_t(p[2]) << 8) | p[3];
  if (n > kMaxKeys || p.size() != 4 + 64 * n) {
    return InvalidArgumentError("release key list: count " + std::to_string(n) + " does not match its " +
                                std::to_string(p.size()) + " bytes");
  }
  ChunkKeys keys;
  const ChunkId* previous = nullptr;
  for (std::size_t i = 0; i < n; ++i) {
    ChunkId id;
    std::memcpy(id.data(), &p[4 + 64 * i], 32);
    auto [it, inserted] = keys.emplace(id, SecretBytes::CopyFrom(p.subspan(4 + 64 * i + 32, 32)));
    if (!inserted || (previous && !(*previous < id))) {
      return InvalidArgumentError("release key list: entry " + std::to_string(i) + " is out of order or repeated");
    }
    previous = &it->first;
  }
  return keys;
}

std::string SerializeEndpointEvidence(const EndpointEvidence& m) {
  return Json{{"package", m.package_digest},
              {"policyDigest", m.policy_digest},
              {"tlsPublicKey", Base64Encode(m.tls_spki)},
              {"evidence", m.evidence}}
      .dump();
}

Result<EndpointEvidence> ParseEndpointEvidence(std::string_view text) {
  constexpr std::string_view w = "endpoint evidence";
  ARCA_ASSIGN_OR_RETURN(Json j, ParseMessage(text, w));
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(j, {"package", "policyDigest", "tlsPublicKey", "evidence"}, w));
  EndpointEvidence m;
  ARCA_ASSIGN_OR_RETURN(m.package_digest, RequireDigest(j, "package", w));
  ARCA_ASSIGN_OR_RETURN(m.policy_digest, RequireDigest(j, "policyDigest", w));
  ARCA_ASSIGN_OR_RETURN(m.tls_spki, RequireBase64(j, "tlsPublicKey", w, 1, 1024));
  ARCA_ASSIGN_OR_RETURN(m.evidence, RequireString(j, "evidence", w));
  return m;
}

namespace {
struct HttpCode {
  StatusCode code;
  int http;
};
// One table for both directions. ResourceExhausted and Unavailable map to
// HTTP but back to Unavailable (the runtime retries them).
constexpr HttpCode kHttpCodes[] = {{StatusCode::kInvalidArgument, 400}, {StatusCode::kUnauthenticated, 401},
                                   {StatusCode::kPermissionDenied, 403}, {StatusCode::kNotFound, 404},
                                   {StatusCode::kFailedPrecondition, 409}};
}  // namespace

int HttpStatusFor(StatusCode code) {
  for (const auto& c : kHttpCodes) {
    if (c.code == code) return c.http;
  }
  if (code == StatusCode::kResourceExhausted) return 429;
  if (code == StatusCode::kUnavailable) return 503;
  return 500;
}

StatusCode StatusCodeForHttp(int http_status) {
  for (const auto& c : kHttpCodes) {
    if (c.http == http_status) return c.code;
  }
  return StatusCode::kUnavailable;
}

Json ErrorJson(const Status& status) {
  return {{"error", {{"code", std::string(StatusCodeName(status.code()))}, {"message", status.message()}}}};
}

}  // namespace arca::release
