// Fuzz target: bytes -> runtime::ParseEngineCommand. Refusals are
// InvalidArgument or ResourceExhausted; an accepted command satisfies the
// parser's promises (a literal program word, a {port}, safe file names,
// `files` and `uses_model` consistent with the words), survives re-quoting
// (quote every literal, parse again: the same words), and resolves to argv
// without NUL bytes.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "format/manifest.h"
#include "runtime/engine.h"

namespace {

using arca::runtime::EngineArgPart;
using Kind = EngineArgPart::Kind;

std::string Quote(const std::string& literal) {
  std::string out = "'";
  for (char c : literal) {
    if (c == '\'') {
      out += "'\\''";
    } else if (c == '{' || c == '}') {
      out += std::string(2, c);
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cmd = arca::runtime::ParseEngineCommand(text);
  if (!cmd.ok()) {
    auto code = cmd.status().code();
    if (code != arca::StatusCode::kInvalidArgument && code != arca::StatusCode::kResourceExhausted) std::abort();
    if (cmd.status().message().empty()) std::abort();
    return 0;
  }
  if (cmd->words.empty() || cmd->words.size() > arca::runtime::kMaxEngineCommandWords) std::abort();
  if (cmd->words[0].size() != 1 || cmd->words[0][0].kind != Kind::kLiteral || cmd->words[0][0].text.empty()) std::abort();
  bool port = false, model = false;
  std::set<std::string> files;
  std::string requoted;
  for (const auto& w : cmd->words) {
    if (!requoted.empty()) requoted += ' ';
    if (w.empty()) requoted += "''";
    for (std::size_t i = 0; i < w.size(); ++i) {
      const EngineArgPart& p = w[i];
      if (i > 0 && p.kind == Kind::kLiteral && w[i - 1].kind == Kind::kLiteral) std::abort();  // merged
      if (p.text.find('\0') != std::string::npos) std::abort();
      switch (p.kind) {
        case Kind::kLiteral:
          if (p.text.empty()) std::abort();
          requoted += Quote(p.text);
          break;
        case Kind::kPort: port = true; requoted += "{port}"; break;
        case Kind::kModel: model = true; requoted += "{model}"; break;
        case Kind::kFile:
          if (!arca::format::ValidateRelativePath(p.text).ok()) std::abort();
          files.insert(p.text);
          requoted += "{file:" + p.text + "}";
          break;
      }
    }
  }
  if (!port || model != cmd->uses_model || files != cmd->files) std::abort();
  if (requoted.size() <= arca::runtime::kMaxEngineCommandBytes) {
    auto again = arca::runtime::ParseEngineCommand(requoted);
    if (!again.ok() || again->words != cmd->words) std::abort();
  }
  std::vector<arca::runtime::EngineFile> fds = {{"model.bin", 3}};
  int fd = 4;
  for (const auto& f : files) fds.push_back({f, fd++});
  auto argv = arca::runtime::ResolveEngineCommand(*cmd, fds, "model.bin", 65535);
  if (!argv.ok() || argv->size() != cmd->words.size()) std::abort();
  for (const auto& a : *argv) {
    if (a.find('\0') != std::string::npos) std::abort();
  }
  return 0;
}
