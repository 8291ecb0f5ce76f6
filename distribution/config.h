// The client's per-user state: where it lives (XDG base directories),
// registry credentials, trusted namespace roots, and the record of
// in-progress uploads (specs/registry-client.md §3).
//
// Credentials are bearer tokens: stored in one file of mode 0600 in a
// directory of mode 0700, written atomically, never printed or put in an
// error message. Trust is configured out of band: a root is added only after
// it verifies against its own threshold, and is never learned from a
// registry.
#ifndef ARCA_DISTRIBUTION_CONFIG_H_
#define ARCA_DISTRIBUTION_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/file_system.h"
#include "base/status.h"
#include "base/time.h"
#include "signer/root.h"

namespace arca::distribution {

// Paths resolves the XDG base directories from the environment:
// $XDG_CONFIG_HOME/arca (default $HOME/.config/arca), $XDG_CACHE_HOME/arca
// ($HOME/.cache/arca), $XDG_DATA_HOME/arca ($HOME/.local/share/arca).
// Relative XDG values are ignored, as the XDG spec says.
struct Paths {
  std::string config_dir;
  std::string cache_dir;
  std::string data_dir;
  std::string credentials_file() const { return config_dir + "/credentials.json"; }
  std::string trust_dir() const { return config_dir + "/trust"; }
  std::string uploads_dir() const { return cache_dir + "/uploads"; }
  std::string default_store() const { return data_dir + "/store"; }
};
// FailedPrecondition when neither the XDG variable nor HOME is set.
Result<Paths> PathsFromEnvironment();

// MakeDirs creates `path` and missing parents with `mode`.
[[nodiscard]] Status MakeDirs(FileSystem& fs, const std::string& path, std::uint32_t mode);

// Credentials: {"HOST:PORT": "token", ...}. LoadCredentials returns an empty
// map when the file is missing; InvalidArgument when malformed (the message
// names the file, never a token); PermissionDenied when the file is readable
// by group or others.
inline constexpr std::uint64_t kMaxCredentialsBytes = 256 << 10;
Result<std::map<std::string, std::string>> ParseCredentials(ByteSpan bytes);
Result<std::map<std::string, std::string>> LoadCredentials(FileSystem& fs, const Paths& paths);
// StoreCredential adds or replaces one registry's token (file mode 0600,
// temp + fsync + rename). InvalidArgument for an empty or non-printable
// token.
[[nodiscard]] Status StoreCredential(FileSystem& fs, const Paths& paths, const std::string& registry,
                                     const std::string& token);

// TrustedRoot is a namespace root the user added with `arca trust add`.
struct TrustedRoot {
  std::string namespace_name;
  std::string path;
  signer::SignedRoot root;
};
// AddTrustedRoot validates `root_bytes` (parses strictly, namespace equals
// `namespace_name`, self-signed to its threshold, not expired at `now`) and
// stores them as trust/<namespace>.root.json. AlreadyExists when a
// different root is already trusted for the namespace and !replace.
Result<TrustedRoot> AddTrustedRoot(FileSystem& fs, const Paths& paths, const std::string& namespace_name,
                                   ByteSpan root_bytes, UnixSeconds now, bool replace);
// LoadTrustedRoot: FailedPrecondition (with the command that fixes it) when
// no root is trusted for the namespace; InvalidArgument when the stored file
// is damaged.
Result<TrustedRoot> LoadTrustedRoot(FileSystem& fs, const Paths& paths, const std::string& namespace_name);
Result<std::vector<TrustedRoot>> ListTrustedRoots(FileSystem& fs, const Paths& paths);
// RemoveTrustedRoot: NotFound when none is trusted for the namespace.
[[nodiscard]] Status RemoveTrustedRoot(FileSystem& fs, const Paths& paths, const std::string& namespace_name);

// UploadRecord remembers an in-progress blob upload so a rerun resumes it:
// uploads/<sha256(registry "\n" repository "\n" digest)>.json.
struct UploadRecord {
  std::string registry;
  std::string repository;
  std::string digest;
  std::string location;  // absolute upload URL from the last answer
  std::uint64_t offset = 0;
};
std::string UploadRecordPath(const Paths& paths, const std::string& registry, const std::string& repository,
                             const std::string& digest);
Result<UploadRecord> ParseUploadRecord(ByteSpan bytes);
// LoadUploadRecord returns nullopt when there is none, or when it is damaged
// or names another blob (the upload then starts over).
std::optional<UploadRecord> LoadUploadRecord(FileSystem& fs, const Paths& paths, const std::string& registry,
                                             const std::string& repository, const std::string& digest);
[[nodiscard]] Status SaveUploadRecord(FileSystem& fs, const Paths& paths, const UploadRecord& record);
void ForgetUploadRecord(FileSystem& fs, const Paths& paths, const UploadRecord& record);

}  // namespace arca::distribution

#endif  // ARCA_DISTRIBUTION_CONFIG_H_
