#include "distribution/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "format/package.h"

namespace arca::distribution {
namespace {

constexpr std::uint64_t kMaxIndexBytes = 1 << 20;
constexpr std::uint64_t kMaxManifestBytes = 4 << 20;
constexpr std::string_view kLayoutJson = R"({"imageLayoutVersion":"1.0.0"})";

std::string RefNameOf(const Json& entry) {
  if (!entry.is_object() || !entry.contains("annotations") || !entry["annotations"].is_object()) return "";
  const Json& a = entry["annotations"];
  auto it = a.find(std::string(format::kRefNameAnnotation));
  return it != a.end() && it->is_string() ? it->get<std::string>() : "";
}

Result<format::Descriptor> EntryDescriptor(const Json& e, const std::string& where) {
  if (!e.is_object()) return InvalidArgumentError(where + " is not an object");
  format::Descriptor d;
  ARCA_ASSIGN_OR_RETURN(d.media_type, RequireString(e, "mediaType", where));
  ARCA_ASSIGN_OR_RETURN(d.digest, RequireString(e, "digest", where));
  if (!format::IsValidDigest(d.digest)) return InvalidArgumentError(where + ".digest is not sha256:<64 hex>");
  ARCA_ASSIGN_OR_RETURN(d.size, RequireUint(e, "size", where, kMaxManifestBytes));
  return d;
}

}  // namespace

StoreLock& StoreLock::operator=(StoreLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

StoreLock::~StoreLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

Result<Store> Store::Open(FileSystem& fs, const std::string& dir, bool create) {
  Store s(fs, dir);
  auto st = fs.Stat(dir);
  bool exists = st.ok();
  if (exists && st->type != FileType::kDirectory) return InvalidArgumentError("store " + dir + " is not a directory");
  bool has_layout = exists && fs.Stat(JoinPath(dir, "oci-layout")).ok();
  if (!has_layout) {
    if (!create) return NotFoundError("no package store at " + dir + " (arca pull creates one)");
    if (exists) {
      auto names = fs.ListDir(dir);
      if (!names.ok()) return names.status();
      for (const auto& n : *names) {
        if (n != ".tmp" && n != ".lock-gc" && n != ".lock-index" && n.rfind(".index.json.tmp-", 0) != 0 &&
            n != "blobs" && n != "index.json") {
          return InvalidArgumentError("store " + dir + " exists, is not empty and is not an OCI layout (it has \"" +
                                      n.substr(0, 64) + "\"); choose another --store");
        }
      }
    } else {
      Status m = fs.MakeDir(dir, 0755);
      if (!m.ok() && m.code() != StatusCode::kAlreadyExists) return m.WithContext("creating the store");
    }
    for (const char* sub : {"blobs", "blobs/sha256", ".tmp"}) {
      Status m = fs.MakeDir(JoinPath(dir, sub), 0755);
      if (!m.ok() && m.code() != StatusCode::kAlreadyExists) return m;
    }
    if (!fs.Stat(JoinPath(dir, "index.json")).ok()) {
      Json index = {{"schemaVersion", 2}, {"mediaType", format::kOciIndexMediaType}, {"manifests", Json::array()}};
      ARCA_ASSIGN_OR_RETURN(std::string text, CanonicalJson(index));
      ARCA_RETURN_IF_ERROR(WriteFileAtomic(fs, JoinPath(dir, "index.json"), AsBytes(text), 0644));
    }
    // oci-layout last: its presence marks a complete, empty store.
    ARCA_RETURN_IF_ERROR(WriteFileAtomic(fs, JoinPath(dir, "oci-layout"), AsBytes(kLayoutJson), 0644));
    ARCA_RETURN_IF_ERROR(fs.SyncDir(dir));
  } else {
    for (const char* sub : {"blobs", "blobs/sha256", ".tmp"}) {
      Status m = fs.MakeDir(JoinPath(dir, sub), 0755);
      if (!m.ok() && m.code() != StatusCode::kAlreadyExists) return m;
    }
  }
  ARCA_ASSIGN_OR_RETURN(Json index, s.ReadIndex());
  (void)index;
  return s;
}

std::string Store::BlobPath(const std::string& digest) const { return JoinPath(dir_, "blobs/sha256/" + digest.substr(7)); }

std::string Store::TempDir() const { return JoinPath(dir_, ".tmp"); }

bool Store::HasBlob(const format::Descriptor& desc) const {
  if (!format::IsValidDigest(desc.digest)) return false;
  auto st = fs_->Stat(BlobPath(desc.digest));
  return st.ok() && st->type == FileType::kRegular && st->size == desc.size;
}

Result<Bytes> Store::ReadBlob(const format::Descriptor& desc, std::uint64_t max_bytes) const {
  if (!format::IsValidDigest(desc.digest)) return InvalidArgumentError("invalid digest \"" + desc.digest.substr(0, 80) + "\"");
  if (desc.size > max_bytes) return ResourceExhaustedError("blob " + desc.digest + " is over the limit of " + std::to_string(max_bytes) + " bytes");
  ARCA_ASSIGN_OR_RETURN(Bytes b, ReadFileBounded(*fs_, BlobPath(desc.digest), max_bytes));
  if (b.size() != desc.size || format::DigestOf(b) != desc.digest) {
    return CorruptionError("store blob " + desc.digest + " does not match its digest or size (damaged store; arca rm and pull again)");
  }
  return b;
}

Result<format::Descriptor> Store::PutBlob(ByteSpan data, std::string_view media_type) {
  return format::AddBlobToLayout(*fs_, dir_, data, media_type);
}

Status Store::InstallFile(const std::string& temp_path, const std::string& digest) {
  if (!format::IsValidDigest(digest)) return InvalidArgumentError("invalid digest \"" + digest.substr(0, 80) + "\"");
  return fs_->Rename(temp_path, BlobPath(digest));
}

Status Store::SyncBlobs() { return fs_->SyncDir(JoinPath(dir_, "blobs/sha256")); }

Result<Json> Store::ReadIndex() const {
  std::string path = JoinPath(dir_, "index.json");
  ARCA_ASSIGN_OR_RETURN(Bytes b, ReadFileBounded(*fs_, path, kMaxIndexBytes));
  ARCA_ASSIGN_OR_RETURN(Json index, ParseJson(ToString(b), path));
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()) {
    return InvalidArgumentError(path + " has no manifests array");
  }
  ARCA_ASSIGN_OR_RETURN(std::uint64_t schema, RequireUint(index, "schemaVersion", path));
  if (schema != 2) return InvalidArgumentError(path + " schemaVersion is not 2");
  return index;
}

Status Store::WriteIndex(const Json& index) {
  ARCA_ASSIGN_OR_RETURN(std::string text, CanonicalJson(index));
  if (text.size() > kMaxIndexBytes) return ResourceExhaustedError("store index would exceed " + std::to_string(kMaxIndexBytes) + " bytes; arca rm some packages");
  return WriteFileAtomic(*fs_, JoinPath(dir_, "index.json"), AsBytes(text), 0644);
}

Result<StoreLock> Store::Lock(const std::string& name, bool exclusive, bool wait) const {
  std::string path = JoinPath(dir_, name);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return InternalError("opening lock " + path + ": " + std::strerror(errno));
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  while (::flock(fd, op) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return UnavailableError("store " + dir_ + " is busy (" + name + " is held by another arca process); retry when it ends");
    return InternalError("locking " + path + ": " + std::strerror(err));
  }
  return StoreLock(fd);
}

Result<StoreLock> Store::LockForPull() const { return Lock(".lock-gc", /*exclusive=*/false, /*wait=*/true); }

Status Store::SetEntry(const std::string& ref_name, const format::Descriptor& manifest, std::string_view artifact_type,
                       const std::string& source) {
  ARCA_ASSIGN_OR_RETURN(StoreLock lock, Lock(".lock-index", true, true));
  ARCA_ASSIGN_OR_RETURN(Json index, ReadIndex());
  Json entry = {{"mediaType", format::kOciManifestMediaType},
                {"digest", manifest.digest},
                {"size", manifest.size},
                {"artifactType", std::string(artifact_type)},
                {"annotations", {{std::string(format::kRefNameAnnotation), ref_name}, {std::string(kSourceAnnotation), source}}}};
  Json kept = Json::array();
  bool placed = false;
  for (const Json& e : index["manifests"]) {
    if (RefNameOf(e) == ref_name) {
      if (!placed) kept.push_back(entry);  // keep its position
      placed = true;
      continue;
    }
    kept.push_back(e);
  }
  if (!placed) kept.push_back(entry);
  index["manifests"] = std::move(kept);
  return WriteIndex(index);
}

Status Store::RemoveEntry(const std::string& ref_name) {
  ARCA_ASSIGN_OR_RETURN(StoreLock lock, Lock(".lock-index", true, true));
  ARCA_ASSIGN_OR_RETURN(Json index, ReadIndex());
  Json kept = Json::array();
  std::string names;
  bool found = false;
  for (const Json& e : index["manifests"]) {
    std::string n = RefNameOf(e);
    if (n == ref_name) {
      found = true;
      continue;
    }
    names += (names.empty() ? "" : ", ") + (n.empty() ? "(unnamed)" : n);
    kept.push_back(e);
  }
  if (!found) return NotFoundError("store " + dir_ + " has no package \"" + ref_name + "\"" + (names.empty() ? " (it is empty)" : " (it has: " + names + ")"));
  index["manifests"] = std::move(kept);
  return WriteIndex(index);
}

Result<std::vector<StoreEntry>> Store::List() const {
  ARCA_ASSIGN_OR_RETURN(Json index, ReadIndex());
  std::vector<StoreEntry> out;
  std::size_t i = 0;
  for (const Json& e : index["manifests"]) {
    StoreEntry se;
    ARCA_ASSIGN_OR_RETURN(se.manifest, EntryDescriptor(e, "index.json.manifests[" + std::to_string(i++) + "]"));
    se.ref_name = RefNameOf(e);
    if (e.contains("annotations") && e["annotations"].is_object()) {
      auto it = e["annotations"].find(std::string(kSourceAnnotation));
      if (it != e["annotations"].end() && it->is_string()) se.source = it->get<std::string>();
    }
    se.total_bytes = se.manifest.size;
    auto bytes = ReadBlob(se.manifest, kMaxManifestBytes);
    if (bytes.ok()) {
      auto m = format::ParseOciManifest(*bytes);
      if (m.ok()) {
        se.complete = HasBlob(m->config);
        se.total_bytes += m->config.size;
        for (const auto& l : m->layers) {
          se.total_bytes += l.size;
          se.complete = se.complete && HasBlob(l);
        }
      }
    }
    out.push_back(std::move(se));
  }
  return out;
}

Result<GcReport> Store::Gc() {
  ARCA_ASSIGN_OR_RETURN(StoreLock gc_lock, Lock(".lock-gc", /*exclusive=*/true, /*wait=*/false));
  ARCA_ASSIGN_OR_RETURN(StoreLock index_lock, Lock(".lock-index", true, true));
  ARCA_ASSIGN_OR_RETURN(Json index, ReadIndex());
  std::set<std::string> live;
  std::size_t i = 0;
  for (const Json& e : index["manifests"]) {
    ARCA_ASSIGN_OR_RETURN(format::Descriptor d, EntryDescriptor(e, "index.json.manifests[" + std::to_string(i++) + "]"));
    live.insert(d.digest);
    auto bytes = ReadBlob(d, kMaxManifestBytes);
    if (!bytes.ok()) {
      return FailedPreconditionError("gc deleted nothing: the manifest of \"" + RefNameOf(e) + "\" cannot be read (" +
                                     bytes.status().message() + "); arca rm it first");
    }
    auto m = format::ParseOciManifest(*bytes);
    if (!m.ok()) return FailedPreconditionError("gc deleted nothing: the manifest of \"" + RefNameOf(e) + "\" does not parse");
    live.insert(m->config.digest);
    for (const auto& l : m->layers) live.insert(l.digest);
  }
  GcReport report;
  std::string blobs = JoinPath(dir_, "blobs/sha256");
  ARCA_ASSIGN_OR_RETURN(auto names, fs_->ListDir(blobs));
  for (const auto& n : names) {
    std::string path = JoinPath(blobs, n);
    auto st = fs_->Stat(path);
    std::uint64_t size = st.ok() ? st->size : 0;
    if (!n.empty() && n[0] == '.') {  // a temporary from an interrupted write
      if (fs_->Remove(path).ok()) ++report.temp_files_deleted;
      continue;
    }
    if (live.count("sha256:" + n)) {
      ++report.blobs_kept;
      continue;
    }
    ARCA_RETURN_IF_ERROR(fs_->Remove(path));
    ++report.blobs_deleted;
    report.bytes_freed += size;
  }
  ARCA_RETURN_IF_ERROR(fs_->SyncDir(blobs));
  // No pull runs (we hold .lock-gc exclusively): every temporary is stale.
  auto temps = fs_->ListDir(TempDir());
  if (temps.ok()) {
    for (const auto& n : *temps) {
      std::string path = JoinPath(TempDir(), n);
      auto st = fs_->Stat(path);
      if (st.ok() && st->type == FileType::kRegular) report.bytes_freed += st->size;
      if (fs_->RemoveAll(path).ok()) ++report.temp_files_deleted;
    }
  }
  auto top = fs_->ListDir(dir_);
  if (top.ok()) {
    for (const auto& n : *top) {
      if (n.rfind(".index.json.tmp-", 0) == 0 || n.rfind(".oci-layout.tmp-", 0) == 0) {
        if (fs_->Remove(JoinPath(dir_, n)).ok()) ++report.temp_files_deleted;
      }
    }
  }
  return report;
}

format::PackageRef ResolveStoreRef(FileSystem& fs, const std::string& text) {
  for (std::size_t pos = text.find(':'); pos != std::string::npos; pos = text.find(':', pos + 1)) {
    std::string dir = text.substr(0, pos);
    if (dir.empty() || pos + 1 >= text.size()) continue;
    auto st = fs.Stat(JoinPath(dir, "oci-layout"));
    if (st.ok() && st->type == FileType::kRegular) return {dir, text.substr(pos + 1)};
  }
  return format::ParsePackageRef(text);
}

}  // namespace arca::distribution
