#include "format/tensor_header.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/file_system.h"

namespace arca::format {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// Helpers

MATCHER_P(HasCode, code, "") {
  if (arg.status().code() == code) return true;
  *result_listener << "status is " << arg.status().ToString();
  return false;
}
MATCHER(IsOk, "") {
  if (arg.ok()) return true;
  *result_listener << "status is " << arg.status().ToString();
  return false;
}

Result<TensorHeader> Parse(const Bytes& bytes, TensorFileFormat format, const TensorHeaderLimits& limits = {}) {
  auto file = NewMemoryFile(bytes, "model");
  return ReadTensorHeader(*file, format, "model", limits);
}
Result<TensorHeader> ParseSt(const Bytes& bytes, const TensorHeaderLimits& limits = {}) {
  return Parse(bytes, TensorFileFormat::kSafetensors, limits);
}
Result<TensorHeader> ParseGguf(const Bytes& bytes, const TensorHeaderLimits& limits = {}) {
  return Parse(bytes, TensorFileFormat::kGguf, limits);
}

// Safetensors builds "u64 LE header length | header | data".
Bytes Safetensors(const std::string& json, std::size_t data_bytes) {
  Bytes out(8 + json.size() + data_bytes);
  StoreLe64(out.data(), json.size());
  std::memcpy(out.data() + 8, json.data(), json.size());
  for (std::size_t i = 0; i < data_bytes; ++i) out[8 + json.size() + i] = std::uint8_t(i);
  return out;
}

// GgufBuilder writes GGUF fields by hand, little-endian, per gguf.md.
class GgufBuilder {
 public:
  GgufBuilder& Raw(std::string_view s) {
    b_.insert(b_.end(), s.begin(), s.end());
    return *this;
  }
  GgufBuilder& U8(std::uint8_t v) {
    b_.push_back(v);
    return *this;
  }
  GgufBuilder& U16(std::uint16_t v) { return U8(std::uint8_t(v)).U8(std::uint8_t(v >> 8)); }
  GgufBuilder& U32(std::uint32_t v) {
    std::uint8_t t[4];
    StoreLe32(t, v);
    b_.insert(b_.end(), t, t + 4);
    return *this;
  }
  GgufBuilder& U64(std::uint64_t v) {
    std::uint8_t t[8];
    StoreLe64(t, v);
    b_.insert(b_.end(), t, t + 8);
    return *this;
  }
  GgufBuilder& Str(std::string_view s) { return U64(s.size()).Raw(s); }
  GgufBuilder& Header(std::uint32_t version, std::uint64_t tensors, std::uint64_t kvs) {
    return Raw("GGUF").U32(version).U64(tensors).U64(kvs);
  }
  // Key followed by value type.
  GgufBuilder& Key(std::string_view key, std::uint32_t type) { return Str(key).U32(type); }
  GgufBuilder& Tensor(std::string_view name, std::vector<std::uint64_t> dims, std::uint32_t type,
                      std::uint64_t offset) {
    Str(name).U32(std::uint32_t(dims.size()));
    for (auto d : dims) U64(d);
    return U32(type).U64(offset);
  }
  GgufBuilder& PadTo(std::size_t alignment) {
    while (b_.size() % alignment != 0) b_.push_back(0);
    return *this;
  }
  GgufBuilder& Zeros(std::size_t n) {
    b_.insert(b_.end(), n, 0);
    return *this;
  }
  std::size_t size() const { return b_.size(); }
  Bytes bytes() const { return b_; }

 private:
  Bytes b_;
};

constexpr std::uint32_t kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32v = 6, kBool = 7, kString = 8,
                        kArray = 9, kU64 = 10, kI64 = 11, kF64v = 12;
constexpr std::uint32_t kGgmlF32 = 0, kGgmlF16 = 1, kGgmlQ4_0 = 2, kGgmlQ8_0 = 8, kGgmlQ4_K = 12, kGgmlBF16 = 30;

// A small valid GGUF v3 file: two tensors, default alignment.
Bytes SmallGguf(std::uint32_t version = 3) {
  GgufBuilder g;
  g.Header(version, 2, 1).Key("general.architecture", kString).Str("llama");
  g.Tensor("tok_embd.weight", {4, 2}, kGgmlF32, 0).Tensor("output.weight", {32}, kGgmlQ8_0, 32);
  g.PadTo(32).Zeros(32 + 34);
  return g.bytes();
}

// A file of `size` bytes whose first bytes are `prefix` (zeros after),
// counting how many bytes are read and how far. Stands in for multi-GB
// model files without allocating them.
class SparseFile : public RandomAccessFile {
 public:
  SparseFile(Bytes prefix, std::uint64_t size) : prefix_(std::move(prefix)), size_(size) {}
  Status ReadAt(std::uint64_t offset, std::span<std::uint8_t> out) const override {
    if (offset > size_ || out.size() > size_ - offset) return CorruptionError("read past end");
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = offset + i < prefix_.size() ? prefix_[offset + i] : 0;
    }
    bytes_read_ += out.size();
    max_end_ = std::max<std::uint64_t>(max_end_, offset + out.size());
    return Status::Ok();
  }
  std::uint64_t size() const override { return size_; }
  std::uint64_t bytes_read() const { return bytes_read_; }
  std::uint64_t max_end() const { return max_end_; }

 private:
  Bytes prefix_;
  std::uint64_t size_;
  mutable std::uint64_t bytes_read_ = 0;
  mutable std::uint64_t max_end_ = 0;
};

class FailingFile : public RandomAccessFile {
 public:
  Status ReadAt(std::uint64_t, std::span<std::uint8_t>) const override { return UnavailableError("disk went away"); }
  std::uint64_t size() const override { return 1 << 20; }
};

