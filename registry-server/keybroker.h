// arca-keybroker: the lab's key broker (specs/key-release.md). It holds
// lineage keys encrypted under a master key, knows the versions registered
// with it (manifest digest, chunk ids, the lab-signed policy), and releases
// the chunk keys of exactly one version to a runtime whose evidence verifies
// and satisfies that version's policy, sealed with HPKE to a key the
// evidence binds.
//
// What this protects: lineage keys at rest (a copy of the database without
// the master key reveals no key), keys released only under the policy the
// lab signed (the broker checks the signatures at registration and refuses
// a policy older than the one it has), one release per fresh nonce (replay),
// and a record of every release and refusal. What it does not: protect
// keys from someone who holds both the database and the master key, or
// decide which measurements are trustworthy (the lab does, in the policy).
#ifndef ARCA_REGISTRY_SERVER_KEYBROKER_H_
#define ARCA_REGISTRY_SERVER_KEYBROKER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attest/bundle.h"
#include "attest/policy.h"
#include "attest/release_protocol.h"
#include "attest/roots.h"
#include "base/file_system.h"
#include "base/json.h"
#include "base/status.h"
#include "format/lineage_key.h"
#include "format/package.h"
#include "signer/root.h"

namespace arca::keybroker {

// kMaxOutstandingNonces bounds the nonces waiting for a release request;
// challenges past it are refused (ResourceExhausted) until some expire.
inline constexpr std::size_t kMaxOutstandingNonces = 100000;

struct RegisterReport {
  std::string package_digest;
  std::string name, version;
  std::string lineage_id;
  std::size_t chunks = 0;
  std::string policy_digest;
  std::uint64_t policy_version = 0;
  bool replaced_policy = false;  // an older policy of this version was replaced
};

// ReleaseRecord is one row of the broker's release log.
struct ReleaseRecord {
  std::int64_t id = 0;
  std::int64_t time = 0;
  std::string package_digest;
  std::string policy_digest;
  std::string platform;
  std::string measurement;
  bool released = false;
  std::string reason;  // why refused; empty when released
  std::uint64_t chunks = 0;
};

// ReleaseOutcome is what Release decided: a response to send, or a refusal
// (status) with the clause-by-clause decision when the policy was judged.
struct ReleaseOutcome {
  Status status;
  std::optional<attest::PolicyDecision> decision;
  release::ReleaseResponse response;
};

// KeyReleaseReport is what the broker tells the registry's transparency log
// about a release it is about to make (specs/registry.md §8).
struct KeyReleaseReport {
  std::string repository;   // the package's name, "acme/med-llm"
  std::string manifest;     // the version's manifest digest
  std::string measurement;  // hex
  std::string platform;     // "sev-snp", "tdx", "tpm"
  std::string evidence;     // sha256:<hex> of the evidence bundle as received
  std::string recipient;    // sha256:<hex> of the runtime's ephemeral public key
};

struct JudgeOptions {
  attest::RootStore roots;                // pinned roots (plus the simulated TEE's with --allow-sim)
  std::optional<Bytes> tpm_ak_spki;       // a TPM attestation key the broker trusts
  // report, when set, must accept a release before any key leaves: a
  // release the registry's log did not record is not made ("nothing hidden").
  std::function<Status(const KeyReleaseReport&)> report;
};

// RegistryReporter posts reports to `registry_url`'s POST
// /arca/v1/log/key-release with a push-scoped token; OK once the registry
// answered 201 (the entry is in its log).
std::function<Status(const KeyReleaseReport&)> RegistryReporter(const std::string& registry_url, const std::string& token);

class KeyBroker {
 public:
  // Open opens (creating when missing) the data directory: keybroker.db
  // (SQLite, WAL) and the master key lineage keys are wrapped under. With
  // `master_key` empty that is DIR/master.key (0600, made on first use;
  // one readable by group or others is refused, PermissionDenied); with a
  // PKCS#11 URI ("pkcs11:token=…;object=…?pin-value=…", RFC 7512) it is
  // the AES-256 secret key the URI names, used inside the token
  // (signer::OpenPkcs11AesKey and its codes) and master.key is neither
  // read nor made. Anything else is InvalidArgument. Each lineage records
  // which kind of master key wrapped it ("file" or "pkcs11"); a broker
  // opened with the other kind refuses to register or release it
  // (FailedPrecondition naming both kinds).
  static Result<std::unique_ptr<KeyBroker>> Open(const std::string& data_dir, const std::string& master_key = "");
  ~KeyBroker();

  // Register records a sealed version: verifies its signatures and attached
  // policy against the namespace root at `now`, checks the lineage key is
  // the package's (lineage id), stores the key encrypted under the master
  // key, the chunk ids and the policy. Re-registering with a newer policy
  // replaces it; an older one (or another at the same version) is refused
  // (FailedPrecondition): rollback.
  Result<RegisterReport> Register(FileSystem& fs, const format::PackageRef& package, const format::LineageKey& key,
                                  const signer::SignedRoot& root, UnixSeconds now);

  // Challenge issues a fresh single-use nonce for a registered version.
  // NotFound for a version the broker does not know.
  Result<release::Challenge> Challenge(const release::ChallengeRequest& request, UnixSeconds now);

  // Release judges a request: the nonce is consumed (used or expired or for
  // another package: PermissionDenied), the evidence verified against
  // `judge.roots` at `now`, its binding checked against (nonce, key,
  // package, the policy named in the challenge), the policy evaluated; every
  // outcome is recorded. On success the response carries the keys of
  // exactly this version's chunks.
  ReleaseOutcome Release(const release::ReleaseRequest& request, const JudgeOptions& judge, UnixSeconds now);

  // Releases lists the release log, newest first, at most `limit` rows.
  Result<std::vector<ReleaseRecord>> Releases(std::size_t limit);

 private:
  struct Impl;
  explicit KeyBroker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// PolicyDigestOf is "sha256:" + hex SHA-256 of a signed policy envelope's
// bytes as attached to the package.
std::string PolicyDigestOf(ByteSpan envelope_bytes);

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8710;  // 0: pick a free port
  std::size_t threads = 16;
  bool log_requests = true;
  JudgeOptions judge;
};

// Server serves POST /v1/challenge, POST /v1/release and GET /healthz over
// HTTP (loopback or behind a TLS terminator; the keys themselves are HPKE-
// sealed to the runtime).
class Server {
 public:
  static Result<std::unique_ptr<Server>> Create(KeyBroker& broker, ServeOptions options);
  ~Server();
  [[nodiscard]] Status Start();
  int port() const;
  void Stop();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::keybroker

#endif  // ARCA_REGISTRY_SERVER_KEYBROKER_H_
