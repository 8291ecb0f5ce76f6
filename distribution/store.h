// The local package store (specs/registry-client.md §4): an OCI image
// layout (oci-layout, index.json, blobs/sha256/<hex>) holding every pulled
// package, one index entry per reference with the ref name annotation
// "namespace/name:tag" (or "namespace/name@sha256:<hex>"), so
// format::OciLayoutReader::Open(fs, store, "acme/med-llm:1.0") and
// `arca verify STORE:acme/med-llm:1.0` read it like any sealed package.
//
// Install ordering: blobs first (each written to a temporary name, fsynced,
// renamed into blobs/), then index.json replaced atomically (temporary,
// fsync, rename, directory fsync). A reader sees the old index or the new
// one, and every blob an index entry names is complete. Partial downloads
// live under .tmp/ inside the store (same file system, so the final rename
// is atomic) and are resumed, or deleted by gc.
//
// Concurrency: index changes are serialised by an flock(2) on .lock-index;
// pulls hold .lock-gc shared and gc holds it exclusively, so gc never
// deletes a blob a running pull has installed but not yet indexed, nor its
// partial files. The locks are advisory (other tools ignore them). The lock
// files are the only I/O outside the FileSystem seam.
//
// This library depends only on base/ and format/, so the runtime can read
// the store without the network client.
#ifndef ARCA_DISTRIBUTION_STORE_H_
#define ARCA_DISTRIBUTION_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/file_system.h"
#include "base/status.h"
#include "format/oci_layout.h"
#include "format/package.h"

namespace arca::distribution {

// Where the entry came from: "<registry>/<repository>:<tag>@sha256:<hex>".
inline constexpr std::string_view kSourceAnnotation = "dev.arca.source";

struct StoreEntry {
  std::string ref_name;
  format::Descriptor manifest;  // the image manifest (digest, size)
  std::string source;           // kSourceAnnotation, may be empty
  std::uint64_t total_bytes = 0;  // manifest + config + layers
  bool complete = false;          // manifest readable and every blob present with its size
};

struct GcReport {
  std::uint64_t blobs_deleted = 0;
  std::uint64_t bytes_freed = 0;
  std::uint64_t temp_files_deleted = 0;
  std::uint64_t blobs_kept = 0;
};

// StoreLock holds an flock(2) until destroyed. Move-only.
class StoreLock {
 public:
  StoreLock() = default;
  explicit StoreLock(int fd) : fd_(fd) {}
  StoreLock(StoreLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  StoreLock& operator=(StoreLock&& o) noexcept;
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;
  ~StoreLock();

 private:
  int fd_ = -1;
};

// Store is a handle on a store directory. Methods are thread-safe in the
// sense the file system is: several threads may install blobs at once.
class Store {
 public:
  // Open opens the store at `dir`; with `create`, makes a missing or empty
  // directory into an empty store (durably) first. NotFound when absent and
  // !create; InvalidArgument when `dir` is not an OCI layout.
  static Result<Store> Open(FileSystem& fs, const std::string& dir, bool create);

  const std::string& dir() const { return dir_; }
  std::string BlobPath(const std::string& digest) const;
  // TempDir is <dir>/.tmp: partial downloads and staging layouts.
  std::string TempDir() const;
  // HasBlob: the blob file exists, is regular and has the descriptor's size
  // (content was hashed when it was installed).
  bool HasBlob(const format::Descriptor& desc) const;
  // ReadBlob loads a small blob, checking size and digest.
  Result<Bytes> ReadBlob(const format::Descriptor& desc, std::uint64_t max_bytes) const;
  // PutBlob writes a small blob durably (temporary, fsync, rename, dir fsync)
  // unless present; the caller has checked `data` hashes to what it expects.
  Result<format::Descriptor> PutBlob(ByteSpan data, std::string_view media_type);
  // InstallFile renames a complete, fsynced, digest-checked file (under
  // TempDir) to blobs/sha256/<hex>. The caller syncs the blobs directory.
  [[nodiscard]] Status InstallFile(const std::string& temp_path, const std::string& digest);
  [[nodiscard]] Status SyncBlobs();

  // SetEntry points `ref_name` at `manifest` (replacing an entry of the
  // same name), atomically. Every blob must already be installed.
  [[nodiscard]] Status SetEntry(const std::string& ref_name, const format::Descriptor& manifest,
                                std::string_view artifact_type, const std::string& source);
  // RemoveEntry deletes an entry atomically (blobs stay until gc).
  // NotFound naming the refs present.
  [[nodiscard]] Status RemoveEntry(const std::string& ref_name);
  // List returns the entries in index order.
  Result<std::vector<StoreEntry>> List() const;
  // Gc deletes every blob no entry references and every temporary file.
  // Unavailable when a pull is running; FailedPrecondition (deleting
  // nothing) when an entry's manifest cannot be read, since what it
  // references cannot then be proven dead.
  Result<GcReport> Gc();

  // LockForPull takes .lock-gc shared (blocking): held for a whole pull.
  Result<StoreLock> LockForPull() const;

 private:
  Store(FileSystem& fs, std::string dir) : fs_(&fs), dir_(std::move(dir)) {}
  Result<Json> ReadIndex() const;
  [[nodiscard]] Status WriteIndex(const Json& index);
  Result<StoreLock> Lock(const std::string& name, bool exclusive, bool wait) const;

  FileSystem* fs_;
  std::string dir_;
};

// ResolveStoreRef splits "DIR:REF" for a layout whose ref names contain '/'
// and ':' (a store): the longest prefix before a ':' that is a directory
// holding an oci-layout file wins; otherwise format::ParsePackageRef.
format::PackageRef ResolveStoreRef(FileSystem& fs, const std::string& text);

}  // namespace arca::distribution

#endif  // ARCA_DISTRIBUTION_STORE_H_