// ---------------------------------------------------------------------------
// LooksLikeTensorFile

TEST(LooksLikeTensorFile, RecognizesExtensions) {
  TensorFileFormat f;
  ASSERT_TRUE(LooksLikeTensorFile("a/model-00001-of-00002.safetensors", &f));
  EXPECT_EQ(f, TensorFileFormat::kSafetensors);
  ASSERT_TRUE(LooksLikeTensorFile("llama-Q4_K_M.gguf", &f));
  EXPECT_EQ(f, TensorFileFormat::kGguf);
  EXPECT_FALSE(LooksLikeTensorFile("model.bin", &f));
  EXPECT_FALSE(LooksLikeTensorFile("gguf", &f));
}

// ---------------------------------------------------------------------------
// safetensors: valid files

TEST(Safetensors, ParsesTensorsSortedByOffset) {
  // "a" is listed first but stored second.
  const std::string json =
      R"({"__metadata__":{"format":"pt"},)"
      R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[4,28]},)"
      R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})";
  auto r = ParseSt(Safetensors(json, 28));
  ASSERT_THAT(r, IsOk());
  const std::uint64_t base = 8 + json.size();
  EXPECT_EQ(r->format, TensorFileFormat::kSafetensors);
  EXPECT_EQ(r->data_begin, base);
  ASSERT_EQ(r->tensors.size(), 2u);
  EXPECT_EQ(r->tensors[0].name, "b");
  EXPECT_EQ(r->tensors[0].dtype, "BF16");
  EXPECT_EQ(r->tensors[0].begin, base);
  EXPECT_EQ(r->tensors[0].end, base + 4);
  EXPECT_EQ(r->tensors[0].element_bytes, 2u);
  EXPECT_EQ(r->tensors[0].parameters, 2u);
  EXPECT_EQ(r->tensors[1].name, "a");
  EXPECT_THAT(r->tensors[1].shape, ElementsAre(2, 3));
  EXPECT_EQ(r->tensors[1].begin, base + 4);
  EXPECT_EQ(r->tensors[1].end, base + 28);
  EXPECT_EQ(r->tensors[1].element_bytes, 4u);
  EXPECT_EQ(r->tensors[1].parameters, 6u);
  EXPECT_EQ(r->metadata.at("format"), "pt");
  EXPECT_EQ(r->gguf_version, 0u);
}

TEST(Safetensors, ParsesScalarAndEmptyTensors) {
  const std::string json =
      R"({"scalar":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
      R"("empty":{"dtype":"F16","shape":[0,5],"data_offsets":[8,8]}})";
  auto r = ParseSt(Safetensors(json, 8));
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->tensors.size(), 2u);
  EXPECT_EQ(r->tensors[0].name, "scalar");
  EXPECT_EQ(r->tensors[0].parameters, 1u);
  EXPECT_EQ(r->tensors[1].name, "empty");
  EXPECT_EQ(r->tensors[1].parameters, 0u);
  EXPECT_EQ(r->tensors[1].begin, r->tensors[1].end);
}

TEST(Safetensors, ParsesEmptyHeader) {
  auto r = ParseSt(Safetensors("{}      ", 0));  // the reference writer pads to 8 with spaces
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->tensors.empty());
  EXPECT_EQ(r->data_begin, 16u);
}

TEST(Safetensors, AcceptsEveryDtypeWithItsSize) {
  const std::vector<std::pair<std::string, std::uint32_t>> dtypes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"F8_E8M0", 1}, {"I16", 2},
      {"U16", 2},  {"F16", 2}, {"BF16", 2}, {"I32", 4},    {"U32", 4},     {"F32", 4},     {"I64", 8},
      {"U64", 8},  {"F64", 8}, {"C64", 8}};
  for (const auto& [name, size] : dtypes) {
    const std::string json = R"({"t":{"dtype":")" + name + R"(","shape":[3],"data_offsets":[0,)" +
                             std::to_string(3 * size) + "]}}";
    auto r = ParseSt(Safetensors(json, 3 * size));
    ASSERT_THAT(r, IsOk()) << name;
    EXPECT_EQ(r->tensors[0].element_bytes, size) << name;
    EXPECT_EQ(r->tensors[0].dtype, name);
  }
}

TEST(Safetensors, SubByteDtypesMustFillWholeBytes) {
  auto r = ParseSt(Safetensors(R"({"t":{"dtype":"F4","shape":[2,3],"data_offsets":[0,3]}})", 3));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->tensors[0].element_bytes, 0u);
  EXPECT_EQ(r->tensors[0].end - r->tensors[0].begin, 3u);
  auto f6 = ParseSt(Safetensors(R"({"t":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[0,3]}})", 3));
  EXPECT_THAT(f6, IsOk());
  auto odd = ParseSt(Safetensors(R"({"t":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", 2));
  EXPECT_THAT(odd, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(odd.status().message(), HasSubstr("whole bytes"));
}

TEST(Safetensors, AllowsGapsAndTrailingBytes) {
  auto r = ParseSt(Safetensors(R"({"t":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})", 10));
  EXPECT_THAT(r, IsOk());
}

TEST(Safetensors, ReadsOnlyTheHeader) {
  const std::string json = R"({"w":{"dtype":"F16","shape":[1073741824,4],"data_offsets":[0,8589934592]}})";
  Bytes prefix = Safetensors(json, 0);
  SparseFile file(prefix, prefix.size() + (8ull << 30));
  auto r = ReadTensorHeader(file, TensorFileFormat::kSafetensors, "big.safetensors");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->tensors[0].end, prefix.size() + (8ull << 30));
  EXPECT_EQ(file.max_end(), prefix.size());
}

// ---------------------------------------------------------------------------
// safetensors: malformed files, one test per defect

