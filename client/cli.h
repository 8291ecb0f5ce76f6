// The `arca` command line: parses arguments, runs one command, maps its
// Status to an exit code (base/status.h ExitCodeFor) and prints errors as
// "arca: <code>: <what went wrong>" with a hint where one helps.
#ifndef ARCA_CLIENT_CLI_H_
#define ARCA_CLIENT_CLI_H_

namespace arca::client {

// RunCli runs the arca CLI and returns the process exit code.
int RunCli(int argc, char** argv);

}  // namespace arca::client

#endif  // ARCA_CLIENT_CLI_H_
