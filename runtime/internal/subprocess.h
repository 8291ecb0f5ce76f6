// RunTool runs a helper program (tpm2-tools) with an argument vector (no
// shell), stdout discarded or written to a file, stderr captured for the
// error message.
#ifndef ARCA_RUNTIME_INTERNAL_SUBPROCESS_H_
#define ARCA_RUNTIME_INTERNAL_SUBPROCESS_H_

#include <string>
#include <vector>

#include "base/status.h"

namespace arca::runtime::internal {

// RunTool executes argv[0] (looked up in PATH) with `extra_env` ("K=V")
// added to the environment, its stdout written to `stdout_path` (created or
// truncated, 0600; /dev/null when empty). NotFound when the program is missing;
// Unavailable when it exits non-zero (the message carries argv[0] and the
// last line of its stderr, at most 300 characters).
Status RunTool(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
               const std::string& stdout_path = "");

}  // namespace arca::runtime::internal

#endif  // ARCA_RUNTIME_INTERNAL_SUBPROCESS_H_
