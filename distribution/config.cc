#include "distribution/config.h"

#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "base/bytes.h"
#include "base/crypto.h"
#include "base/json.h"
#include "base/verdict.h"
#include "format/oci_layout.h"

namespace arca::distribution {
namespace {

std::string EnvDir(const char* xdg, const char* home_suffix, const std::string& home) {
  const char* v = std::getenv(xdg);
  if (v && v[0] == '/') return std::string(v) + "/arca";
  return home.empty() ? "" : home + home_suffix;
}

bool IsPrintableToken(const std::string& t) {
  if (t.empty() || t.size() > 4096) return false;
  for (char c : t) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

Result<Paths> PathsFromEnvironment() {
  const char* h = std::getenv("HOME");
  std::string home = h && h[0] == '/' ? h : "";
  Paths p;
  p.config_dir = EnvDir("XDG_CONFIG_HOME", "/.config/arca", home);
  p.cache_dir = EnvDir("XDG_CACHE_HOME", "/.cache/arca", home);
  p.data_dir = EnvDir("XDG_DATA_HOME", "/.local/share/arca", home);
  if (p.config_dir.empty() || p.cache_dir.empty() || p.data_dir.empty()) {
    return FailedPreconditionError("HOME is not set (nor XDG_CONFIG_HOME, XDG_CACHE_HOME, XDG_DATA_HOME): cannot locate arca's configuration");
  }
  return p;
}

Status MakeDirs(FileSystem& fs, const std::string& path, std::uint32_t mode) {
  if (path.empty() || path == "/" || path == ".") return Status::Ok();
  auto st = fs.Stat(path);
  if (st.ok()) {
    if (st->type != FileType::kDirectory) return FailedPreconditionError(path + " exists and is not a directory");
    return Status::Ok();
  }
  ARCA_RETURN_IF_ERROR(MakeDirs(fs, DirName(path), mode));
  Status s = fs.MakeDir(path, mode);
  if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return s;
  return Status::Ok();
}

Result<std::map<std::string, std::string>> ParseCredentials(ByteSpan bytes) {
  JsonLimits limits;
  limits.max_bytes = kMaxCredentialsBytes;
  limits.max_depth = 4;
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(ToString(bytes), "credentials.json", limits));
  if (!j.is_object()) return InvalidArgumentError("credentials.json must be an object {\"HOST:PORT\": \"token\"}");
  std::map<std::string, std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it->is_string() || !IsPrintableToken(it->get<std::string>())) {
      return InvalidArgumentError("credentials.json: the entry for \"" + it.key().substr(0, 100) + "\" is not a token string");
    }
    out[it.key()] = it->get<std::string>();
  }
  return out;
}

Result<std::map<std::string, std::string>> LoadCredentials(FileSystem& fs, const Paths& paths) {
  std::string path = paths.credentials_file();
  auto st = fs.Stat(path);
  if (!st.ok()) {
    if (st.status().code() == StatusCode::kNotFound) return std::map<std::string, std::string>{};
    return st.status();
  }
  if (st->type != FileType::kRegular) return InvalidArgumentError(path + " is not a regular file");
  if ((st->mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st->mode & 07777));
    return PermissionDeniedError(path + " is accessible to other users (mode " + mode + "); chmod 600 it");
  }
  ARCA_ASSIGN_OR_RETURN(Bytes b, ReadFileBounded(fs, path, kMaxCredentialsBytes));
  auto creds = ParseCredentials(b);
  if (!creds.ok()) return creds.status().WithContext(path);
  return creds;
}

Status StoreCredential(FileSystem& fs, const Paths& paths, const std::string& registry, const std::string& token) {
  if (!IsPrintableToken(token)) return InvalidArgumentError("--token must be 1 to 4096 printable ASCII characters without spaces");
  ARCA_RETURN_IF_ERROR(MakeDirs(fs, paths.config_dir, 0700));
  ARCA_ASSIGN_OR_RETURN(auto creds, LoadCredentials(fs, paths));
  creds[registry] = token;
  Json j = Json::object();
  for (const auto& [k, v] : creds) j[k] = v;
  std::string text = j.dump(2) + "\n";
  return WriteFileAtomic(fs, paths.credentials_file(), AsBytes(text), 0600);
}

Result<TrustedRoot> AddTrustedRoot(FileSystem& fs, const Paths& paths, const std::string& namespace_name,
                                   ByteSpan root_bytes, UnixSeconds now, bool replace) {
  ARCA_RETURN_IF_ERROR(signer::ValidateNamespace(namespace_name));
  ARCA_ASSIGN_OR_RETURN(signer::SignedRoot root, signer::ParseRoot(root_bytes));
  ARCA_RETURN_IF_ERROR(signer::ValidateRoot(root.root));
  if (root.root.namespace_name != namespace_name) {
    return InvalidArgumentError("the root is for namespace \"" + root.root.namespace_name + "\", not \"" + namespace_name + "\"");
  }
  Verdict v;
  auto chain = signer::WalkRootChain(root, {}, now, v);
  if (!chain.ok()) return chain.status().WithContext("the root does not verify against its own keys");
  std::string path = paths.trust_dir() + "/" + namespace_name + ".root.json";
  auto existing = ReadFileBounded(fs, path, signer::kMaxRootBytes);
  if (existing.ok()) {
    if (ToString(*existing) == ToString(root_bytes)) return TrustedRoot{namespace_name, path, std::move(root)};
    if (!replace) {
      return AlreadyExistsError("a different root is already trusted for namespace \"" + namespace_name + "\" (" + path +
                                "); pass --replace to replace it");
    }
  }
  ARCA_RETURN_IF_ERROR(MakeDirs(fs, paths.trust_dir(), 0700));
  ARCA_RETURN_IF_ERROR(WriteFileAtomic(fs, path, root_bytes, 0644));
  return TrustedRoot{namespace_name, path, std::move(root)};
}

