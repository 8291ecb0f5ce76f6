// Fuzz target: bytes -> ParseDsseEnvelope, then the verify path. Whatever
// parses must be a fixed point of canonical serialization (so one envelope
// has one byte form), and every signature is checked against the fixed fuzz
// key: OK (the seeds signed with it) or Unauthenticated, never anything else.
// An in-toto payload goes on to ParseStatement. Aborts when a property breaks.
#include <cstdint>

#include "signer/dsse.h"
#include "signer/statement.h"
#include "tests/fuzz/signer_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using arca::StatusCode;
  using arca::fuzz::Check;
  namespace signer = arca::signer;

  auto env = signer::ParseDsseEnvelope(arca::ByteSpan(data, size));
  if (!env.ok()) {
    arca::fuzz::CheckError(env.status(), {StatusCode::kInvalidArgument, StatusCode::kResourceExhausted},
                           "ParseDsseEnvelope");
    return 0;
  }
  Check(!env->payload_type.empty(), "an envelope parsed with an empty payloadType");
  std::string canonical = signer::SerializeDsseEnvelope(*env);
  auto again = signer::ParseDsseEnvelope(arca::AsBytes(canonical));
  Check(again.ok(), "the canonical form of a parsed envelope does not re-parse");
  Check(signer::SerializeDsseEnvelope(*again) == canonical, "envelope serialization is not a fixed point");
  Check(again->payload == env->payload && again->payload_type == env->payload_type &&
            again->signatures.size() == env->signatures.size(),
        "re-parsing the canonical form changed the envelope");

  const arca::crypto::PublicKey& key = arca::fuzz::FuzzSigner().public_key();
  for (const auto& sig : env->signatures) {
    arca::Status s = signer::VerifyDsseSignature(*env, sig, key);
    if (!s.ok()) arca::fuzz::CheckError(s, {StatusCode::kUnauthenticated}, "VerifyDsseSignature");
  }
  if (env->payload_type == signer::kInTotoPayloadType) {
    auto st = signer::ParseStatement(env->payload);
    if (!st.ok()) {
      arca::fuzz::CheckError(st.status(), {StatusCode::kInvalidArgument, StatusCode::kResourceExhausted},
                             "ParseStatement of an envelope payload");
    }
  }
  return 0;
}
