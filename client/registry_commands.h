// `arca login`, `arca trust`, `arca push`, `arca pull`, `arca ls`, `arca rm`
// and `arca gc`: publishing to and installing from OCI registries, and the
// local package store (specs/registry-client.md).
#ifndef ARCA_CLIENT_REGISTRY_COMMANDS_H_
#define ARCA_CLIENT_REGISTRY_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "client/format_commands.h"

namespace arca::client {

void AddRegistryCommands(CLI::App& app, Command* run);

}  // namespace arca::client

#endif  // ARCA_CLIENT_REGISTRY_COMMANDS_H_
