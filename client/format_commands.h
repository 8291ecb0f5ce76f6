// CLI commands over the sealed package format: lineage-key, seal, inspect,
// open.
#ifndef ARCA_CLIENT_FORMAT_COMMANDS_H_
#define ARCA_CLIENT_FORMAT_COMMANDS_H_

#include <CLI/CLI.hpp>

#include <functional>

namespace arca::client {

// A Command runs after parsing and returns the process exit code.
using Command = std::function<int()>;

// AddFormatCommands registers the commands on `app`; the chosen command's
// body is stored in *run.
void AddFormatCommands(CLI::App& app, Command* run);

// Json for `arca inspect` of a loaded package (keyless).
}  // namespace arca::client

#endif  // ARCA_CLIENT_FORMAT_COMMANDS_H_
