// Verifying a sealed package's signatures, provenance and policy against a
// namespace root (specs/signing.md §6). Every step is a named check in a
// Verdict, so `arca verify` prints each with its result and a failure names
// the check and the attack it stops.
#ifndef ARCA_SIGNER_VERIFY_H_
#define ARCA_SIGNER_VERIFY_H_

#include <optional>
#include <string>
#include <vector>

#include "base/file_system.h"
#include "base/signature.h"
#include "base/time.h"
#include "base/verdict.h"
#include "format/package.h"
#include "signer/documents.h"
#include "signer/dsse.h"
#include "signer/root.h"

namespace arca::signer {

struct VerifyOptions {
  UnixSeconds now = 0;                          // expiry is judged at this time
  std::vector<SignedRoot> root_updates;         // newer root versions to walk to
  bool deep = false;                            // re-hash every pack
  // metadata_only skips package.packs-present (noted instead): `arca pull`
  // verifies the documents in a staging layout before any pack is
  // downloaded, then hashes each pack as it arrives. Ignored with deep.
  bool metadata_only = false;
  std::vector<crypto::PublicKey> countersigners;  // auditors whose countersignatures must verify as trusted
  std::size_t threads = 0;                      // for --deep; 0 = hardware concurrency
  format::ProgressFn progress;                  // --deep progress (bytes hashed)
};

// VerifyPackage runs every check on the package at `ref`. The verdict fails
// on the first broken check of each kind but keeps checking the rest, so one
// run reports everything wrong. Claims: name, version, manifest digest,
// root version, release signers, provenance and policy summaries.
Verdict VerifyPackage(FileSystem& fs, const format::PackageRef& ref, const SignedRoot& trusted_root,
                      const VerifyOptions& options);

// KnownKeys maps every KeyId any walked root version listed to its key and
// the last version that listed it (to tell a revoked key from a stranger).
struct KnownKey {
  crypto::PublicKey key;
  std::uint64_t last_version = 0;
};
std::map<std::string, KnownKey> KnownKeys(const std::vector<Root>& chain);

// CheckThresholdSignatures verifies the signatures of `envelopes` (all over
// the same payload) against the current root (chain.back()): records
// "<prefix>.signature[i]" per signature and "<prefix>.threshold". A
// signature by a revoked key (listed only by an older root version) is noted
// and not counted; by a key no root version lists, or that fails to verify,
// it fails. Returns the distinct current keys that signed.
std::vector<std::string> CheckThresholdSignatures(const std::vector<const DsseEnvelope*>& envelopes,
                                                  const std::vector<Root>& chain, const std::string& prefix,
                                                  Verdict& verdict);

// VerifyPolicyEnvelope checks a policy envelope for `subject`: statement and
// predicate well-formed ("policy.statement"), subject is this package
// ("policy.subject": mix-and-match), threshold of root keys
// ("policy.threshold"), not expired at `now` ("policy.expiry": freeze).
// Returns the policy when every check passed.
std::optional<Policy> VerifyPolicyEnvelope(const DsseEnvelope& envelope, const std::vector<Root>& chain,
                                           const PackageSubject& subject, UnixSeconds now, Verdict& verdict);

}  // namespace arca::signer

#endif  // ARCA_SIGNER_VERIFY_H_