TEST(Safetensors, RejectsFileShorterThanLengthField) {
  auto r = ParseSt(Bytes{1, 0, 0});
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("model (safetensors)"));
}

TEST(Safetensors, RejectsHeaderLengthOverLimit) {
  Bytes b(8);
  StoreLe64(b.data(), 200ull << 20);
  EXPECT_THAT(ParseSt(b), HasCode(StatusCode::kResourceExhausted));
  TensorHeaderLimits small;
  small.max_header_bytes = 16;
  EXPECT_THAT(ParseSt(Safetensors(R"({"a":{"dtype":"U8","shape":[],"data_offsets":[0,1]}})", 1), small),
              HasCode(StatusCode::kResourceExhausted));
}

TEST(Safetensors, RejectsHeaderLengthPastEof) {
  Bytes b = Safetensors("{}", 0);
  StoreLe64(b.data(), 3);
  auto r = ParseSt(b);
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("past the end of the file"));
  StoreLe64(b.data(), ~0ull);  // also over the limit: the limit is checked first
  EXPECT_THAT(ParseSt(b), HasCode(StatusCode::kResourceExhausted));
}

TEST(Safetensors, RejectsBadJson) {
  auto r = ParseSt(Safetensors(R"({"a":{"dtype":"U8",)", 0));
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("JSON"));
}

TEST(Safetensors, RejectsNulPadding) {
  std::string json = "{}";
  json.push_back('\0');
  auto r = ParseSt(Safetensors(json, 0));
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("NUL byte at offset 10"));
}

TEST(Safetensors, RejectsDocumentHiddenAfterNul) {
  // A JSON reader that stops at NUL would see no tensors at all.
  std::string json = "{}";
  json.push_back('\0');
  json += R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  EXPECT_THAT(ParseSt(Safetensors(json, 1)), HasCode(StatusCode::kInvalidArgument));
}

TEST(Safetensors, RejectsInvalidUtf8) {
  EXPECT_THAT(ParseSt(Safetensors("{\"\xff\":{}}", 0)), HasCode(StatusCode::kInvalidArgument));
}

TEST(Safetensors, RejectsNonObjectRoot) {
  EXPECT_THAT(ParseSt(Safetensors("[]", 0)), HasCode(StatusCode::kInvalidArgument));
}

TEST(Safetensors, RejectsDuplicateKey) {
  auto r = ParseSt(Safetensors(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                               R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                               2));
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("duplicate key"));
}

TEST(Safetensors, RejectsUnknownDtype) {
  auto r = ParseSt(Safetensors(R"({"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}})", 16));
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("unknown dtype \"F128\""));
  EXPECT_THAT(r.status().message(), HasSubstr("tensor \"w\""));
}

TEST(Safetensors, RejectsLowerCaseDtype) {
  EXPECT_THAT(ParseSt(Safetensors(R"({"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", 4)),
              HasCode(StatusCode::kInvalidArgument));
}

TEST(Safetensors, RejectsUnknownField) {
  EXPECT_THAT(
      ParseSt(Safetensors(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"encoding":"x"}})", 1)),
      HasCode(StatusCode::kInvalidArgument));
}

TEST(Safetensors, RejectsMissingField) {
  EXPECT_THAT(ParseSt(Safetensors(R"({"w":{"dtype":"U8","data_offsets":[0,1]}})", 1)),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseSt(Safetensors(R"({"w":{"shape":[1],"data_offsets":[0,1]}})", 1)),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseSt(Safetensors(R"({"w":{"dtype":"U8","shape":[1]}})", 1)), HasCode(StatusCode::kInvalidArgument));
}

TEST(Safetensors, RejectsTensorThatIsNotAnObject) {
  EXPECT_THAT(ParseSt(Safetensors(R"({"w":[1,2]})", 0)), HasCode(StatusCode::kInvalidArgument));
}

TEST(Safetensors, RejectsNegativeOrFractionalShape) {
  EXPECT_THAT(ParseSt(Safetensors(R"({"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})", 0)),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseSt(Safetensors(R"({"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})", 1)),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseSt(Safetensors(R"({"w":{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}})", 1)),
              HasCode(StatusCode::kInvalidArgument));
}

TEST(Safetensors, RejectsShapeSizeMismatch) {
  auto r = ParseSt(Safetensors(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", 16));
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("needs 16"));
}

TEST(Safetensors, RejectsMalformedDataOffsets) {
  EXPECT_THAT(ParseSt(Safetensors(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}})", 1)),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseSt(Safetensors(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}})", 2)),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseSt(Safetensors(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}})", 1)),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseSt(Safetensors(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1e0]}})", 1)),
              HasCode(StatusCode::kInvalidArgument));
}

TEST(Safetensors, RejectsOverlappingTensors) {
  auto r = ParseSt(Safetensors(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                               R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                               6));
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("overlaps"));
}

TEST(Safetensors, RejectsTensorInsideAnother) {
  EXPECT_THAT(ParseSt(Safetensors(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                                  R"("b":{"dtype":"U8","shape":[1],"data_offsets":[3,4]},)"
                                  R"("c":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})",
                                  8)),
              HasCode(StatusCode::kInvalidArgument));
}

TEST(Safetensors, RejectsIdenticalRanges) {
  EXPECT_THAT(ParseSt(Safetensors(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                                  R"("b":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}})",
                                  2)),
              HasCode(StatusCode::kInvalidArgument));
}

TEST(Safetensors, RejectsOffsetsPastEof) {
  auto r = ParseSt(Safetensors(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 15));
  EXPECT_THAT(r, HasCode(StatusCode::kCorruption));
  EXPECT_THAT(r.status().message(), HasSubstr("past the end of the file"));
}

