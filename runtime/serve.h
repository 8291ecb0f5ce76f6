// `arca-runtime serve`: load one sealed version from the local store into
// protected memory with keys the broker releases to this attested runtime,
// start the inference engine on it, and serve the engine's API through the
// attested TLS endpoint (specs/runtime.md, specs/key-release.md §3, §7).
#ifndef ARCA_RUNTIME_SERVE_H_
#define ARCA_RUNTIME_SERVE_H_

#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "runtime/evidence.h"

namespace arca::runtime {

struct ServeOptions {
  std::string reference;             // [REGISTRY/]namespace/name:tag or ...@sha256:<hex>
  std::string store;                 // the local store (arca pull --store)
  std::vector<std::string> brokers;  // key broker URLs, tried in order
  EvidenceRequest evidence;          // which TEE
  std::string engine;                // the --engine template
  std::string model_file;            // --model-file
  std::string listen_host = "127.0.0.1";
  int listen_port = 8720;
  double rate_per_s = 10;            // per client address
  double burst = 20;
  std::function<void(const std::string&)> log;
};

// StoreRefFor strips a registry host from a reference: the local store
// names entries "namespace/name:tag". "127.0.0.1:5000/acme/m:1" and
// "acme/m:1" both give "acme/m:1".
std::string StoreRefFor(const std::string& reference);

// The evidence route's limits: per remote address, and over all clients
// (evidence comes from one TEE device).
inline constexpr double kEvidenceRatePerClient = 2, kEvidenceBurstPerClient = 5;
inline constexpr double kEvidenceRateTotal = 20, kEvidenceBurstTotal = 40;

// Serve runs until `stop` returns true (polled) or the engine exits. It
// returns the first error of loading, key release, engine start or serving.
Status Serve(const ServeOptions& options, const std::function<bool()>& stop);

}  // namespace arca::runtime

#endif  // ARCA_RUNTIME_SERVE_H_
