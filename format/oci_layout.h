// OCI image layout (image-spec v1.1 "image-layout.md") for sealed packages.
//
// A sealed package is a directory any OCI tool understands: `oci-layout`,
// `index.json`, `blobs/sha256/<hex>`. The index names one image manifest per
// version (annotation org.opencontainers.image.ref.name); that manifest has
// artifactType application/vnd.arca.package.v1, the empty config, the Arca
// manifest as its first layer and the packs as the following layers.
//
// The writer builds a layout under a temporary sibling directory and renames
// it into place only when complete, so readers never see a partial package.
// The reader checks the digest and size of every small blob it loads and the
// size of every pack it opens; digests are validated before any path is
// built from them, so a hostile index cannot name files outside blobs/.
#ifndef ARCA_FORMAT_OCI_LAYOUT_H_
#define ARCA_FORMAT_OCI_LAYOUT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/crypto.h"
#include "base/file_system.h"
#include "base/json.h"
#include "base/status.h"

namespace arca::format {

inline constexpr std::string_view kOciManifestMediaType = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndexMediaType = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciEmptyMediaType = "application/vnd.oci.empty.v1+json";
inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";

struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<64 lower-case hex>"
  std::uint64_t size = 0;
  std::map<std::string, std::string> annotations;
};

struct OciManifest {
  std::string artifact_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

// IsOciNameComponent: one path component of the distribution-spec name
// grammar, [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* (a repository name is such
// components joined by '/').
bool IsOciNameComponent(std::string_view component);
// IsOciTag: the distribution-spec tag grammar [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
bool IsOciTag(std::string_view tag);

// IsValidDigest accepts exactly "sha256:" + 64 lower-case hex digits.
bool IsValidDigest(std::string_view digest);
// DigestOf returns "sha256:<hex>" of `data`.
std::string DigestOf(ByteSpan data);

// SerializeOciManifest / ParseOciManifest: JSON of an image manifest. The
// parser checks schemaVersion 2, mediaType, descriptor shapes and digests;
// unknown fields are ignored, as the OCI spec requires of consumers.
std::string SerializeOciManifest(const OciManifest& m);
Result<OciManifest> ParseOciManifest(ByteSpan bytes);

// BlobWriter streams one blob into the layout; Finish names it by digest.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;
  [[nodiscard]] virtual Status Append(ByteSpan data) = 0;
  virtual std::uint64_t size() const = 0;
  // Finish syncs, renames to blobs/sha256/<hex> and returns the descriptor.
  virtual Result<Descriptor> Finish(std::string_view media_type) = 0;
};

class OciLayoutWriter {
 public:
  // Create starts a layout that will appear at `final_dir` on Commit.
  // AlreadyExists when final_dir exists.
  static Result<std::unique_ptr<OciLayoutWriter>> Create(FileSystem& fs, const std::string& final_dir);
  ~OciLayoutWriter();  // removes the temporary directory unless committed

  Result<Descriptor> AddBlob(ByteSpan data, std::string_view media_type);
  Result<std::unique_ptr<BlobWriter>> NewBlob();
  // AddExistingBlob hard-links (or, across file systems, copies and
  // re-verifies) a blob from another layout.
  Result<Descriptor> AddExistingBlob(const std::string& source_path, const Descriptor& desc);
  // Commit writes the manifest blob, index.json (ref name = `ref`) and
  // oci-layout, syncs, and renames the directory into place.
  Result<Descriptor> Commit(const OciManifest& manifest, const std::string& ref);

 private:
  OciLayoutWriter(FileSystem& fs, std::string final_dir, std::string temp_dir)
      : fs_(fs), final_dir_(std::move(final_dir)), temp_dir_(std::move(temp_dir)) {}
  FileSystem& fs_;
  std::string final_dir_;
  std::string temp_dir_;
  bool committed_ = false;
};

class OciLayoutReader {
 public:
  // Open reads oci-layout and index.json and loads the image manifest named
  // `ref` (or the only one when ref is empty). NotFound when the ref is
  // absent (the message lists the refs present).
  static Result<OciLayoutReader> Open(FileSystem& fs, const std::string& dir, const std::string& ref = "");

  const std::string& dir() const { return dir_; }
  const Descriptor& manifest_descriptor() const { return manifest_desc_; }
  const OciManifest& manifest() const { return manifest_; }
  const std::string& ref() const { return ref_; }

  // BlobPath is the path of a blob (the digest must be valid).
  std::string BlobPath(const std::string& digest) const;
  // ReadBlob loads a blob of at most max_bytes and checks its size and
  // digest: Unauthenticated on a digest mismatch, NotFound when missing.
  Result<Bytes> ReadBlob(const Descriptor& desc, std::uint64_t max_bytes) const;
  // OpenBlob opens a (large) blob for ranged reads after checking its size.
  Result<std::unique_ptr<RandomAccessFile>> OpenBlob(const Descriptor& desc) const;

 private:
  FileSystem* fs_ = nullptr;
  std::string dir_;
  std::string ref_;
  Descriptor manifest_desc_;
  OciManifest manifest_;
};

// AddBlobToLayout writes one small blob into an existing layout durably
// (temporary name, fsync, rename) and returns its descriptor. A blob that is
// already present is left as is (content addressing makes it identical).
Result<Descriptor> AddBlobToLayout(FileSystem& fs, const std::string& dir, ByteSpan data, std::string_view media_type);

// ReplaceManifest points the index entry of `current` at a new image
// manifest: the new manifest blob is written first, then index.json is
// replaced atomically (readers see the old package or the new one, never a
// mix), then the old manifest blob and every blob in `garbage` that no
// manifest in the index still references are deleted. FailedPrecondition
// when the index no longer names current's manifest (someone else changed
// the package meanwhile: reload and retry). Returns the new descriptor.
Result<Descriptor> ReplaceManifest(FileSystem& fs, const OciLayoutReader& current, const OciManifest& next,
                                   const std::vector<std::string>& garbage = {});

}  // namespace arca::format

#endif  // ARCA_FORMAT_OCI_LAYOUT_H_
