// Fuzz target: the key-release protocol's message parsers
// (attest/release_protocol.h). The first byte picks the message; each parsed
// message must serialize to text that parses to the same message, and a
// parsed key-release response must be refused (not crash) by OpenChunkKeys
// under an unrelated key. Aborts when a property breaks.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "attest/release_protocol.h"
#include "base/hpke.h"

namespace {
void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "release_protocol invariant broken: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace arca::release;
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 5) {
    case 0:
      if (auto m = ParseChallengeRequest(text); m.ok()) {
        auto again = ParseChallengeRequest(SerializeChallengeRequest(*m));
        Check(again.ok() && again->package_digest == m->package_digest, "challenge request round trip");
      }
      break;
    case 1:
      if (auto m = ParseChallenge(text); m.ok()) {
        auto again = ParseChallenge(SerializeChallenge(*m));
        Check(again.ok() && again->nonce == m->nonce && again->policy_digest == m->policy_digest &&
                  again->policy_version == m->policy_version,
              "challenge round trip");
      }
      break;
    case 2:
      if (auto m = ParseReleaseRequest(text); m.ok()) {
        auto again = ParseReleaseRequest(SerializeReleaseRequest(*m));
        Check(again.ok() && again->nonce == m->nonce && again->public_key == m->public_key &&
                  again->evidence == m->evidence,
              "release request round trip");
      }
      break;
    case 3:
      if (auto m = ParseReleaseResponse(text); m.ok()) {
        auto again = ParseReleaseResponse(SerializeReleaseResponse(*m));
        Check(again.ok() && again->enc == m->enc && again->keys == m->keys, "release response round trip");
        static const auto kp = arca::crypto::X25519GenerateKeyPair();
        Check(kp.ok(), "key pair");
        auto keys = OpenChunkKeys(*m, kp->private_key, arca::Bytes(32, 0), m->package_digest, m->policy_digest);
        Check(!keys.ok(), "a response sealed to nobody opened");
      }
      break;
    case 4:
      if (auto m = ParseEndpointEvidence(text); m.ok()) {
        auto again = ParseEndpointEvidence(SerializeEndpointEvidence(*m));
        Check(again.ok() && again->tls_spki == m->tls_spki && again->evidence == m->evidence, "endpoint evidence round trip");
      }
      break;
  }
  return 0;
}
