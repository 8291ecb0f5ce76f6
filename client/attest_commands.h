// CLI commands over attestation evidence: `arca attest bundle` assembles an
// evidence bundle from vendor-published parts, `arca attest verify` verifies
// one against the pinned roots at a verification time.
#ifndef ARCA_CLIENT_ATTEST_COMMANDS_H_
#define ARCA_CLIENT_ATTEST_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "attest/verdict.h"
#include "base/status.h"

#include "client/format_commands.h"

namespace arca::client {

// EvidenceFlags are how a command judges evidence: which roots, at what
// time, which TPM attestation key.
struct EvidenceFlags {
  std::string roots_dir;
  std::string time;
  std::string tpm_ak;
  bool allow_sim = false;
};

// AddEvidenceFlags adds --roots, --time, --tpm-ak and (with `sim`) --allow-sim.
void AddEvidenceFlags(CLI::App* cmd, EvidenceFlags* flags, bool sim);

// JudgeEvidenceFile reads, parses and verifies an evidence bundle file;
// errors name the file. The verdict may still have failed checks.
Result<attest::Verdict> JudgeEvidenceFile(const std::string& path, const EvidenceFlags& flags);
// JudgeEvidence is the same for a bundle already in memory; `what` names it.
Result<attest::Verdict> JudgeEvidence(std::string_view text, const std::string& what, const EvidenceFlags& flags);

// AddAttestCommands registers `attest bundle` and `attest verify` on `app`;
// the chosen command's body is stored in *run. Exit codes follow
// ExitCodeFor: 0 only when every check passed.
void AddAttestCommands(CLI::App& app, Command* run);

}  // namespace arca::client

#endif  // ARCA_CLIENT_ATTEST_COMMANDS_H_
