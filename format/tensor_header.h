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
  std::vector<std::uint64_t> shape;
  // Absolute byte range [begin, end) of the tensor's data in the file.
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  // element_bytes is 2 for BF16/F16, 4 for F32, ...; 0 for block-quantized
  // types whose elements are not whole bytes.
  std::uint32_t element_bytes = 0;
  // parameters is the product of shape (1 for a scalar).
  std::uint64_t parameters = 0;
};

struct TensorHeader {
  TensorFileFormat format = TensorFileFormat::kSafetensors;
  // Absolute offset where the tensor data region begins (end of header).
  std::uint64_t data_begin = 0;
  // Tensors sorted by begin; ranges do not overlap and lie within the file.
  std::vector<TensorInfo> tensors;
};

// Limits applied to untrusted headers.
struct TensorHeaderLimits {
  std::uint64_t max_header_bytes = 100ull << 20;  // the safetensors spec's own cap
  std::uint64_t max_tensors = 1u << 20;
  std::uint32_t max_dims = 8;
  std::uint64_t max_name_bytes = 4096;
};

// LooksLikeTensorFile reports which format `path`'s name suggests
// (".safetensors" / ".gguf"), or false.
bool LooksLikeTensorFile(const std::string& path, TensorFileFormat* format);

// ReadTensorHeader parses the header of `file` as `format`. Errors name the
// file (`name`), the field or tensor, and the offset: InvalidArgument for
// malformed headers, ResourceExhausted over the limits, Corruption when a
// tensor's range lies outside the file.
Result<TensorHeader> ReadTensorHeader(const RandomAccessFile& file, TensorFileFormat format,
                                      const std::string& name, const TensorHeaderLimits& limits = {});

}  // namespace arca::format

#endif  // ARCA_FORMAT_TENSOR_HEADER_H_