TEST(Safetensors, RejectsOffsetsNearUint64Max) {
  // begin + data_begin would wrap around.
  EXPECT_THAT(ParseSt(Safetensors(R"({"w":{"dtype":"U8","shape":[1],)"
                                  R"("data_offsets":[18446744073709551614,18446744073709551615]}})",
                                  1)),
              HasCode(StatusCode::kCorruption));
}

TEST(Safetensors, RejectsShapeProductOverflow) {
  auto r = ParseSt(Safetensors(
      R"({"w":{"dtype":"U8","shape":[4294967296,4294967296,2],"data_offsets":[0,0]}})", 0));
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("overflows"));
}

TEST(Safetensors, RejectsByteSizeOverflow) {
  // 2^62 elements fit in 64 bits; 2^62 * 8 bytes do not. Wrapping would give 0.
  auto r = ParseSt(Safetensors(R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})", 0));
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("overflows"));
}

TEST(Safetensors, ZeroDimensionWinsOverHugeDimensions) {
  EXPECT_THAT(ParseSt(Safetensors(
                  R"({"w":{"dtype":"U8","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})", 0)),
              IsOk());
}

TEST(Safetensors, RejectsTooManyDims) {
  EXPECT_THAT(ParseSt(Safetensors(R"({"w":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}})", 1)),
              HasCode(StatusCode::kResourceExhausted));
}

TEST(Safetensors, RejectsTooManyTensors) {
  TensorHeaderLimits limits;
  limits.max_tensors = 1;
  EXPECT_THAT(ParseSt(Safetensors(R"({"__metadata__":{},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1),
                      limits),
              IsOk());
  EXPECT_THAT(ParseSt(Safetensors(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                  R"("b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                                  2),
                      limits),
              HasCode(StatusCode::kResourceExhausted));
}

TEST(Safetensors, RejectsLongName) {
  TensorHeaderLimits limits;
  limits.max_name_bytes = 4;
  EXPECT_THAT(ParseSt(Safetensors(R"({"abcde":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1), limits),
              HasCode(StatusCode::kResourceExhausted));
}

TEST(Safetensors, RejectsNonStringMetadata) {
  EXPECT_THAT(ParseSt(Safetensors(R"({"__metadata__":{"n":1}})", 0)), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseSt(Safetensors(R"({"__metadata__":"pt"})", 0)), HasCode(StatusCode::kInvalidArgument));
}

TEST(Safetensors, RejectsDeepJson) {
  std::string json = R"({"__metadata__":)";
  for (int i = 0; i < 100; ++i) json += "[";
  for (int i = 0; i < 100; ++i) json += "]";
  json += "}";
  EXPECT_THAT(ParseSt(Safetensors(json, 0)), HasCode(StatusCode::kResourceExhausted));
}

TEST(Safetensors, ErrorNamesFileTensorAndOffsets) {
  auto file = NewMemoryFile(Safetensors(R"({"layer.0":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 2));
  auto r = ReadTensorHeader(*file, TensorFileFormat::kSafetensors, "weights/model.safetensors");
  ASSERT_THAT(r, HasCode(StatusCode::kCorruption));
  EXPECT_THAT(r.status().message(), HasSubstr("weights/model.safetensors"));
  EXPECT_THAT(r.status().message(), HasSubstr("tensor \"layer.0\""));
  EXPECT_THAT(r.status().message(), HasSubstr("[0, 4)"));
}

TEST(Safetensors, ErrorEscapesHostileNames) {
  auto r = ParseSt(Safetensors("{\"a\\u0001\\\"b\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,0]}}", 0));
  ASSERT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr(R"("a\x01\"b")"));
}

TEST(Safetensors, EveryTruncationFailsCleanly) {
  Bytes full = Safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8);
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto r = ParseSt(Bytes(full.begin(), full.begin() + n));
    EXPECT_FALSE(r.ok()) << n;
  }
}

TEST(Safetensors, PassesIoErrorsThrough) {
  FailingFile file;
  EXPECT_THAT(ReadTensorHeader(file, TensorFileFormat::kSafetensors, "x"), HasCode(StatusCode::kUnavailable));
}

// ---------------------------------------------------------------------------
// GGUF: valid files

TEST(Gguf, ParsesSmallV3File) {
  Bytes b = SmallGguf();
  auto r = ParseGguf(b);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->format, TensorFileFormat::kGguf);
  EXPECT_EQ(r->gguf_version, 3u);
  EXPECT_EQ(r->gguf_alignment, 32u);
  EXPECT_EQ(r->data_begin % 32, 0u);
  EXPECT_EQ(r->data_begin + 32 + 34, b.size());
  ASSERT_EQ(r->tensors.size(), 2u);
  EXPECT_EQ(r->tensors[0].name, "tok_embd.weight");
  EXPECT_EQ(r->tensors[0].dtype, "F32");
  EXPECT_THAT(r->tensors[0].shape, ElementsAre(4, 2));
  EXPECT_EQ(r->tensors[0].begin, r->data_begin);
  EXPECT_EQ(r->tensors[0].end, r->data_begin + 32);
  EXPECT_EQ(r->tensors[0].element_bytes, 4u);
  EXPECT_EQ(r->tensors[0].parameters, 8u);
  EXPECT_EQ(r->tensors[1].dtype, "Q8_0");
  EXPECT_EQ(r->tensors[1].begin, r->data_begin + 32);
  EXPECT_EQ(r->tensors[1].end, r->data_begin + 32 + 34);
  EXPECT_EQ(r->tensors[1].element_bytes, 0u);
  EXPECT_TRUE(r->metadata.empty());
}

TEST(Gguf, ParsesV2) {
  auto r = ParseGguf(SmallGguf(2));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->gguf_version, 2u);
}

TEST(Gguf, SkipsMetadataOfEveryType) {
  GgufBuilder g;
  g.Header(3, 1, 17);
  g.Key("a.u8", kU8).U8(1);
  g.Key("a.i8", kI8).U8(0xff);
  g.Key("a.u16", kU16).U16(7);
  g.Key("a.i16", kI16).U16(0xfffe);
  g.Key("a.u32", kU32).U32(9);
  g.Key("a.i32", kI32).U32(0xfffffff0);
  g.Key("a.f32", kF32v).U32(0x3f800000);
  g.Key("a.bool", kBool).U8(1);
  g.Key("a.string", kString).Str("hello");
  g.Key("a.u64", kU64).U64(1ull << 40);
  g.Key("a.i64", kI64).U64(~0ull);
  g.Key("a.f64", kF64v).U64(0x3ff0000000000000ull);
  g.Key("a.u32_array", kArray).U32(kU32).U64(3).U32(1).U32(2).U32(3);
  g.Key("a.bool_array", kArray).U32(kBool).U64(3).U8(0).U8(1).U8(0);
  g.Key("tokenizer.ggml.tokens", kArray).U32(kString).U64(3).Str("<s>").Str("").Str("hi");
  // [[1, 2], ["x"]]: arrays of arrays are in the spec even though ggml does not write them.
  g.Key("a.nested", kArray).U32(kArray).U64(2);
  g.U32(kI16).U64(2).U16(1).U16(2);
  g.U32(kString).U64(1).Str("x");
  g.Key("a.empty_array", kArray).U32(kF64v).U64(0);
  g.Tensor("w", {256, 2}, kGgmlQ4_K, 0).PadTo(32).Zeros(2 * 144);
  auto r = ParseGguf(g.bytes());
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->tensors.size(), 1u);
  EXPECT_EQ(r->tensors[0].dtype, "Q4_K");
  EXPECT_EQ(r->tensors[0].end - r->tensors[0].begin, 288u);
  EXPECT_EQ(r->tensors[0].parameters, 512u);
}

