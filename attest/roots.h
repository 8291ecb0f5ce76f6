// Trust anchors for attestation: the pinned vendor roots (AMD ARK Milan,
// Genoa, Turin and the Intel SGX Root CA) built into the binary, or an
// explicitly configured set of test roots.
//
// What this protects: evidence is only ever accepted when its certificate
// chain ends in one of these roots; a root carried inside an evidence bundle
// is never trusted. Built-in roots are checked against their SHA-256 DER
// fingerprints when loaded, so a corrupted binary fails closed.
// What it does not protect: the roots are only as good as their provenance
// (cross-check them against AMD KDS and Intel before production).
#ifndef ARCA_ATTEST_ROOTS_H_
#define ARCA_ATTEST_ROOTS_H_

#include <memory>
#include <string>
#include <vector>

#include "attest/internal/x509.h"
#include "base/openssl_util.h"
#include "base/status.h"

namespace arca::attest {

// RootVendor says which evidence a root may anchor. kTpm roots anchor TPM
// attestation-key certificates; none is built in (AK certificates are
// issued by a deployment's own CA after credential activation).
enum class RootVendor { kAmd, kIntel, kTpm };

// Root is one trust anchor.
struct Root {
  std::string name;  // subject CN: "ARK-Milan", "Intel SGX Root CA"
  RootVendor vendor;
  X509Ptr cert;
  std::string sha256_der_hex;
  bool builtin = false;
};

// RootStore is an immutable set of roots. Copies share the parsed
// certificates; all methods are const and thread-safe.
class RootStore {
 public:
  // An empty store anchors nothing: every chain check fails.
  RootStore() : roots_(std::make_shared<const std::vector<Root>>()) {}

  // Pinned loads the built-in roots and checks each fingerprint
  // (Internal if one does not match: the binary is damaged). Parsed once per
  // process and cached.
  static Result<RootStore> Pinned();

  // FromDirectory uses exactly the roots in `dir` (every *.pem / *.crt /
  // *.der file, one or more certificates each) instead of the built-in ones:
  // this is how test roots are configured. A self-signed RSA root anchors AMD
  // evidence, an EC root Intel evidence; the files in `dir/tpm/` anchor TPM
  // attestation-key certificates (and nothing else). NotFound /
  // InvalidArgument.
  static Result<RootStore> FromDirectory(const std::string& dir);

  // FromCertificates builds a store from PEM/DER certificate bytes (tests);
  // `tpm_certs` are TPM AK-certificate roots.
  static Result<RootStore> FromCertificates(const std::vector<Bytes>& certs, const std::vector<Bytes>& tpm_certs = {});

  // Union is a store with the roots of both: a key broker's pinned roots
  // plus, when it was started with --allow-sim, the simulated TEE's.
  static RootStore Union(const RootStore& a, const RootStore& b);

  // Anchors lists the roots of one vendor, for chain building.
  std::vector<internal::Anchor> Anchors(RootVendor vendor) const;

  // roots lists every root.
  const std::vector<Root>& roots() const { return *roots_; }

 private:
  explicit RootStore(std::shared_ptr<const std::vector<Root>> roots) : roots_(std::move(roots)) {}
  std::shared_ptr<const std::vector<Root>> roots_;
};

}  // namespace arca::attest

#endif  // ARCA_ATTEST_ROOTS_H_
