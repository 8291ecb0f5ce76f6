// Fuzz target: bytes -> ParseRoot, then the verify path. A parsed root must
// be valid (ValidateRoot), serialize canonically to a fixed point, and walk
// as a trusted root: its signatures are verified against its own keys and
// threshold, its expiry judged at a fixed time. A walk either succeeds with a
// passing verdict or fails with Unauthenticated (signatures, threshold) or
// FailedPrecondition (expiry), never anything else. Aborts when a property
// breaks.
#include <cstdint>

#include "base/verdict.h"
#include "signer/root.h"
#include "tests/fuzz/signer_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using arca::StatusCode;
  using arca::fuzz::Check;
  namespace signer = arca::signer;

  auto root = signer::ParseRoot(arca::ByteSpan(data, size));
  if (!root.ok()) {
    arca::fuzz::CheckError(root.status(), {StatusCode::kInvalidArgument, StatusCode::kResourceExhausted}, "ParseRoot");
    return 0;
  }
  Check(signer::ValidateRoot(root->root).ok(), "ParseRoot returned a root ValidateRoot refuses");
  auto canonical = signer::SerializeRoot(*root);
  Check(canonical.ok(), "a parsed root does not serialize");
  auto again = signer::ParseRoot(arca::AsBytes(*canonical));
  Check(again.ok(), "the canonical form of a parsed root does not re-parse");
  auto twice = signer::SerializeRoot(*again);
  Check(twice.ok() && *twice == *canonical, "root serialization is not a fixed point");

  arca::Verdict verdict;
  auto chain = signer::WalkRootChain(*root, {}, arca::fuzz::kFuzzNow, verdict);
  if (chain.ok()) {
    Check(verdict.ok() && chain->size() == 1 && chain->back().version == root->root.version,
          "a successful walk of one root did not pass or returned another chain");
    auto signers = signer::RootSigners(*root, root->root);
    Check(signers.ok() && signers->size() >= root->root.threshold, "a walked root is below its own threshold");
  } else {
    arca::fuzz::CheckError(chain.status(), {StatusCode::kUnauthenticated, StatusCode::kFailedPrecondition},
                           "WalkRootChain");
    Check(!verdict.ok(), "a failed walk left a passing verdict");
  }
  return 0;
}