TEST(Gguf, HonorsGeneralAlignment) {
  GgufBuilder g;
  g.Header(3, 2, 1).Key("general.alignment", kU32).U32(64);
  g.Tensor("a", {3}, kGgmlF16, 0).Tensor("b", {2}, kGgmlBF16, 64);
  g.PadTo(64);
  const std::size_t data_begin = g.size();
  g.Zeros(64 + 4);
  auto r = ParseGguf(g.bytes());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->gguf_alignment, 64u);
  EXPECT_EQ(r->data_begin, data_begin);
  EXPECT_EQ(r->tensors[0].end, data_begin + 6);
  EXPECT_EQ(r->tensors[1].begin, data_begin + 64);
  EXPECT_EQ(r->tensors[1].dtype, "BF16");
  EXPECT_EQ(r->tensors[1].element_bytes, 2u);
}

TEST(Gguf, NoTensorsNeedNoPadding) {
  GgufBuilder g;
  g.Header(3, 0, 1).Key("general.architecture", kString).Str("x");
  auto r = ParseGguf(g.bytes());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->data_begin, g.size());
  EXPECT_TRUE(r->tensors.empty());
}

TEST(Gguf, ScalarTensorHasOneElement) {
  GgufBuilder g;
  g.Header(3, 1, 0).Tensor("s", {}, 27 /* I64 */, 0).PadTo(32).Zeros(8);
  auto r = ParseGguf(g.bytes());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->tensors[0].parameters, 1u);
  EXPECT_EQ(r->tensors[0].dtype, "I64");
  EXPECT_EQ(r->tensors[0].element_bytes, 8u);
}

TEST(Gguf, BlockTypesHaveGgmlSizes) {
  // (type id, name, block elements, block bytes) from ggml's type traits.
  struct Case {
    std::uint32_t id;
    const char* name;
    std::uint64_t block;
    std::uint64_t bytes;
  };
  const Case cases[] = {{2, "Q4_0", 32, 18},     {3, "Q4_1", 32, 20},     {6, "Q5_0", 32, 22},
                        {7, "Q5_1", 32, 24},     {8, "Q8_0", 32, 34},     {9, "Q8_1", 32, 40},
                        {10, "Q2_K", 256, 84},   {11, "Q3_K", 256, 110},  {12, "Q4_K", 256, 144},
                        {13, "Q5_K", 256, 176},  {14, "Q6_K", 256, 210},  {15, "Q8_K", 256, 292},
                        {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74}, {18, "IQ3_XXS", 256, 98},
                        {19, "IQ1_S", 256, 50},  {20, "IQ4_NL", 32, 18},  {21, "IQ3_S", 256, 110},
                        {22, "IQ2_S", 256, 82},  {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1},
                        {25, "I16", 1, 2},       {26, "I32", 1, 4},       {27, "I64", 1, 8},
                        {28, "F64", 1, 8},       {29, "IQ1_M", 256, 56},  {30, "BF16", 1, 2},
                        {34, "TQ1_0", 256, 54},  {35, "TQ2_0", 256, 66},  {39, "MXFP4", 32, 17},
                        {40, "NVFP4", 64, 36},   {41, "Q1_0", 128, 18},   {0, "F32", 1, 4},
                        {1, "F16", 1, 2}};
  for (const Case& c : cases) {
    GgufBuilder g;
    g.Header(3, 1, 0).Tensor("t", {c.block * 2, 3}, c.id, 0).PadTo(32).Zeros(6 * c.bytes);
    auto r = ParseGguf(g.bytes());
    ASSERT_THAT(r, IsOk()) << c.name;
    EXPECT_EQ(r->tensors[0].dtype, c.name);
    EXPECT_EQ(r->tensors[0].end - r->tensors[0].begin, 6 * c.bytes) << c.name;
    EXPECT_EQ(r->tensors[0].element_bytes, c.block == 1 ? c.bytes : 0) << c.name;
  }
}

