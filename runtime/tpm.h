// TPM 2.0 evidence from a TPM reached through tpm2-tools (a software TPM,
// swtpm, on machines without one; a vTPM in confidential VMs): the
// runtime's measurement is extended into PCR 23 (reset first), an
// attestation key is created under the endorsement hierarchy, and a quote
// over PCR 23 carries the report data as its qualifying data (extraData).
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
#include "base/status.h"

namespace arca::runtime {

// kRuntimePcr is the PCR the runtime's measurement is extended into.
inline constexpr int kRuntimePcr = 23;

// TpmRequest says which TPM to use and what to bind.
struct TpmRequest {
  std::string tcti;  // TPM2TOOLS_TCTI, e.g. "swtpm:host=127.0.0.1,port=2321"
  std::array<std::uint8_t, 64> report_data{};
  std::array<std::uint8_t, 48> measurement{};
};

// CollectTpmEvidence returns a "tpm" bundle with the quote, the PCR 23
// value and the AK's public key (tpmAkPublic, which a verifier must still
// name to trust). NotFound when tpm2-tools is missing; Unavailable naming
// the failing tool and its last error line; Internal on a malformed tool
// output. Uses a private temporary directory, removed afterwards.
Result<attest::EvidenceBundle> CollectTpmEvidence(const TpmRequest& request);

// ExpectedRuntimePcr is SHA-256(0^32 || SHA-256(measurement)): PCR 23
// after a reset and one extension.
std::array<std::uint8_t, 32> ExpectedRuntimePcr(const std::array<std::uint8_t, 48>& measurement);

}  // namespace arca::runtime

#endif  // ARCA_RUNTIME_TPM_H_
