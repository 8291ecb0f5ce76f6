// Sealing and opening whole packages (specs/format.md §9, §10).
//
// Seal turns a model directory into a sealed OCI layout: files are split into
// regions at tensor boundaries, chunked, encoded, encrypted and appended to
// ~64 MiB packs, in parallel but with deterministic output (same model, key,
// parameters and parent give the same bytes). With a parent, chunks the parent
// already has are referenced, not stored again.
//
// Open reverses it with the lineage key, verifying every record's tag and
// every file's SHA-256 before the output directory appears (it is built under
// a temporary name and renamed). Any failure removes the temporary tree.
// OpenToSink runs the same pipeline with per-chunk keys (what a key broker
// releases) into a caller's sink instead of a directory (the runtime's
// protected memory); it cannot check the manifest MAC, so the caller must
// have verified signatures over the manifest digest it passes in.
//
// LoadPackage reads a package without keys (for inspect): layout, OCI
// manifest, Arca manifest, with digests checked and structure validated.
#ifndef ARCA_FORMAT_PACKAGE_H_
#define ARCA_FORMAT_PACKAGE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/file_system.h"
#include "base/status.h"
#include "format/lineage_key.h"
#include "format/manifest.h"
#include "format/oci_layout.h"

namespace arca::format {

// PackageRef splits "DIR[:REF]" (REF chooses a manifest in a multi-version
// layout). A ':' inside a path component before the last '/' is kept.
struct PackageRef {
  std::string dir;
  std::string ref;
};
PackageRef ParsePackageRef(const std::string& text);

struct Progress {
  std::uint64_t done_bytes = 0;
  std::uint64_t total_bytes = 0;
};
using ProgressFn = std::function<void(const Progress&)>;

// Attachments are small signed documents (DSSE envelopes: signatures,
// provenance, policy, countersignatures) carried as extra OCI layers after
// the packs. The format only stores and hash-checks them; their meaning is
// the signer's (specs/signing.md). Each layer carries its role in the
// kAttachmentRoleAnnotation annotation.
inline constexpr std::string_view kDsseEnvelopeMediaType = "application/vnd.dsse.envelope.v1+json";
inline constexpr std::string_view kAttachmentRoleAnnotation = "dev.arca.role";
inline constexpr std::uint64_t kMaxAttachmentBytes = 1 << 20;
inline constexpr std::size_t kMaxAttachments = 256;

struct Attachment {
  std::string role;  // [a-z][a-z0-9-]{0,31}
  Bytes data;
};

// AttachFn returns the attachments for a package about to be committed,
// given its Arca manifest and that manifest blob's digest.
using AttachFn = std::function<Result<std::vector<Attachment>>(const Manifest& manifest, const std::string& manifest_digest)>;

struct SealOptions {
  std::string name;
  std::string version;
  ChunkingParams chunking;  // ignored with a parent: the parent's are used
  std::uint64_t pack_target_bytes = 64ull << 20;
  std::optional<PackageRef> parent;
  // delta: with a parent, store a changed 16-bit float chunk as its
  // difference from the parent's aligned chunk when that is smaller
  // (specs/format.md §6.1). false seals a version whose chunks are all
  // stored whole or shared (a publisher's full copy for fresh installs).
  bool delta = true;
  std::size_t threads = 0;  // 0: hardware concurrency
  ProgressFn progress;
  AttachFn attach;  // optional: signatures etc., committed atomically with the package
};

struct SealReport {
  Manifest manifest;
  std::string manifest_digest;      // digest of the Arca manifest blob
  std::string oci_manifest_digest;  // digest of the OCI image manifest
  std::uint64_t plaintext_bytes = 0;
  std::uint64_t stored_bytes = 0;   // bytes of packs written by this seal
  std::uint64_t chunks_total = 0;   // chunk references in files
  std::uint64_t chunks_new = 0;     // records written
  std::uint64_t chunks_from_parent = 0;
  std::uint64_t chunks_deduplicated = 0;  // repeats within this version
  std::uint64_t chunks_delta = 0;         // new records stored as deltas (§6.1)
};

// Seal: errors name the file and offset. InvalidArgument for hostile paths,
// symlinks leaving the tree, device files, bad names; AlreadyExists when
// out_dir exists; Unauthenticated when the parent is not of this lineage.
Result<SealReport> Seal(FileSystem& fs, const std::string& model_dir, const std::string& out_dir,
                        const LineageKey& key, const SealOptions& options);

struct LoadedPackage {
  OciLayoutReader layout;
  Manifest manifest;
  Descriptor manifest_blob;              // the Arca manifest layer
  std::vector<Descriptor> attachments;   // layers after the packs, in order
};

// AttachmentRole returns the role annotation of an attachment layer.
std::string AttachmentRole(const Descriptor& attachment);

// LoadPackage reads and validates a package without keys, including that the
// OCI manifest's pack layers are exactly the Arca manifest's packs.
Result<LoadedPackage> LoadPackage(FileSystem& fs, const PackageRef& ref);

// UpdateAttachments rewrites the package's OCI manifest in place with
// `remove` (digests of current attachments) dropped and `add` appended, then
// deletes blobs no longer referenced. The Arca manifest and packs are
// untouched, so what signatures cover never changes. InvalidArgument for a
// bad role or an attachment over kMaxAttachmentBytes, ResourceExhausted past
// kMaxAttachments, FailedPrecondition when the package changed meanwhile.
Status UpdateAttachments(FileSystem& fs, const LoadedPackage& pkg, const std::vector<Attachment>& add,
                         const std::vector<std::string>& remove = {});

// ChunkKeyFn returns the AES-256-GCM key of chunk `id` (for a lineage key
// holder LineageKey::ChunkKey; for the runtime, a key the broker released,
// see DeriveChunkKey). An error (typically NotFound) stops the open; its code
// is kept and its message is prefixed with the chunk it was asked for.
// Called concurrently from worker threads: it must be thread-safe.
using ChunkKeyFn = std::function<Result<SecretBytes>(const ChunkId& id)>;

// DecodeChunkChain reads chunk `index` of `m` out of `packs` (opened in
// manifest order), authenticates and decodes it into `out` (resized to its
// plaintext size), first decoding its delta bases (DeltaChain) when it is a
// delta. Unauthenticated when a record does not verify under its key;
// Corruption for a malformed encoding or a base of the wrong size or id.
// Thread-safe when `packs` reads are (pread) and each thread has its own
// decoder.
Status DecodeChunkChain(const Manifest& m, const std::vector<std::unique_ptr<RandomAccessFile>>& packs, std::uint32_t index,
                        const ChunkKeyFn& key_of, ChunkDecoder& decoder, Bytes* out);

struct OpenOptions {
  std::size_t threads = 0;
  ProgressFn progress;
};

struct OpenReport {
  std::uint64_t files = 0;
  std::uint64_t plaintext_bytes = 0;
  std::uint64_t chunks = 0;
};

// Open decrypts `pkg` into out_dir (which must not exist). Unauthenticated
// for a wrong key, a modified manifest, a changed record or a file digest
// mismatch; Corruption for truncated or extended blobs and inconsistent
// manifests; NotFound for a missing blob; AlreadyExists when out_dir exists.
// Nothing is left at out_dir (nor a temporary sibling) on failure.
Result<OpenReport> Open(FileSystem& fs, const PackageRef& pkg, const LineageKey& key, const std::string& out_dir,
                        const OpenOptions& options = {});

// kChunkKeySize is the size of one chunk's AES-256-GCM key.
inline constexpr std::size_t kChunkKeySize = 32;


// PlaintextSink receives an opened package's files in manifest order:
// BeginFile, then Append for each chunk's plaintext in order, then EndFile.
// Every chunk handed to Append has passed its tag check; EndFile is called
// only after the whole file's SHA-256 matched the manifest, so a sink must
// not publish a file before EndFile. On any failure OpenToSink calls Abort
// (and nothing else after it): the sink discards and wipes everything it
// holds, including complete files. Called from one thread at a time.
class PlaintextSink {
 public:
  virtual ~PlaintextSink() = default;
  // BeginFile starts `file` (path, size and mode from the manifest; the
  // entry outlives the call only for the duration of OpenToSink).
  virtual Status BeginFile(const FileEntry& file) = 0;
  // Append adds the next verified plaintext bytes of the current file. The
  // span is valid only during the call (its buffer is reused).
  virtual Status Append(ByteSpan plaintext) = 0;
  // EndFile closes the current file, whose digest has verified.
  virtual Status EndFile(const FileEntry& file) = 0;
  // Abort discards everything; the open has failed.
  virtual void Abort() = 0;

