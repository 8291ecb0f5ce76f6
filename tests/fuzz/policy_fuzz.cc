// Fuzz target: bytes (a policy statement, the payload `arca policy new`
// writes into its envelope) -> ParseStatement + PolicyFromStatement, then the
// verify path. A decoded policy must survive PolicyToStatement -> canonical
// JSON -> decode unchanged (a fixed point), and, signed here with the fixed
// fuzz key and checked by VerifyPolicyEnvelope against a 1-of-1 root of that
// key, must verify for its own package exactly when it has not expired, and
// never for another package's digest (mix-and-match). Aborts when a property
// breaks.
#include <cstdint>
#include <cstdio>

#include "base/verdict.h"
#include "signer/documents.h"
#include "signer/dsse.h"
#include "signer/package_signing.h"
#include "signer/statement.h"
#include "signer/verify.h"
#include "tests/fuzz/signer_fuzz_util.h"

namespace {

const std::vector<arca::signer::Root>& FuzzChain() {
  static const std::vector<arca::signer::Root> chain = [] {
    arca::signer::Root r;
    r.namespace_name = "fuzz";
    const auto& key = arca::fuzz::FuzzSigner().public_key();
    r.keys.emplace(key.KeyId(), key);
    return std::vector<arca::signer::Root>{r};
  }();
  return chain;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using arca::StatusCode;
  using arca::fuzz::Check;
  using arca::fuzz::CheckError;
  namespace signer = arca::signer;
  const auto kRefusals = {StatusCode::kInvalidArgument, StatusCode::kResourceExhausted};

  arca::ByteSpan bytes(data, size);
  auto st = signer::ParseStatement(bytes);
  if (!st.ok()) {
    CheckError(st.status(), kRefusals, "ParseStatement");
    return 0;
  }
  auto policy = signer::PolicyFromStatement(*st);
  if (!policy.ok()) {
    CheckError(policy.status(), kRefusals, "PolicyFromStatement");
    return 0;
  }

  // Round trip through what `arca policy allow/revoke` write.
  auto canonical = signer::SerializeStatement(signer::PolicyToStatement(*policy));
  Check(canonical.ok(), "a decoded policy does not serialize");
  auto st2 = signer::ParseStatement(arca::AsBytes(*canonical));
  Check(st2.ok(), "a serialized policy statement does not parse");
  auto policy2 = signer::PolicyFromStatement(*st2);
  if (!policy2.ok()) std::fprintf(stderr, "second decode: %s\n", policy2.status().ToString().c_str());
  Check(policy2.ok(), "a serialized policy does not decode");
  auto again = signer::SerializeStatement(signer::PolicyToStatement(*policy2));
  Check(again.ok() && *again == *canonical, "policy serialization is not a fixed point");

  // The verify path, over the fuzzed bytes themselves.
  signer::DsseEnvelope env{std::string(signer::kInTotoPayloadType), arca::Bytes(bytes.begin(), bytes.end()), {}};
  auto sig = signer::SignDsse(arca::fuzz::FuzzSigner(), env.payload_type, env.payload);
  Check(sig.ok(), "the fuzz key did not sign");
  env.signatures.push_back(*sig);
  auto decoded = signer::DecodePolicyEnvelope(env);
  Check(decoded.ok() && decoded->version == policy->version, "DecodePolicyEnvelope disagrees with PolicyFromStatement");

  arca::Verdict verdict;
  auto verified = signer::VerifyPolicyEnvelope(env, FuzzChain(), policy->subject, arca::fuzz::kFuzzNow, verdict);
  bool live = !policy->expires || *policy->expires > arca::fuzz::kFuzzNow;
  bool subject_ok = signer::CheckSubject(*st, policy->subject).ok();
  Check(verified.has_value() == (live && subject_ok), "VerifyPolicyEnvelope disagrees with expiry and subject");
  Check(verified.has_value() == verdict.ok(), "VerifyPolicyEnvelope's result and verdict disagree");

  signer::PackageSubject other = policy->subject;
  other.manifest_digest = "sha256:" + std::string(64, other.manifest_digest.back() == '0' ? '1' : '0');
  arca::Verdict other_verdict;
  Check(!signer::VerifyPolicyEnvelope(env, FuzzChain(), other, arca::fuzz::kFuzzNow, other_verdict).has_value(),
        "a policy verified for another package's digest");
  return 0;
}
