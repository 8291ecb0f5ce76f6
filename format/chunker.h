// Content-defined chunking with a keyed gear hash (FastCDC-style, with
// normalized chunking), specs/format.md §5.
//
// The gear table is derived from the lineage key, so chunk boundaries (which
// the registry sees as ciphertext lengths) cannot be predicted for guessed
// content without the key. Boundaries depend only on content and the key, so
// an insertion shifts at most the chunks around it; unchanged content
// deduplicates. Callers split a file into regions at tensor boundaries first
// (see PlanRegions); the chunker cuts inside one region.
#ifndef ARCA_FORMAT_CHUNKER_H_
#define ARCA_FORMAT_CHUNKER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "format/tensor_header.h"

namespace arca::format {

struct ChunkingParams {
  std::uint64_t min_size = 256 * 1024;
  std::uint64_t avg_size = 1024 * 1024;  // a power of two
  std::uint64_t max_size = 4 * 1024 * 1024;
};

// ValidateChunkingParams: min, avg, max are multiples of 8 with
// 64 <= min < avg < max <= 64 MiB and avg a power of two; InvalidArgument
// otherwise (these come from untrusted manifests too).
Status ValidateChunkingParams(const ChunkingParams& p);

class GearChunker {
 public:
  // The gear table is gear[i] = first 8 bytes (LE) of HMAC-SHA256(gear_key,
  // "arca/v1/gear" || i), i = 0..255.
  GearChunker(ByteSpan gear_key, const ChunkingParams& params);

  // FindCut returns the length of the chunk that starts at data[0]. `data`
  // holds the next min(max_size, bytes left in the region) bytes: if no
  // content-defined cut is found the chunk is all of `data`. `align` (1, 2 or
  // 4) rounds a content-defined cut down to a multiple of it, keeping chunks
  // of a float tensor element-aligned.
  std::size_t FindCut(ByteSpan data, std::uint32_t align = 1) const;

  const ChunkingParams& params() const { return params_; }

 private:
  ChunkingParams params_;
  std::array<std::uint64_t, 256> gear_;
  int bits_small_;  // stricter condition below avg (fewer early cuts)
  int bits_large_;  // looser condition past avg (fewer late cuts)
};

// A Region is a byte range of a file chunked independently: tensor data, or
// the bytes between tensors (header, padding). `element_bytes` is 2 for
// BF16/F16 tensors (eligible for byte grouping), 4 for 4-byte types, else 1.
struct Region {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uint32_t element_bytes = 1;
  bool float16 = false;  // BF16 or F16 data: try the bg2 transform
  bool float32 = false;  // F32 data: try the bg4 transform
};

// PlanRegions splits [0, file_size) at every tensor boundary of `header`
// (nullptr: one region). Regions are contiguous, non-empty and ordered.
std::vector<Region> PlanRegions(std::uint64_t file_size, const TensorHeader* header);

}  // namespace arca::format

#endif  // ARCA_FORMAT_CHUNKER_H_