  // Optional fast path (saves a copy of every byte on the ordered, serial
  // stage). PrepareFiles is called once, before anything else, with every
  // file in manifest order. A sink that returns true must then answer
  // FileMemory(i) with writable memory of exactly files[i].size bytes, valid
  // until Abort or the end of OpenToSink, from any thread. The pipeline then
  // decodes each chunk, after its tag verified, straight into that memory
  // (from worker threads, disjoint ranges, possibly ahead of BeginFile), and
  // Append receives spans of that same memory, in order, as usual. An error
  // stops the open (Abort is called). The default declines.
  virtual Result<bool> PrepareFiles(const std::vector<FileEntry>& files) {
    (void)files;
    return false;
  }
  virtual std::span<std::uint8_t> FileMemory(std::size_t index) {
    (void)index;
    return {};
  }
};

// OpenToSink decrypts `pkg` (from LoadPackage) chunk by chunk with keys from
// `chunk_key` into `sink`, verifying every record's tag and every file's
// SHA-256 exactly as Open does. It does NOT verify the manifest MAC (that
// needs the lineage key): `expected_manifest_digest` must be the digest of
// the Arca manifest blob whose signatures the caller has verified, and an
// empty or different one is refused (Unauthenticated) before any key is
// asked for. Errors: Unauthenticated for a record that does not verify
// (wrong key or changed bytes) or a file digest mismatch, with the chunk or
// file named; the ChunkKeyFn's code for a missing key, naming the chunk;
// InvalidArgument for a key that is not kChunkKeySize bytes; Corruption /
// NotFound for damaged or missing packs; any sink error. The sink's Abort has
// been called whenever the result is an error raised after the digest check.
// Plaintext passes through the pipeline's pooled buffers (at most
// ~(5 × threads + 4) chunks at once), wiped when the call returns.
Result<OpenReport> OpenToSink(const LoadedPackage& pkg, const std::string& expected_manifest_digest,
                              const ChunkKeyFn& chunk_key, PlaintextSink& sink, const OpenOptions& options = {});

}  // namespace arca::format

#endif  // ARCA_FORMAT_PACKAGE_H_
