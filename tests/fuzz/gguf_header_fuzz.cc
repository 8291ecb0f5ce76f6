// Fuzz target: bytes -> GGUF file -> ReadTensorHeader.
#include "tests/fuzz/tensor_header_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  arca::fuzz::FuzzTensorHeader(data, size, arca::format::TensorFileFormat::kGguf);
  return 0;
}