TEST(Gguf, ReadsOnlyTheHeaderOfAHugeFile) {
  GgufBuilder g;
  g.Header(3, 2, 0).Tensor("a", {1ull << 30}, kGgmlF32, 0).Tensor("b", {1ull << 30}, kGgmlF32, 4ull << 30);
  g.PadTo(32);
  const std::uint64_t data_begin = g.size();
  SparseFile file(g.bytes(), data_begin + (8ull << 30));
  auto r = ReadTensorHeader(file, TensorFileFormat::kGguf, "huge.gguf");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->tensors[1].end, file.size());
  // One read-ahead window at most, never the tensor data.
  EXPECT_LE(file.max_end(), data_begin + 64 * 1024);
  EXPECT_LE(file.bytes_read(), 64u * 1024);
}

TEST(Gguf, ParsesHeaderLargerThanTheReadAheadWindow) {
  // Fields of every width straddle the 64 KiB window boundaries somewhere in
  // 6000 KVs of growing size, then a tensor info follows.
  GgufBuilder g;
  g.Header(3, 1, 6000);
  for (int i = 0; i < 6000; ++i) {
    g.Key("k." + std::to_string(i), kArray).U32(kString).U64(2).Str(std::string(i % 23, 'x')).Str("y");
  }
  g.Tensor("after.the.window", {5}, kGgmlF32, 0).PadTo(32);
  const std::size_t data_begin = g.size();
  ASSERT_GT(data_begin, 2u * 64 * 1024);
  g.Zeros(20);
  auto r = ParseGguf(g.bytes());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->data_begin, data_begin);
  EXPECT_EQ(r->tensors[0].name, "after.the.window");
  // Every prefix that cuts the header fails cleanly, wherever the window is.
  Bytes b = g.bytes();
  for (std::size_t n = 64 * 1024 - 40; n < 64 * 1024 + 40; ++n) {
    EXPECT_THAT(ParseGguf(Bytes(b.begin(), b.begin() + n)), HasCode(StatusCode::kInvalidArgument)) << n;
  }
}

// ---------------------------------------------------------------------------
// GGUF: malformed files, one test per defect

TEST(Gguf, RejectsBadMagic) {
  Bytes b = SmallGguf();
  b[0] = 'g';
  auto r = ParseGguf(b);
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("magic"));
  EXPECT_THAT(r.status().message(), HasSubstr("model (GGUF)"));
}

TEST(Gguf, RejectsEmptyFile) { EXPECT_THAT(ParseGguf({}), HasCode(StatusCode::kInvalidArgument)); }

TEST(Gguf, RejectsVersion1) {
  auto r = ParseGguf(SmallGguf(1));
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("version 1"));
}

TEST(Gguf, RejectsUnknownVersion) {
  EXPECT_THAT(ParseGguf(SmallGguf(4)), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseGguf(SmallGguf(0)), HasCode(StatusCode::kInvalidArgument));
}

TEST(Gguf, RejectsBigEndianFile) {
  auto r = ParseGguf(SmallGguf(0x03000000));
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("big-endian"));
}

TEST(Gguf, RejectsHugeTensorCount) {
  GgufBuilder g;
  g.Header(3, ~0ull, 0);
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kResourceExhausted));
}

TEST(Gguf, RejectsTensorCountTheFileCannotHold) {
  GgufBuilder g;
  g.Header(3, 1000, 0).Tensor("a", {1}, kGgmlF32, 0);
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kInvalidArgument));
}

TEST(Gguf, RejectsHugeKvCount) {
  GgufBuilder g;
  g.Header(3, 0, 1ull << 62);
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kResourceExhausted));
}

TEST(Gguf, RejectsKvCountTheFileCannotHold) {
  GgufBuilder g;
  g.Header(3, 0, 3).Key("a.b", kU8).U8(1);
  auto r = ParseGguf(g.bytes());
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("metadata kv #1"));
}

TEST(Gguf, RejectsStringLengthPastEof) {
  GgufBuilder g;
  g.Header(3, 0, 1).Key("general.name", kString).U64(1000).Raw("abc");
  auto r = ParseGguf(g.bytes());
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("needs 1000 bytes"));
  EXPECT_THAT(r.status().message(), HasSubstr("\"general.name\""));
}

TEST(Gguf, RejectsStringLengthNearUint64Max) {
  GgufBuilder g;
  g.Header(3, 0, 1).Key("general.name", kString).U64(~0ull - 3);
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kInvalidArgument));
}

TEST(Gguf, RejectsKeyLengthPastEof) {
  GgufBuilder g;
  g.Header(3, 0, 1).U64(60000).Raw("general");
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kInvalidArgument));
}

TEST(Gguf, RejectsOverlongKey) {
  GgufBuilder g;
  g.Header(3, 0, 1).U64(70000);
  auto r = ParseGguf(g.bytes());
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("1..65535"));
}

TEST(Gguf, RejectsEmptyKey) {
  GgufBuilder g;
  g.Header(3, 0, 1).Key("", kU8).U8(0);
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kInvalidArgument));
}

TEST(Gguf, RejectsNonAsciiKey) {
  GgufBuilder g;
  g.Header(3, 0, 1).Key("a\nb", kU8).U8(0);
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kInvalidArgument));
}

TEST(Gguf, RejectsDuplicateKey) {
  GgufBuilder g;
  g.Header(3, 0, 2).Key("general.name", kString).Str("a").Key("general.name", kString).Str("b");
  auto r = ParseGguf(g.bytes());
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("duplicate key \"general.name\""));
}

TEST(Gguf, RejectsUnknownValueType) {
  GgufBuilder g;
  g.Header(3, 0, 1).Key("a.b", 13).U64(0);
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kInvalidArgument));
}

