// TPM 2.0 evidence from a TPM reached through tpm2-tools (a software TPM,
// swtpm, on machines without one; a vTPM in confidential VMs): the
// runtime's measurement is extended into PCR 23 (reset first), and a quote
// over PCR 23 by the runtime's one attestation key (AK) carries the report
// data as its qualifying data (extraData). The AK is created once under the
// endorsement key (restricted ECDSA P-256 signing key, fixedTPM) and made
// persistent at kAkHandle, so the lab enrolls its public key once
// (`arca-runtime tpm-ak`) and a broker trusts it by key (`--tpm-ak`).
//
// What this protects: with a genuine TPM whose AK the verifier trusts, that
// PCR 23 held exactly SHA-256(0^32 || SHA-256(measurement)) when the quote
// over the nonce was made. What it does not: anchor the AK. A bare quote
// says nothing about which TPM made it; the verifier must name the AK
// (`arca attest verify --tpm-ak`), and swtpm is a software TPM that anyone
// can run, so it is for development and tests only. PCR 23 is resettable by
// anyone with access to the TPM: it measures what this runtime chose to
// extend, not what booted.
#ifndef ARCA_RUNTIME_TPM_H_
#define ARCA_RUNTIME_TPM_H_

#include <array>
#include <cstdint>
#include <string>

#include "attest/bundle.h"
#include "base/bytes.h"
#include "base/status.h"

namespace arca::runtime {

// kRuntimePcr is the PCR the runtime's measurement is extended into.
inline constexpr int kRuntimePcr = 23;

// kAkHandle is the persistent handle of the runtime's attestation key (in
// the owner's persistent range 0x81000000-0x817FFFFF, TCG "Registry of
// Reserved TPM 2.0 Handles" §2.3.1; 0x81010001 is the usual EK).
inline constexpr std::uint32_t kAkHandle = 0x81010002;

// AttestationKey is the runtime's AK.
struct AttestationKey {
  Bytes spki_der;        // its public key, SubjectPublicKeyInfo DER
  bool created = false;  // made (and persisted) by this call
};

// LoadOrCreateAttestationKey returns the AK at kAkHandle, creating it under
// the endorsement key and persisting it there (tpm2_evictcontrol, owner
// hierarchy with an empty owner auth) when the handle is empty. A key at the
// handle is reused only when it is the right kind: ECC NIST P-256, ECDSA
// with SHA-256, name algorithm SHA-256, restricted signing (not decrypt),
// fixedTPM, fixedParent, sensitiveDataOrigin and userWithAuth; otherwise
// FailedPrecondition naming what differs (the key is left alone: evict it
// with `tpm2_evictcontrol -C o -c 0x81010002` if it is nobody's). Codes as
// CollectTpmEvidence otherwise. Two runtimes racing to create it both end
// with the one that was persisted.
Result<AttestationKey> LoadOrCreateAttestationKey(const std::string& tcti);

// TpmRequest says which TPM to use and what to bind.
struct TpmRequest {
  std::string tcti;  // TPM2TOOLS_TCTI, e.g. "swtpm:host=127.0.0.1,port=2321"
  std::array<std::uint8_t, 64> report_data{};
  std::array<std::uint8_t, 48> measurement{};
};

// CollectTpmEvidence returns a "tpm" bundle with the quote by the
// persistent AK (LoadOrCreateAttestationKey), the PCR 23 value and the AK's
// public key (tpmAkPublic, which a verifier must still name to trust). NotFound when tpm2-tools is missing; Unavailable naming
// the failing tool and its last error line; Internal on a malformed tool
// output. Uses a private temporary directory, removed afterwards.
Result<attest::EvidenceBundle> CollectTpmEvidence(const TpmRequest& request);

// ExpectedRuntimePcr is SHA-256(0^32 || SHA-256(measurement)): PCR 23
// after a reset and one extension.
std::array<std::uint8_t, 32> ExpectedRuntimePcr(const std::array<std::uint8_t, 48>& measurement);

}  // namespace arca::runtime

#endif  // ARCA_RUNTIME_TPM_H_
