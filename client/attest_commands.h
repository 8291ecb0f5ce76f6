// CLI commands over attestation evidence: `arca attest bundle` assembles an
// evidence bundle from vendor-published parts, `arca attest verify` verifies
// one against the pinned roots at a verification time.
#ifndef ARCA_CLIENT_ATTEST_COMMANDS_H_
#define ARCA_CLIENT_ATTEST_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "client/format_commands.h"

namespace arca::client {

// AddAttestCommands registers `attest bundle` and `attest verify` on `app`;
// the chosen command's body is stored in *run. Exit codes follow
// ExitCodeFor: 0 only when every check passed.
void AddAttestCommands(CLI::App& app, Command* run);

}  // namespace arca::client

#endif  // ARCA_CLIENT_ATTEST_COMMANDS_H_