Result<TrustedRoot> LoadTrustedRoot(FileSystem& fs, const Paths& paths, const std::string& namespace_name) {
  ARCA_RETURN_IF_ERROR(signer::ValidateNamespace(namespace_name));
  std::string path = paths.trust_dir() + "/" + namespace_name + ".root.json";
  auto bytes = ReadFileBounded(fs, path, signer::kMaxRootBytes);
  if (!bytes.ok()) {
    if (bytes.status().code() == StatusCode::kNotFound) {
      return FailedPreconditionError("no root is trusted for namespace \"" + namespace_name +
                                     "\"; obtain the namespace's root out of band and run: arca trust add " + namespace_name +
                                     " ROOT.json");
    }
    return bytes.status();
  }
  auto root = signer::ParseRoot(*bytes);
  if (!root.ok()) return root.status().WithContext(path);
  if (root->root.namespace_name != namespace_name) {
    return InvalidArgumentError(path + " holds a root for namespace \"" + root->root.namespace_name + "\"");
  }
  return TrustedRoot{namespace_name, path, std::move(*root)};
}

Result<std::vector<TrustedRoot>> ListTrustedRoots(FileSystem& fs, const Paths& paths) {
  std::vector<TrustedRoot> out;
  auto names = fs.ListDir(paths.trust_dir());
  if (!names.ok()) {
    if (names.status().code() == StatusCode::kNotFound) return out;
    return names.status();
  }
  const std::string suffix = ".root.json";
  for (const auto& n : *names) {
    if (n.size() <= suffix.size() || n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0 || n[0] == '.') continue;
    ARCA_ASSIGN_OR_RETURN(TrustedRoot r, LoadTrustedRoot(fs, paths, n.substr(0, n.size() - suffix.size())));
    out.push_back(std::move(r));
  }
  return out;
}

Status RemoveTrustedRoot(FileSystem& fs, const Paths& paths, const std::string& namespace_name) {
  ARCA_RETURN_IF_ERROR(signer::ValidateNamespace(namespace_name));
  std::string path = paths.trust_dir() + "/" + namespace_name + ".root.json";
  if (!fs.Stat(path).ok()) return NotFoundError("no root is trusted for namespace \"" + namespace_name + "\"");
  ARCA_RETURN_IF_ERROR(fs.Remove(path));
  return fs.SyncDir(paths.trust_dir());
}

std::string UploadRecordPath(const Paths& paths, const std::string& registry, const std::string& repository,
                             const std::string& digest) {
  std::string key = registry + "\n" + repository + "\n" + digest;
  return paths.uploads_dir() + "/" + HexEncode(crypto::Sha256::Hash(AsBytes(key))) + ".json";
}

Result<UploadRecord> ParseUploadRecord(ByteSpan bytes) {
  JsonLimits limits;
  limits.max_bytes = 16 << 10;
  limits.max_depth = 2;
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(ToString(bytes), "upload record", limits));
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(j, {"registry", "repository", "digest", "location", "offset"}, "upload record"));
  UploadRecord r;
  ARCA_ASSIGN_OR_RETURN(r.registry, RequireString(j, "registry", "upload record"));
  ARCA_ASSIGN_OR_RETURN(r.repository, RequireString(j, "repository", "upload record"));
  ARCA_ASSIGN_OR_RETURN(r.digest, RequireString(j, "digest", "upload record"));
  ARCA_ASSIGN_OR_RETURN(r.location, RequireString(j, "location", "upload record"));
  ARCA_ASSIGN_OR_RETURN(r.offset, RequireUint(j, "offset", "upload record", 1ull << 50));
  if (!format::IsValidDigest(r.digest)) return InvalidArgumentError("upload record: invalid digest");
  if (r.location.rfind("http://", 0) != 0 && r.location.rfind("https://", 0) != 0) {
    return InvalidArgumentError("upload record: location is not an http(s) URL");
  }
  return r;
}

std::optional<UploadRecord> LoadUploadRecord(FileSystem& fs, const Paths& paths, const std::string& registry,
                                             const std::string& repository, const std::string& digest) {
  auto b = ReadFileBounded(fs, UploadRecordPath(paths, registry, repository, digest), 16 << 10);
  if (!b.ok()) return std::nullopt;
  auto r = ParseUploadRecord(*b);
  if (!r.ok() || r->registry != registry || r->repository != repository || r->digest != digest) return std::nullopt;
  return *r;
}

Status SaveUploadRecord(FileSystem& fs, const Paths& paths, const UploadRecord& record) {
  ARCA_RETURN_IF_ERROR(MakeDirs(fs, paths.uploads_dir(), 0700));
  Json j = {{"registry", record.registry}, {"repository", record.repository}, {"digest", record.digest},
            {"location", record.location}, {"offset", record.offset}};
  return WriteFileAtomic(fs, UploadRecordPath(paths, record.registry, record.repository, record.digest), AsBytes(j.dump()), 0600);
}

void ForgetUploadRecord(FileSystem& fs, const Paths& paths, const UploadRecord& record) {
  (void)fs.Remove(UploadRecordPath(paths, record.registry, record.repository, record.digest));
}

}  // namespace arca::distribution
