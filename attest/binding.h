// Evidence binding (specs/attestation.md §11): the 64 bytes a runtime puts
// into REPORT_DATA (SNP), REPORTDATA (TDX) or the TPM nonce so that evidence
// vouches for one fresh key, for one package and policy, for one request:
//
//   REPORT_DATA = SHA-512( LP("arca-evidence-binding-v1") || LP(nonce) ||
//                          LP(ephemeral public key) || LP(package digest) ||
//                          LP(policy digest) ),   LP(x) = u32be(len(x)) || x
//
// What this protects: a verifier that recomputes the binding from the values
// it expects (its own nonce, the key it will wrap secrets to, the package
// and policy it judges) knows the evidence was produced for exactly those:
// replayed evidence (another nonce), a key swapped in by a relay, or
// evidence meant for another package or policy does not match. Length
// prefixes make the encoding injective, so no two different tuples hash the
// same input. What it does not protect: that the evidence is genuine (the
// platform verifiers decide that) or that the nonce is fresh (the verifier
// must issue it and refuse it a second time).
#ifndef ARCA_ATTEST_BINDING_H_
#define ARCA_ATTEST_BINDING_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "base/bytes.h"
#include "base/json.h"
#include "base/status.h"

namespace arca::attest {

// kEvidenceBindingDomain separates this hash from every other use of SHA-512.
inline constexpr std::string_view kEvidenceBindingDomain = "arca-evidence-binding-v1";

// BindingInputs are the bound values. Spans and views must outlive the call.
struct BindingInputs {
  ByteSpan nonce;                 // 16..64 bytes, issued by the verifier
  ByteSpan ephemeral_public_key;  // the key's encoding as sent (1..1024 bytes)
  std::string_view package_digest;  // "sha256:" + 64 lower-case hex
  std::string_view policy_digest;   // "sha256:" + 64 lower-case hex
};

// ReportDataBinding is the 64-byte binding.
using ReportDataBinding = std::array<std::uint8_t, 64>;

// ComputeEvidenceBinding returns the binding above. InvalidArgument naming
// the field, the expected form and what was given (lengths only, never the
// bytes) for a nonce outside 16..64 bytes, an empty or oversized key, or a
// digest not of the form sha256:<64 lower-case hex>. Thread-safe.
Result<ReportDataBinding> ComputeEvidenceBinding(const BindingInputs& inputs);

// CheckEvidenceBinding compares verified claims' "reportData" (hex) with the
// binding recomputed from `inputs`, in constant time. Unauthenticated when
// they differ ("report data: expected binding <prefix>..., got
// <prefix>..."), InvalidArgument when the claims have no 64-byte
// reportData or `inputs` are malformed. Call it on the claims of a verdict
// that passed: a binding in unverified evidence means nothing.
Status CheckEvidenceBinding(const Json& claims, const BindingInputs& inputs);

}  // namespace arca::attest

#endif  // ARCA_ATTEST_BINDING_H_
