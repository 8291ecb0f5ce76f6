// Evidence collection for the runtime: from the simulated TEE (sim-snp,
// sim-tdx; attest/sim.h) or from real SEV-SNP / TDX hardware through
// configfs-tsm (configfs_tsm.h), always as an evidence bundle
// (specs/attestation.md §3) whose report data is what the caller chose,
// normally the evidence binding of attest/binding.h.
#ifndef ARCA_RUNTIME_EVIDENCE_H_
#define ARCA_RUNTIME_EVIDENCE_H_

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "attest/bundle.h"
#include "attest/verdict.h"
#include "base/status.h"
#include "runtime/configfs_tsm.h"

namespace arca::runtime {

// Tee is where evidence comes from.
enum class Tee { kSimSnp, kSimTdx, kSnp, kTdx, kTpm };

// ParseTee reads "sim-snp", "sim-tdx", "snp", "tdx", "tpm"; InvalidArgument
// otherwise, naming the choices.
Result<Tee> ParseTee(std::string_view name);

// IsSimulated is true for the sim-* kinds.
inline bool IsSimulated(Tee t) { return t == Tee::kSimSnp || t == Tee::kSimTdx; }

// EvidenceRequest says what to collect.
struct EvidenceRequest {
  Tee tee = Tee::kSimSnp;
  std::array<std::uint8_t, 64> report_data{};
  // Simulated TEEs: the launch measurement to report (MEASUREMENT / MRTD);
  // TPM: the measurement extended into PCR 23. Real SNP/TDX hardware
  // reports its own. Default: SimMeasurement().
  // host_data (HOST_DATA / MRCONFIGID) is for simulated TEEs only.
  std::optional<std::array<std::uint8_t, 48>> measurement;
  std::array<std::uint8_t, 48> host_data{};
  bool debug = false;
  // Simulated SNP: sign with a test VLEK (under a test ASVK) instead of the
  // VCEK; report a Turin CPU (Turin TCB layout, attest::kSimTurinTcb).
  bool vlek = false;
  bool turin = false;
  // Simulated TDX: quote version 4 or 5; with 5, optionally a TD report 1.5.
  std::uint16_t quote_version = 4;
  bool td_report_15 = false;
  // Real hardware: where configfs is mounted.
  std::string configfs_root = kDefaultConfigfsRoot;
  // TPM: the TCTI of tpm2-tools (swtpm:host=...,port=... or device:...).
  std::string tpm_tcti;
  // The time the simulated TDX collateral is issued around.
  attest::UnixSeconds now = 0;
};

// SimMeasurement is the measurement a simulated TEE reports for this
// runtime by default: SHA-384 of the running executable (/proc/self/exe),
// the simulated counterpart of a launch digest, so a policy allows exactly
// one build. NotFound/Internal when the executable cannot be read.
Result<std::array<std::uint8_t, 48>> SimMeasurement();

// CollectEvidence returns a bundle. For real hardware it also checks the
// returned report or quote parses and carries exactly `report_data`
// (Unauthenticated otherwise); SNP certificates come from the host's
// certificate table (auxblob) when it supplies one; TDX bundles carry no
// collateral (add it with `arca attest bundle --collateral`). TPM: see
// runtime/tpm.h.
Result<attest::EvidenceBundle> CollectEvidence(const EvidenceRequest& request, TsmFs& fs = TsmFs::Posix());

}  // namespace arca::runtime

#endif  // ARCA_RUNTIME_EVIDENCE_H_
