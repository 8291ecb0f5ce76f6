// `arca connect`: talk to an attested arca-runtime endpoint.
#ifndef ARCA_CLIENT_CONNECT_COMMAND_H_
#define ARCA_CLIENT_CONNECT_COMMAND_H_

#include <CLI/CLI.hpp>

#include "client/format_commands.h"

namespace arca::client {

// AddConnectCommand registers `connect` on `app`.
void AddConnectCommand(CLI::App& app, Command* run);

}  // namespace arca::client

#endif  // ARCA_CLIENT_CONNECT_COMMAND_H_
