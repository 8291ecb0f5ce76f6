// The runtime's attested endpoint (specs/key-release.md §7): an in-memory
// TLS identity made at start, and fresh evidence on request that binds the
// identity's public key to the package served and the policy its keys were
// released under, so `arca connect` verifies what it talks to before it
// sends a prompt.
//
// What this protects: a client that checks the evidence and pins the bound
// key talks only to this runtime process (the private key never leaves its
// memory). What it does not: prove anything about the engine's answers
// beyond "produced inside the attested runtime".
#ifndef ARCA_RUNTIME_ATTESTED_ENDPOINT_H_
#define ARCA_RUNTIME_ATTESTED_ENDPOINT_H_

#include <string>

#include "attest/release_protocol.h"
#include "base/openssl_util.h"
#include "base/status.h"
#include "runtime/evidence.h"

namespace arca::runtime {

// TlsIdentity is an ECDSA P-256 key and a self-signed certificate for it,
// valid for a day, names localhost and the loopback addresses.
struct TlsIdentity {
  EvpPkeyPtr key;
  X509Ptr cert;
  Bytes spki_der;  // what evidence binds and clients pin
};
Result<TlsIdentity> MakeTlsIdentity();

// EndpointEvidenceFor collects evidence binding (nonce, identity SPKI,
// package, policy) and returns the kEndpointEvidencePath response body.
// InvalidArgument for a nonce that is not 16..64 bytes of hex.
Result<std::string> EndpointEvidenceFor(const TlsIdentity& identity, std::string_view nonce_hex,
                                        const std::string& package_digest, const std::string& policy_digest,
                                        const EvidenceRequest& tee);

}  // namespace arca::runtime

#endif  // ARCA_RUNTIME_ATTESTED_ENDPOINT_H_
