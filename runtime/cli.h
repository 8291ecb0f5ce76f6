// The arca-runtime command line. Exit codes are the project's
// (base/status.h ExitCodeFor): 0 ok, 2 invalid argument, 5 unauthenticated...
#ifndef ARCA_RUNTIME_CLI_H_
#define ARCA_RUNTIME_CLI_H_

namespace arca::runtime {

// RunCli parses argv, runs one command and returns the exit code.
int RunCli(int argc, char** argv);

}  // namespace arca::runtime

#endif  // ARCA_RUNTIME_CLI_H_
