// The runtime's side of key release (specs/key-release.md §3): ask a broker
// for a challenge, collect evidence binding a fresh X25519 key, send it, and
// open the sealed chunk keys. Retries with backoff across the brokers it was
// given when one is unreachable or busy, and says so; a refusal is final and
// carries the broker's reason (which policy clause failed).
#ifndef ARCA_RUNTIME_KEY_CLIENT_H_
#define ARCA_RUNTIME_KEY_CLIENT_H_

#include <functional>
#include <string>
#include <vector>

#include "attest/release_protocol.h"
#include "base/status.h"
#include "runtime/evidence.h"

namespace arca::runtime {

struct KeyRequest {
  std::vector<std::string> brokers;  // "http://127.0.0.1:8710", ...
  std::string package_digest;        // the manifest digest of the version to load
  EvidenceRequest evidence;          // tee and its options; report_data is set per exchange
  int rounds = 4;                    // passes over all brokers before giving up
  int first_backoff_ms = 500;        // doubled after each pass
  std::function<void(const std::string&)> log;  // progress and retries
};

// KeyRelease is what a broker released: the version's chunk keys and the
// policy they were released under (bound again by the attested endpoint).
struct KeyRelease {
  release::ChunkKeys keys;
  std::string policy_digest;
  std::uint64_t release_id = 0;
};

// ObtainChunkKeys runs the exchange and returns the version's chunk keys.
// PermissionDenied (with the broker's reason) when refused, Unavailable
// when no broker answered after every round, Unauthenticated when a
// response does not open for this exchange.
Result<KeyRelease> ObtainChunkKeys(const KeyRequest& request);

}  // namespace arca::runtime

#endif  // ARCA_RUNTIME_KEY_CLIENT_H_
