// DSSE (Dead Simple Signing Envelope) v1, as specified in
// github.com/secure-systems-lab/dsse protocol.md and envelope.md.
//
// A signature covers PAE(payloadType, payload) =
//   "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
// (LEN = ASCII decimal byte length), so the payload type is authenticated and
// a signature over one type can never be replayed as another.
//
// What this protects: a verified signature shows the key's holder signed this
// exact payload under this exact type. What it does not: which keys count, how
// many are needed and what the payload means — that is the caller's (the
// namespace root and the statement checks in verify.h).
//
// Parsing is strict and bounded: the envelope is one JSON object with exactly
// the fields payload, payloadType, signatures[{keyid?, sig}]; both base64
// alphabets are accepted (the spec allows either), padding optional.
#ifndef ARCA_SIGNER_DSSE_H_
#define ARCA_SIGNER_DSSE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/signature.h"
#include "base/status.h"
#include "signer/key_source.h"

namespace arca::signer {

// kInTotoPayloadType is the payloadType of in-toto statements.
inline constexpr std::string_view kInTotoPayloadType = "application/vnd.in-toto+json";

struct DsseSignature {
  std::string keyid;  // Arca: hex SHA-256 of the signer's SPKI DER; may be empty in foreign envelopes
  Bytes sig;          // Ed25519: 64 bytes; ECDSA: DER
};

struct DsseEnvelope {
  std::string payload_type;
  Bytes payload;
  std::vector<DsseSignature> signatures;
};

struct DsseLimits {
  std::size_t max_bytes = 1 << 20;     // the whole envelope JSON
  std::size_t max_signatures = 32;
  std::size_t max_payload_type = 256;
  std::size_t max_keyid = 256;
};

// PreAuthEncoding returns the PAE bytes a DSSE signature covers.
Bytes PreAuthEncoding(std::string_view payload_type, ByteSpan payload);

// ParseDsseEnvelope parses untrusted envelope JSON. InvalidArgument for bad
// JSON, missing or unknown fields, wrong types, bad base64 or an empty
// signature; ResourceExhausted over `limits`. Errors name the field.
Result<DsseEnvelope> ParseDsseEnvelope(ByteSpan json, const DsseLimits& limits = {});

// SerializeDsseEnvelope writes the envelope as canonical JSON (RFC 8785)
// with standard padded base64, so one envelope has one byte form.
std::string SerializeDsseEnvelope(const DsseEnvelope& envelope);

// SignDsse signs PAE(payload_type, payload) and returns the signature with
// the signer's key id. Errors as Signer::Sign.
Result<DsseSignature> SignDsse(Signer& signer, std::string_view payload_type, ByteSpan payload);

// VerifyDsseSignature checks one signature of `envelope` with `key`:
// Unauthenticated when the keyid is set and is not key's KeyId, or the
// signature does not verify over the envelope's PAE.
[[nodiscard]] Status VerifyDsseSignature(const DsseEnvelope& envelope, const DsseSignature& signature,
                                         const crypto::PublicKey& key);

}  // namespace arca::signer

#endif  // ARCA_SIGNER_DSSE_H_
