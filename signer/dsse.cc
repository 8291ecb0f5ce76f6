#include "signer/dsse.h"

#include <nlohmann/json.hpp>

#include "base/json.h"

namespace arca::signer {

Bytes PreAuthEncoding(std::string_view payload_type, ByteSpan payload) {
  std::string head = "DSSEv1 " + std::to_string(payload_type.size()) + " " + std::string(payload_type) + " " +
                     std::to_string(payload.size()) + " ";
  Bytes pae(head.begin(), head.end());
  pae.insert(pae.end(), payload.begin(), payload.end());
  return pae;
}

Result<DsseEnvelope> ParseDsseEnvelope(ByteSpan json, const DsseLimits& limits) {
  if (json.size() > limits.max_bytes) {
    return ResourceExhaustedError("DSSE envelope is " + std::to_string(json.size()) + " bytes, over the limit of " +
                                  std::to_string(limits.max_bytes));
  }
  JsonLimits jl;
  jl.max_bytes = limits.max_bytes;
  jl.max_depth = 4;
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(ToString(json), "DSSE envelope", jl));
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(j, {"payload", "payloadType", "signatures"}, "DSSE envelope"));
  DsseEnvelope env;
  ARCA_ASSIGN_OR_RETURN(env.payload_type, RequireString(j, "payloadType", "DSSE envelope"));
  if (env.payload_type.empty() || env.payload_type.size() > limits.max_payload_type) {
    return InvalidArgumentError("DSSE envelope payloadType must be 1.." + std::to_string(limits.max_payload_type) + " bytes");
  }
  ARCA_ASSIGN_OR_RETURN(std::string payload_b64, RequireString(j, "payload", "DSSE envelope"));
  auto payload = Base64Decode(payload_b64);
  if (!payload.ok()) return payload.status().WithContext("DSSE envelope payload");
  env.payload = std::move(*payload);
  ARCA_ASSIGN_OR_RETURN(const Json* sigs, RequireArray(j, "signatures", "DSSE envelope"));
  if (sigs->size() > limits.max_signatures) {
    return ResourceExhaustedError("DSSE envelope has " + std::to_string(sigs->size()) + " signatures, over the limit of " +
                                  std::to_string(limits.max_signatures));
  }
  for (std::size_t i = 0; i < sigs->size(); ++i) {
    std::string where = "DSSE envelope signatures[" + std::to_string(i) + "]";
    const Json& s = (*sigs)[i];
    ARCA_RETURN_IF_ERROR(RejectUnknownFields(s, {"keyid", "sig"}, where));
    DsseSignature sig;
    if (s.contains("keyid")) {
      ARCA_ASSIGN_OR_RETURN(sig.keyid, RequireString(s, "keyid", where));
      if (sig.keyid.size() > limits.max_keyid) return InvalidArgumentError(where + ".keyid is too long");
    }
    ARCA_ASSIGN_OR_RETURN(std::string sig_b64, RequireString(s, "sig", where));
    auto raw = Base64Decode(sig_b64);
    if (!raw.ok()) return raw.status().WithContext(where + ".sig");
    if (raw->empty()) return InvalidArgumentError(where + ".sig is empty");
    sig.sig = std::move(*raw);
    env.signatures.push_back(std::move(sig));
  }
  return env;
}

std::string SerializeDsseEnvelope(const DsseEnvelope& envelope) {
  Json sigs = Json::array();
  for (const auto& s : envelope.signatures) {
    Json o = {{"sig", Base64Encode(s.sig)}};
    if (!s.keyid.empty()) o["keyid"] = s.keyid;
    sigs.push_back(std::move(o));
  }
  Json j = {{"payload", Base64Encode(envelope.payload)}, {"payloadType", envelope.payload_type}, {"signatures", sigs}};
  return CanonicalJson(j).value();  // strings only: cannot fail
}

Result<DsseSignature> SignDsse(Signer& signer, std::string_view payload_type, ByteSpan payload) {
  ARCA_ASSIGN_OR_RETURN(Bytes sig, signer.Sign(PreAuthEncoding(payload_type, payload)));
  return DsseSignature{signer.KeyId(), std::move(sig)};
}

Status VerifyDsseSignature(const DsseEnvelope& envelope, const DsseSignature& signature, const crypto::PublicKey& key) {
  if (!signature.keyid.empty() && signature.keyid != key.KeyId()) {
    return UnauthenticatedError("signature keyid " + signature.keyid.substr(0, 64) + " is not the key " + key.KeyId());
  }
  return key.Verify(PreAuthEncoding(envelope.payload_type, envelope.payload), signature.sig);
}

}  // namespace arca::signer
