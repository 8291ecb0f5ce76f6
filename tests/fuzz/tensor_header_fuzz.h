// Shared body of the safetensors and GGUF header fuzz targets: parse the
// input as a file of `format` and, beyond "no crash, no leak, no hang", check
// the promises ReadTensorHeader makes, aborting when one is broken.
#ifndef ARCA_TESTS_FUZZ_TENSOR_HEADER_FUZZ_H_
#define ARCA_TESTS_FUZZ_TENSOR_HEADER_FUZZ_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <tuple>

#include "base/file_system.h"
#include "format/tensor_header.h"

namespace arca::fuzz {

inline void FuzzCheck(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tensor header invariant broken: %s\n", what);
    std::abort();
  }
}

inline void FuzzTensorHeader(const std::uint8_t* data, std::size_t size, format::TensorFileFormat fmt) {
  const std::string name = "fuzz-input";
  auto file = NewMemoryFile(Bytes(data, data + size), name);
  auto result = format::ReadTensorHeader(*file, fmt, name);
  if (!result.ok()) {
    const Status& s = result.status();
    FuzzCheck(s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kResourceExhausted ||
                  s.code() == StatusCode::kCorruption,
              "error code outside {InvalidArgument, ResourceExhausted, Corruption}");
    FuzzCheck(s.message().find(name) != std::string::npos, "error message does not name the file");
    return;
  }
  const format::TensorHeader& h = *result;
  FuzzCheck(h.format == fmt, "format");
  FuzzCheck(h.data_begin <= size, "data_begin past the end of the file");
  const format::TensorInfo* prev = nullptr;
  std::uint64_t max_end = 0;
  for (const format::TensorInfo& t : h.tensors) {
    FuzzCheck(t.begin <= t.end && t.end <= size, "tensor range outside the file");
    FuzzCheck(t.begin >= h.data_begin, "tensor starts inside the header");
    FuzzCheck(!t.dtype.empty(), "empty dtype");
    if (prev != nullptr) {
      FuzzCheck(std::tie(prev->begin, prev->end) <= std::tie(t.begin, t.end), "tensors not sorted");
    }
    if (t.begin != t.end) {
      FuzzCheck(t.begin >= max_end, "non-empty tensors overlap");
      max_end = t.end;
    }
    if (t.element_bytes != 0) {
      FuzzCheck((t.end - t.begin) == t.parameters * t.element_bytes, "byte size != parameters * element_bytes");
    }
    prev = &t;
  }
  if (fmt == format::TensorFileFormat::kGguf) {
    FuzzCheck(h.gguf_version == 2 || h.gguf_version == 3, "GGUF version");
    FuzzCheck(h.gguf_alignment != 0 && (h.gguf_alignment & (h.gguf_alignment - 1)) == 0, "GGUF alignment");
  }
}

}  // namespace arca::fuzz

#endif  // ARCA_TESTS_FUZZ_TENSOR_HEADER_FUZZ_H_
