// Content-addressed blob files of arca-registry: blobs/sha256/<aa>/<hex>,
// upload sessions under uploads/<id>, verification staging under tmp/. A
// blob file appears at its final name only by rename(2) after its bytes
// were fsynced and hashed to exactly that digest, so a reader never sees a
// partial or wrong blob (specs/registry.md §5). Which repository may see a
// blob is the metadata store's business, not this class's.
//
// Thread-safe for distinct upload ids; one upload id must not be appended
// to concurrently (the server serialises each session).
#ifndef ARCA_REGISTRY_SERVER_BLOB_STORE_H_
#define ARCA_REGISTRY_SERVER_BLOB_STORE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/file_system.h"
#include "base/status.h"

namespace arca::registry {

class BlobStore {
 public:
  // Create makes (if needed) blobs/, uploads/ and tmp/ under `root`.
  static Result<std::unique_ptr<BlobStore>> Create(const std::string& root);

  const std::string& root() const { return root_; }
  std::string BlobPath(const std::string& digest) const;    // digest must be valid
  std::string UploadPath(const std::string& id) const;      // id must be valid
  std::string TempDir() const { return root_ + "/tmp"; }

  // Open opens a stored blob for reading; NotFound when absent.
  Result<std::unique_ptr<RandomAccessFile>> Open(const std::string& digest) const;
  // Size of a stored blob file; NotFound when absent.
  Result<std::uint64_t> Size(const std::string& digest) const;

  // NewUpload creates an empty upload file for `id`.
  [[nodiscard]] Status NewUpload(const std::string& id);
  // UploadSize: bytes received so far; NotFound when the session is gone.
  Result<std::uint64_t> UploadSize(const std::string& id) const;
  // AppendUpload opens the upload file for appending (per request:
  // sessions span requests). The caller Syncs before replying.
  Result<std::unique_ptr<WritableFile>> AppendUpload(const std::string& id);
  // HashUpload re-reads an upload file and returns its "sha256:<hex>".
  Result<std::string> HashUpload(const std::string& id) const;
  // PlaceUpload renames the upload file to the blob's final name (removing
  // it instead when the blob is already stored) and fsyncs the directory.
  [[nodiscard]] Status PlaceUpload(const std::string& id, const std::string& digest);
  // DeleteUpload removes an upload file; missing is OK.
  [[nodiscard]] Status DeleteUpload(const std::string& id);
  // WriteBlob stores small bytes (a manifest) under their digest durably
  // and returns the digest; staged as an upload file named `staging_id`.
  Result<std::string> WriteBlob(ByteSpan data, const std::string& staging_id);
  // Delete removes a blob file and returns the bytes freed (0 if absent).
  Result<std::uint64_t> Delete(const std::string& digest);

 private:
  explicit BlobStore(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

// NewUploadId returns 32 random lower-case hex digits.
std::string NewUploadId();

}  // namespace arca::registry

#endif  // ARCA_REGISTRY_SERVER_BLOB_STORE_H_
