// Tensor headers of safetensors and GGUF files.
//
// Arca reads these headers for two reasons: to snap chunk boundaries to
// tensor boundaries (so unchanged tensors deduplicate exactly across
// versions, and 2-byte float tensors get the byte-grouping transform) and to
// let `arca inspect` describe a sealed model without keys. The parsers see
// untrusted bytes: they bound every length and count before allocating,
// reject overlapping or out-of-file tensors, and never read past the file.
#ifndef ARCA_FORMAT_TENSOR_HEADER_H_
#define ARCA_FORMAT_TENSOR_HEADER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/file_system.h"
#include "base/status.h"

namespace arca::format {

enum class TensorFileFormat { kSafetensors, kGguf };

struct TensorInfo {
  std::string name;
  // dtype as the file names it: safetensors "BF16", "F16", "F32", "I8", ...;
  // GGUF type names "F32", "F16", "BF16", "Q4_0", "Q8_0", ...
  std::string dtype;
  // shape in the file's own order: safetensors lists the outermost dimension
  // first (row-major); GGUF lists ne[0], the innermost, first.
  std::vector<std::uint64_t> shape;
  // Absolute byte range [begin, end) of the tensor's data in the file.
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  // element_bytes is 2 for BF16/F16, 4 for F32, ...; 0 for block-quantized
  // GGUF types and sub-byte safetensors types (F4, F6_*) whose elements are
  // not whole bytes (their byte size is still exact: end - begin).
  std::uint32_t element_bytes = 0;
  // parameters is the product of shape (1 for a scalar).
  std::uint64_t parameters = 0;
};

struct TensorHeader {
  TensorFileFormat format = TensorFileFormat::kSafetensors;
  // Absolute offset where the tensor data region begins (end of header).
  std::uint64_t data_begin = 0;
  // Tensors sorted by begin (then end, then name); non-empty ranges do not
  // overlap and every range lies within the file. Gaps between tensors are
  // allowed (GGUF pads to its alignment).
  std::vector<TensorInfo> tensors;
  // metadata is the safetensors "__metadata__" string map (empty for GGUF,
  // whose typed metadata values are bounds-checked and skipped).
  std::map<std::string, std::string> metadata;
  // GGUF only: the format version (2 or 3) and the `general.alignment` in
  // force (32 unless the file says otherwise). 0 for safetensors.
  std::uint32_t gguf_version = 0;
  std::uint32_t gguf_alignment = 0;
};

// Limits applied to untrusted headers.
struct TensorHeaderLimits {
  std::uint64_t max_header_bytes = 100ull << 20;  // the safetensors spec's own cap
  std::uint64_t max_tensors = 1u << 20;
  std::uint32_t max_dims = 8;
  std::uint64_t max_name_bytes = 4096;
  // GGUF only: metadata key-value pairs, and how deeply arrays may nest
  // (an array of scalars is depth 1; values above 64 act as 64).
  std::uint64_t max_metadata_kvs = 1u << 16;
  std::uint32_t max_array_depth = 8;
};

// LooksLikeTensorFile reports which format `path`'s name suggests
// (".safetensors" / ".gguf"), or false.
bool LooksLikeTensorFile(const std::string& path, TensorFileFormat* format);

// ReadTensorHeader parses the header of `file` as `format`. Errors name the
// file (`name`), the field or tensor, and the offset: InvalidArgument for
// malformed headers (including a header cut short by the end of the file),
// ResourceExhausted over the limits, Corruption when a tensor's range lies
// outside the file; an I/O error from `file` is passed through with context.
// It reads only the header, through ReadAt and never past max_header_bytes:
// safetensors exactly 8 + N bytes; GGUF in 64 KiB read-ahead windows, so up
// to 64 KiB past the header's end. Memory stays proportional to the header
// (the safetensors JSON DOM is a small multiple of N). Reentrant; `file` is
// borrowed for the call.
//
// Safetensors: https://github.com/huggingface/safetensors#format. Checked:
// header length, JSON syntax, UTF-8 and duplicate keys (ParseJson), no raw
// NUL byte (which nlohmann would take for end of input), known dtype,
// exactly {dtype, shape, data_offsets} per tensor, shape product times the
// element size (with overflow checks) equal to the byte range, ranges inside
// the file and not overlapping, "__metadata__" a string-to-string map.
// GGUF v2/v3: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md.
// Checked: magic, version, counts against limits and remaining bytes, every
// metadata value of every type (nested arrays up to max_array_depth) against
// the end of the header (bool bytes 0/1), unique printable-ASCII keys,
// unique UTF-8 tensor names without NUL, `general.alignment`
// (a u32 power of two), known ggml types and their block sizes, offsets
// aligned, ranges inside the file and not overlapping.
Result<TensorHeader> ReadTensorHeader(const RandomAccessFile& file, TensorFileFormat format,
                                      const std::string& name, const TensorHeaderLimits& limits = {});

}  // namespace arca::format

#endif  // ARCA_FORMAT_TENSOR_HEADER_H_