TEST(Gguf, RejectsUnknownArrayElementType) {
  GgufBuilder g;
  g.Header(3, 0, 1).Key("a.b", kArray).U32(0xffffffff).U64(0);
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kInvalidArgument));
}

TEST(Gguf, RejectsBoolOtherThanZeroOrOne) {
  GgufBuilder g;
  g.Header(3, 0, 1).Key("a.b", kBool).U8(2);
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kInvalidArgument));
  GgufBuilder a;
  a.Header(3, 0, 1).Key("a.b", kArray).U32(kBool).U64(3).U8(1).U8(0).U8(7);
  auto r = ParseGguf(a.bytes());
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("is 7"));
}

TEST(Gguf, RejectsHugeArrayLength) {
  GgufBuilder g;
  g.Header(3, 0, 1).Key("a.b", kArray).U32(kU8).U64(1ull << 62).Zeros(16);
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kInvalidArgument));
}

TEST(Gguf, RejectsArrayByteSizeOverflow) {
  GgufBuilder g;
  g.Header(3, 0, 1).Key("a.b", kArray).U32(kU64).U64(1ull << 61).Zeros(16);
  auto r = ParseGguf(g.bytes());
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("overflows"));
}

TEST(Gguf, RejectsHugeStringArrayBeforeLooping) {
  GgufBuilder g;
  g.Header(3, 0, 1).Key("tokenizer.ggml.tokens", kArray).U32(kString).U64(~0ull / 2).Str("a");
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kInvalidArgument));
}

TEST(Gguf, RejectsDeepNestedArrays) {
  GgufBuilder g;
  g.Header(3, 0, 1).Key("a.b", kArray);
  for (int i = 0; i < 1000; ++i) g.U32(kArray).U64(1);
  g.U32(kU8).U64(0);
  auto r = ParseGguf(g.bytes());
  EXPECT_THAT(r, HasCode(StatusCode::kResourceExhausted));
  EXPECT_THAT(r.status().message(), HasSubstr("nests deeper than 8"));
}

TEST(Gguf, AcceptsNestingUpToTheLimit) {
  TensorHeaderLimits limits;
  limits.max_array_depth = 3;
  auto nested = [](int depth) {
    GgufBuilder g;
    g.Header(3, 0, 1).Key("a.b", kArray);
    for (int i = 1; i < depth; ++i) g.U32(kArray).U64(1);
    g.U32(kU8).U64(1).U8(5);
    return g.bytes();
  };
  EXPECT_THAT(ParseGguf(nested(3), limits), IsOk());
  EXPECT_THAT(ParseGguf(nested(4), limits), HasCode(StatusCode::kResourceExhausted));
}

TEST(Gguf, RejectsAlignmentNotPowerOfTwo) {
  GgufBuilder g;
  g.Header(3, 0, 1).Key("general.alignment", kU32).U32(48);
  auto r = ParseGguf(g.bytes());
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("power of two"));
}

TEST(Gguf, RejectsZeroAlignment) {
  GgufBuilder g;
  g.Header(3, 0, 1).Key("general.alignment", kU32).U32(0);
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kInvalidArgument));
}

TEST(Gguf, RejectsAlignmentOfWrongType) {
  GgufBuilder g;
  g.Header(3, 0, 1).Key("general.alignment", kU64).U64(32);
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kInvalidArgument));
}

TEST(Gguf, RejectsUnknownGgmlType) {
  for (std::uint32_t id : {4u, 5u, 31u, 36u, 42u, 0xffffffffu}) {
    GgufBuilder g;
    g.Header(3, 1, 0).Tensor("t", {32}, id, 0).PadTo(32).Zeros(1024);
    auto r = ParseGguf(g.bytes());
    EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument)) << id;
    EXPECT_THAT(r.status().message(), HasSubstr("unknown ggml type"));
  }
}

TEST(Gguf, RejectsRowNotMultipleOfBlock) {
  GgufBuilder g;
  g.Header(3, 1, 0).Tensor("t", {33, 32}, kGgmlQ4_0, 0).PadTo(32).Zeros(1024);
  auto r = ParseGguf(g.bytes());
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("block size 32"));
}

TEST(Gguf, RejectsMisalignedOffset) {
  GgufBuilder g;
  g.Header(3, 1, 0).Tensor("t", {1}, kGgmlF32, 4).PadTo(32).Zeros(64);
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kInvalidArgument));
}

TEST(Gguf, RejectsDuplicateTensorName) {
  GgufBuilder g;
  g.Header(3, 2, 0).Tensor("t", {1}, kGgmlF32, 0).Tensor("t", {1}, kGgmlF32, 32).PadTo(32).Zeros(64);
  auto r = ParseGguf(g.bytes());
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("duplicate tensor name"));
}

TEST(Gguf, RejectsTensorNameThatIsNotUtf8) {
  for (std::string name : {std::string("w\xff"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
                           std::string("a\xe2\x82"), std::string("a\0b", 3)}) {
    GgufBuilder g;
    g.Header(3, 1, 0).Tensor(name, {1}, kGgmlF32, 0).PadTo(32).Zeros(32);
    auto r = ParseGguf(g.bytes());
    EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
    EXPECT_THAT(r.status().message(), HasSubstr("not UTF-8"));
  }
  GgufBuilder ok;
  ok.Header(3, 1, 0).Tensor("blk.0.\xc3\xa9\xf0\x9f\x98\x80", {1}, kGgmlF32, 0).PadTo(32).Zeros(32);
  EXPECT_THAT(ParseGguf(ok.bytes()), IsOk());
}

TEST(Gguf, RejectsTooManyDims) {
  GgufBuilder g;
  g.Header(3, 1, 0).Tensor("t", {1, 1, 1, 1, 1, 1, 1, 1, 1}, kGgmlF32, 0).PadTo(32).Zeros(32);
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kResourceExhausted));
  GgufBuilder huge;
  huge.Header(3, 1, 0).Str("t").U32(0xffffffff);
  EXPECT_THAT(ParseGguf(huge.bytes()), HasCode(StatusCode::kResourceExhausted));
}

