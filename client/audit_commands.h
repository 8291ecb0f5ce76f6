// `arca audit` (specs/registry-client.md §9): see client/audit.h.
#ifndef ARCA_CLIENT_AUDIT_COMMANDS_H_
#define ARCA_CLIENT_AUDIT_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "client/format_commands.h"

namespace arca::client {

void AddAuditCommands(CLI::App& app, Command* run);

}  // namespace arca::client

#endif  // ARCA_CLIENT_AUDIT_COMMANDS_H_
