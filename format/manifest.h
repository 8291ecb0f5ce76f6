// The Arca manifest: canonical JSON (RFC 8785) describing one sealed version
// (specs/format.md §8).
//
// It lists files (path, size, mode, plaintext SHA-256, ordered chunk list,
// tensor table), the unique chunks (id, pack, offset, record length,
// plaintext size, encoding), the packs, the chunking parameters, the parent
// version and the lineage id. A MAC under the lineage key covers all of it,
// so a holder of the key detects any change even before signatures (issue 3)
// exist; the manifest's SHA-256 is what gets signed. ParseManifest validates
// structure fully (indexes, sizes, paths) so later stages can trust shapes.
#ifndef ARCA_FORMAT_MANIFEST_H_
#define ARCA_FORMAT_MANIFEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "format/chunk_codec.h"
#include "format/chunker.h"
#include "format/lineage_key.h"
#include "format/tensor_header.h"

namespace arca::format {

inline constexpr std::string_view kManifestMediaType = "application/vnd.arca.manifest.v1+json";
inline constexpr std::string_view kPackMediaType = "application/vnd.arca.pack.v1";
inline constexpr std::string_view kArtifactType = "application/vnd.arca.package.v1";
inline constexpr std::string_view kChunkingAlgorithm = "arca-gear-v1";
inline constexpr std::uint64_t kFormatVersion = 1;
// kMaxManifestInteger bounds every integer in a manifest: RFC 8785 (and so
// SerializeManifest) cannot represent integers above 2^53.
inline constexpr std::uint64_t kMaxManifestInteger = std::uint64_t(1) << 53;

struct ManifestLimits {
  std::uint64_t max_bytes = 64ull << 20;
  std::uint64_t max_files = 100'000;
  std::uint64_t max_chunks = 10'000'000;
  std::uint64_t max_packs = 1'000'000;
  std::uint64_t max_tensors_per_file = 1'000'000;
};

struct PackRef {
  std::string digest;  // "sha256:<64 hex>"
  std::uint64_t size = 0;
  bool from_parent = false;  // inherited from the parent version
};

struct ChunkRef {
  ChunkId id{};
  std::uint32_t pack = 0;     // index into Manifest::packs
  std::uint64_t offset = 0;   // record offset in the pack
  std::uint64_t length = 0;   // record length (nonce + ciphertext + tag)
  std::uint64_t size = 0;     // plaintext size
  ChunkEncoding encoding = ChunkEncoding::kRaw;
  // base: for a delta chunk (and only then), the index in Manifest::chunks
  // of the chunk it is a difference from (specs/format.md §6.1).
  std::optional<std::uint32_t> base;
};

struct FileEntry {
  std::string path;  // relative, '/'-separated, validated by ValidateRelativePath
  std::uint64_t size = 0;
  std::uint32_t mode = 0644;  // permission bits 0..0777
  std::string sha256;  // hex of the plaintext
  std::vector<std::uint32_t> chunks;  // indexes into Manifest::chunks, in file order
  std::optional<TensorFileFormat> tensor_format;
  std::vector<TensorInfo> tensors;
};

struct Manifest {
  std::string name;     // "namespace/model"
  std::string version;  // "1.2"
  std::string lineage_id;
  std::optional<std::string> parent;  // digest of the parent's Arca manifest
  ChunkingParams chunking;
  std::vector<PackRef> packs;
  std::vector<ChunkRef> chunks;
  std::vector<FileEntry> files;
  std::string mac;  // hex HMAC over the canonical form without "mac"
};

// SerializeManifest returns the canonical JSON bytes; with include_mac false
// the "mac" member is omitted (the MAC's input).
Result<std::string> SerializeManifest(const Manifest& m, bool include_mac = true);

// ParseManifest parses and validates untrusted manifest bytes. Errors name
// the field and index: InvalidArgument for shape errors, ResourceExhausted
// over the limits, Corruption for inconsistent sizes or indexes.
Result<Manifest> ParseManifest(ByteSpan bytes, const ManifestLimits& limits = {});

// ComputeManifestMac sets nothing; it returns the hex MAC of `m` under `key`.
Result<std::string> ComputeManifestMac(const Manifest& m, const LineageKey& key);

// VerifyManifestKey checks that `key` is this manifest's lineage key and that
// the MAC verifies (constant time). Unauthenticated with "wrong lineage key"
// or "manifest MAC does not verify: the manifest was modified".
Status VerifyManifestKey(const Manifest& m, const LineageKey& key);

// DeltaChain returns the chunk indexes chunk `index` needs, itself first,
// then its base, its base's base…, ending at a chunk stored whole. The
// manifest must be one ParseManifest accepted (or built the same way):
// indexes in range, chains at most kMaxDeltaChain hops.
std::vector<std::uint32_t> DeltaChain(const Manifest& m, std::uint32_t index);

// ChunkIdsToRelease lists, once each and in manifest order, every chunk id
// whose key is needed to decode the files of `m`: the chunks the files use
// plus, recursively, the bases of delta chunks among them. A key broker
// releasing a version releases exactly these (specs/format.md §6.1).
std::vector<ChunkId> ChunkIdsToRelease(const Manifest& m);

// ValidateRelativePath refuses empty, absolute, "."/".." components, empty
// components, NUL and control characters, and over-long paths.
Status ValidateRelativePath(std::string_view path);

// ValidateName checks "namespace/model" (lower-case letters, digits, '.', '_',
// '-', one or more '/'-separated components, at most 255 bytes) and
// ValidateVersion a tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}, as OCI tags).
Status ValidateName(std::string_view name);
Status ValidateVersion(std::string_view version);

}  // namespace arca::format

#endif  // ARCA_FORMAT_MANIFEST_H_