TEST(Gguf, RejectsNegativeDimension) {
  GgufBuilder g;
  g.Header(3, 1, 0).Tensor("t", {~0ull}, kGgmlF32, 0).PadTo(32);
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kInvalidArgument));
}

TEST(Gguf, RejectsElementCountOverflow) {
  GgufBuilder g;
  g.Header(3, 1, 0).Tensor("t", {1ull << 32, 1ull << 32}, kGgmlF32, 0).PadTo(32);
  auto r = ParseGguf(g.bytes());
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("overflows"));
}

TEST(Gguf, RejectsByteSizeOverflow) {
  GgufBuilder g;
  g.Header(3, 1, 0).Tensor("t", {1ull << 62}, 28 /* F64 */, 0).PadTo(32);
  auto r = ParseGguf(g.bytes());
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("overflows 64 bits"));
}

TEST(Gguf, RejectsTensorPastEof) {
  GgufBuilder g;
  g.Header(3, 1, 0).Tensor("w", {8}, kGgmlF32, 0).PadTo(32).Zeros(31);
  auto r = ParseGguf(g.bytes());
  EXPECT_THAT(r, HasCode(StatusCode::kCorruption));
  EXPECT_THAT(r.status().message(), HasSubstr("tensor \"w\""));
}

TEST(Gguf, RejectsOffsetNearUint64Max) {
  GgufBuilder g;
  g.Header(3, 1, 0).Tensor("w", {8}, kGgmlF32, ~0ull - 31).PadTo(32).Zeros(32);
  EXPECT_THAT(ParseGguf(g.bytes()), HasCode(StatusCode::kCorruption));
}

TEST(Gguf, RejectsDataSectionPastEof) {
  GgufBuilder g;
  g.Header(3, 1, 0).Tensor("w", {0}, kGgmlF32, 0);
  if (g.size() % 32 == 0) g.Zeros(1);  // make sure padding is needed
  auto r = ParseGguf(g.bytes());
  EXPECT_THAT(r, HasCode(StatusCode::kCorruption));
  EXPECT_THAT(r.status().message(), HasSubstr("data section"));
}

TEST(Gguf, RejectsOverlappingTensors) {
  GgufBuilder g;
  g.Header(3, 2, 0).Tensor("a", {16}, kGgmlF32, 0).Tensor("b", {16}, kGgmlF32, 32).PadTo(32).Zeros(128);
  auto r = ParseGguf(g.bytes());
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), HasSubstr("overlaps"));
}

TEST(Gguf, RejectsLongTensorName) {
  TensorHeaderLimits limits;
  limits.max_name_bytes = 8;
  GgufBuilder g;
  g.Header(3, 1, 0).Tensor("blk.0.attn_q.weight", {1}, kGgmlF32, 0).PadTo(32).Zeros(32);
  EXPECT_THAT(ParseGguf(g.bytes(), limits), HasCode(StatusCode::kResourceExhausted));
}

TEST(Gguf, RejectsHeaderOverLimit) {
  TensorHeaderLimits limits;
  limits.max_header_bytes = 64;
  GgufBuilder g;
  g.Header(3, 0, 1).Key("general.description", kString).Str(std::string(100, 'x'));
  auto r = ParseGguf(g.bytes(), limits);
  EXPECT_THAT(r, HasCode(StatusCode::kResourceExhausted));
  EXPECT_THAT(r.status().message(), HasSubstr("64-byte header limit"));
}

TEST(Gguf, EveryTruncationFailsCleanly) {
  Bytes full = SmallGguf();
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto r = ParseGguf(Bytes(full.begin(), full.begin() + n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_TRUE(r.status().code() == StatusCode::kInvalidArgument || r.status().code() == StatusCode::kCorruption)
        << n << ": " << r.status().ToString();
  }
}

TEST(Gguf, PassesIoErrorsThrough) {
  FailingFile file;
  auto r = ReadTensorHeader(file, TensorFileFormat::kGguf, "x.gguf");
  EXPECT_THAT(r, HasCode(StatusCode::kUnavailable));
  EXPECT_THAT(r.status().message(), HasSubstr("x.gguf"));
}

// ---------------------------------------------------------------------------
// The fuzz seed corpora (tests/fuzz/make_seed_corpus.py) double as vectors:
// every seed_valid_* parses and every seed_bad_* is refused.

void CheckSeeds(const std::string& corpus, TensorFileFormat format) {
  const std::filesystem::path dir = std::filesystem::path(ARCA_SOURCE_DIR) / "tests/fuzz/corpus" / corpus;
  int valid = 0, bad = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    if (!file.starts_with("seed_")) continue;  // fuzzer-found inputs may go either way
    std::ifstream in(entry.path(), std::ios::binary);
    Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto r = Parse(bytes, format);
    if (file.starts_with("seed_valid_")) {
      EXPECT_THAT(r, IsOk()) << file;
      ++valid;
    } else {
      EXPECT_FALSE(r.ok()) << file;
      ++bad;
    }
  }
  EXPECT_GE(valid, 3) << corpus;
  EXPECT_GE(bad, 10) << corpus;
}

TEST(FuzzSeeds, SafetensorsSeedsParseAsNamed) { CheckSeeds("safetensors_header", TensorFileFormat::kSafetensors); }
TEST(FuzzSeeds, GgufSeedsParseAsNamed) { CheckSeeds("gguf_header", TensorFileFormat::kGguf); }

}  // namespace
}  // namespace arca::format
