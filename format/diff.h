// What changed between two versions, and what an update costs, from their
// manifests alone (no keys): `arca diff A B`.
//
// Files are compared by path and plaintext SHA-256; tensors of tensor files
// by name, dtype, shape and the ids of the chunks covering their bytes (ids
// are keyed hashes of the plaintext, so equal ids mean equal bytes within a
// lineage; across lineages nothing is equal). The update cost of B given A is
// the records B needs (its files' chunks and, recursively, their delta bases)
// whose ids A does not list, and, at pack granularity (what `arca pull`
// transfers today), the bytes of B's packs A does not have.
#ifndef ARCA_FORMAT_DIFF_H_
#define ARCA_FORMAT_DIFF_H_

#include <cstdint>
#include <string>
#include <vector>

#include "format/manifest.h"

namespace arca::format {

enum class ChangeKind { kUnchanged, kChanged, kAdded, kRemoved };

// ChangeKindName: "unchanged", "changed", "added", "removed".
const char* ChangeKindName(ChangeKind k);

struct TensorDiff {
  std::string name;
  ChangeKind kind = ChangeKind::kUnchanged;
  std::string dtype;                 // B's (A's when removed)
  std::vector<std::uint64_t> shape;  // B's (A's when removed)
  bool reshaped = false;             // dtype or shape differs between A and B
  std::uint64_t bytes = 0;           // plaintext bytes in B (A when removed)
  std::uint64_t update_bytes = 0;    // records of its chunks A lacks
  std::uint64_t delta_chunks = 0;    // of those, stored as deltas
};

struct FileDiff {
  std::string path;
  ChangeKind kind = ChangeKind::kUnchanged;
  std::uint64_t size_a = 0, size_b = 0;
  std::uint64_t update_bytes = 0;  // records of its chunks A lacks
  std::vector<TensorDiff> tensors;  // every tensor that is not unchanged
  std::uint64_t tensors_unchanged = 0;
};

struct ManifestDiff {
  std::vector<FileDiff> files;  // B's files in order, then files only A has
  std::uint64_t plaintext_bytes_b = 0;
  std::uint64_t record_bytes_needed = 0;  // all records B needs
  std::uint64_t update_record_bytes = 0;  // of those, the ones A lacks
  std::uint64_t pack_bytes_b = 0;         // all of B's packs
  std::uint64_t update_pack_bytes = 0;    // B's packs A does not list
  bool same_lineage = false;
};

// DiffManifests compares two parsed manifests (ParseManifest's guarantees
// assumed). Never fails; thread-compatible.
ManifestDiff DiffManifests(const Manifest& a, const Manifest& b);

}  // namespace arca::format

#endif  // ARCA_FORMAT_DIFF_H_
