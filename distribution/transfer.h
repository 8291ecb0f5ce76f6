// `arca push` and `arca pull` as library calls (specs/registry-client.md
// §5, §6).
//
// Push uploads the blobs a registry lacks (HEAD first), several at once,
// in chunks whose upload URL is recorded after each one so an interrupted
// push resumes where the registry's Range says it stopped; then the
// manifest, byte for byte as sealed.
//
// Pull trusts nothing the registry says until it is checked: the manifest
// is bounded and hashed (and compared with a digest reference), the
// package's documents are verified against the namespace root the user
// trusts BEFORE any pack is downloaded, each pack is hashed while it
// streams and installed only if it matches, and the index entry appears
// last. A failure at any point leaves the store valid (old index, only
// complete blobs) and a rerun resumes partial packs with HTTP Range.
// Nothing is decrypted; the client holds no keys.
#ifndef ARCA_DISTRIBUTION_TRANSFER_H_
#define ARCA_DISTRIBUTION_TRANSFER_H_

#include <cstdint>
#include <string>

#include "base/file_system.h"
#include "base/status.h"
#include "base/verdict.h"
#include "distribution/config.h"
#include "distribution/registry_client.h"
#include "format/package.h"
#include "signer/root.h"

namespace arca::distribution {

inline constexpr std::uint64_t kMaxManifestDownloadBytes = 4 << 20;
inline constexpr std::uint64_t kMaxConfigBytes = 64 << 10;

struct TransferOptions {
  std::size_t threads = 4;                 // blobs transferred at once
  std::uint64_t chunk_bytes = 16ull << 20;  // PATCH size on push
  format::ProgressFn progress;             // called from worker threads, serialised
};

struct PushReport {
  std::string reference;
  std::string digest;  // of the image manifest
  std::uint64_t blobs_uploaded = 0;
  std::uint64_t blobs_skipped = 0;
  std::uint64_t bytes_uploaded = 0;
};

// Push uploads the package at `package` to `ref`. InvalidArgument when the
// package's name is not the reference's repository or a digest reference
// does not name this manifest; registry refusals carry the registry's OCI
// error code and message (see RegistryClient).
Result<PushReport> Push(FileSystem& fs, const Paths& paths, const format::PackageRef& package, const Reference& ref,
                        const ClientOptions& client_options, const TransferOptions& options);

struct PullReport {
  std::string reference;
  std::string digest;
  std::string name;
  std::string version;
  std::string ref_name;  // the store entry
  std::uint64_t bytes_downloaded = 0;
  std::uint64_t bytes_total = 0;
  std::uint64_t blobs_downloaded = 0;
  std::uint64_t blobs_present = 0;
  std::uint64_t packs_assembled = 0;  // built from local records + Range reads
  std::uint64_t bytes_reused = 0;     // record bytes copied from packs already in the store
};

// Pull installs `ref` into the store at `store_dir` after verifying it
// against `trusted`. A pack the store lacks is assembled when the store
// already holds some of its records (same lineage, same chunk id and record
// length, in packs of installed versions): those bytes are copied locally and
// only the rest is fetched with HTTP Range; the assembled pack must hash to
// its digest, else it is downloaded whole (specs/registry-client.md §6).
//
// Pull (continued) installs `ref` into the store at `store_dir` after verifying it
// against `trusted`. `verdict` receives the signature verification's checks
// (empty if the pull failed before them). Unauthenticated when a digest does
// not match (the message names the blob) or the verdict fails; NotFound
// when the registry lacks the reference.
Result<PullReport> Pull(FileSystem& fs, const Reference& ref, const std::string& store_dir, const signer::SignedRoot& trusted,
                        const ClientOptions& client_options, const TransferOptions& options, Verdict* verdict);

}  // namespace arca::distribution

#endif  // ARCA_DISTRIBUTION_TRANSFER_H_
