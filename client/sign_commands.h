// `arca key`, `arca root`, `arca sign`, `arca countersign`, `arca verify`,
// `arca policy` and `arca export-bundle`: the signer's command line
// (specs/signing.md). Also the hook `arca seal --sign/--provenance` uses.
#ifndef ARCA_CLIENT_SIGN_COMMANDS_H_
#define ARCA_CLIENT_SIGN_COMMANDS_H_

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "client/format_commands.h"
#include "format/package.h"
#include "signer/key_source.h"

namespace arca::client {

void AddSignCommands(CLI::App& app, Command* run);

// SealSigning holds `arca seal`'s signing and provenance flags.
struct SealSigning {
  std::vector<std::string> sign_keys;
  std::string provenance_file;
  std::vector<std::string> datasets;  // NAME=URI@sha256:HEX
  std::string git_repo;
  std::string hyperparameters;
  std::string step;
  std::string ran_by;
};

// AddSealSigningFlags registers those flags on the seal command.
void AddSealSigningFlags(CLI::App* seal, SealSigning* s);

// SealSigningHook loads the keys and builds the provenance input, returning
// the format::AttachFn for format::Seal (empty when nothing is to be signed).
// `signers` keeps the loaded keys alive for the hook's lifetime.
Result<format::AttachFn> SealSigningHook(const SealSigning& s, const std::string& parent_name,
                                         std::vector<std::unique_ptr<signer::Signer>>* signers);

// PassphraseFromEnvironment reads ARCA_KEY_PASSPHRASE_FILE (first line), or
// prompts on the terminal when stdin is one; nullopt otherwise.
std::optional<SecretBytes> PassphraseFromEnvironment(const std::string& key_ref);

}  // namespace arca::client

#endif  // ARCA_CLIENT_SIGN_COMMANDS_H_
