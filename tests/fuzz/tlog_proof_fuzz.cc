// Fuzz target: bytes -> ParseTlogProof; accepted proofs round-trip, and
// verification against a fixed policy never crashes and never accepts (the
// fuzzer cannot forge the test key's signature).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tlog/proof.h"

namespace {
const arca::tlog::ProofPolicy& Policy() {
  static const arca::tlog::ProofPolicy* policy = [] {
    auto* p = new arca::tlog::ProofPolicy;
    p->checkpoint.origin = "example.com/fuzz";
    // A key nobody has the seed of: the first 32 bytes of SHA-256("fuzz").
    const auto seed = arca::crypto::Sha256::Hash(arca::AsBytes("fuzz"));
    auto signer = arca::tlog::NoteSigner::FromSeed("example.com/fuzz", arca::tlog::NoteSignatureType::kEd25519, seed);
    if (!signer.ok()) std::abort();
    p->checkpoint.log_keys = {signer->verifier()};
    p->now = 1767225600;
    return p;
  }();
  return *policy;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto proof = arca::tlog::ParseTlogProof(text);
  if (!proof.ok()) {
    const auto code = proof.status().code();
    if (code != arca::StatusCode::kInvalidArgument && code != arca::StatusCode::kResourceExhausted) std::abort();
    return 0;
  }
  auto back = arca::tlog::SerializeTlogProof(*proof);
  if (!back.ok() || *back != text) std::abort();
  auto v = arca::tlog::VerifyTlogProof(*proof, arca::tlog::EmptyRoot(), Policy());
  if (v.ok()) std::abort();
  return 0;
}
