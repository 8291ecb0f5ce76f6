#include "client/cli.h"

#include <cstdio>

#include "client/attest_commands.h"
#include "client/connect_command.h"
#include "client/audit_commands.h"
#include "client/format_commands.h"
#include "client/registry_commands.h"
#include "client/sign_commands.h"

namespace arca::client {

int RunCli(int argc, char** argv) {
  CLI::App app{"arca: seal, sign, publish, verify and serve sealed AI models"};
  app.name("arca");
  app.set_version_flag("--version", "arca 0.1.0");
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok, 1 internal error, 2 invalid argument, 3 not found, 4 already exists,\n"
      "5 unauthenticated (signature/MAC/digest/tag failed), 6 permission denied, 7 failed precondition,\n"
      "8 corruption, 9 resource limit exceeded, 10 unavailable, 11 refused by the transparency-log check.");
  Command run;
  AddFormatCommands(app, &run);
  AddSignCommands(app, &run);
  AddAttestCommands(app, &run);
  AddRegistryCommands(app, &run);
  AddConnectCommand(app, &run);
  AddAuditCommands(app, &run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (!run) {
    std::fprintf(stderr, "arca: no command given; see arca --help\n");
    return 2;
  }
  return run();
}

}  // namespace arca::client
