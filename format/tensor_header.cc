// Parsers for the tensor headers of safetensors and GGUF files.
//
// Both parsers treat the file as hostile: every length and count is checked
// against a limit and against the bytes that remain before anything is
// allocated or looped over, all offset arithmetic is overflow-checked, and
// only the header is read (through RandomAccessFile::ReadAt), never tensor
// data. Internal errors are phrased without the file name; ReadTensorHeader
// adds it once as context.
#include "format/tensor_header.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>
#include <span>
#include <string_view>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/bytes.h"
#include "base/json.h"

namespace arca::format {
namespace {

constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kI64Max = std::uint64_t(std::numeric_limits<std::int64_t>::max());

std::string Num(std::uint64_t v) { return std::to_string(v); }

// Quote renders an untrusted name for an error message: printable ASCII only,
// at most 64 bytes of it.
std::string Quote(std::string_view s) {
  constexpr std::size_t kMaxShown = 64;
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > kMaxShown) out += "...";
  out += '"';
  return out;
}

std::string ShapeString(const std::vector<std::uint64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += Num(shape[i]);
  }
  return s + "]";
}

// ShapeProduct multiplies the dimensions; false on overflow. A zero anywhere
// makes the product zero whatever the other dimensions are.
bool ShapeProduct(const std::vector<std::uint64_t>& shape, std::uint64_t* product) {
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) {
    *product = 0;
    return true;
  }
  std::uint64_t p = 1;
  for (std::uint64_t d : shape) {
    if (__builtin_mul_overflow(p, d, &p)) return false;
  }
  *product = p;
  return true;
}

// ValidUtf8 is strict RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF.
bool ValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n;
    std::uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i - 1 < n) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// FinishLayout sorts the tensors by range and refuses overlapping non-empty
// ranges. Callers have already checked every range against the file.
Status FinishLayout(std::vector<TensorInfo>& tensors) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  const TensorInfo* last = nullptr;  // the non-empty tensor reaching furthest
  for (const TensorInfo& t : tensors) {
    if (t.begin == t.end) continue;
    if (last != nullptr && t.begin < last->end) {
      return InvalidArgumentError("tensor " + Quote(t.name) + " at bytes [" + Num(t.begin) + ", " + Num(t.end) +
                                  ") overlaps tensor " + Quote(last->name) + " at bytes [" + Num(last->begin) +
                                  ", " + Num(last->end) + ")");
    }
    if (last == nullptr || t.end > last->end) last = &t;
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// safetensors: https://github.com/huggingface/safetensors#format
//   u64 LE N | N bytes of JSON (UTF-8, may end in spaces) | data
// The JSON maps tensor names to {"dtype", "shape", "data_offsets": [b, e]}
// with [b, e) relative to the data region at 8 + N, plus an optional
// "__metadata__" object of strings.

struct SafetensorsDtype {
  std::string_view name;
  std::uint32_t bits;  // per element
};

// The dtypes of the reference implementation (safetensors/src/tensor.rs).
// F4 and F6_* pack elements below a byte: a tensor of them must fill whole
// bytes.
constexpr std::array<SafetensorsDtype, 20> kSafetensorsDtypes = {{
    {"BOOL", 8},  {"U8", 8},    {"I8", 8},      {"F8_E5M2", 8}, {"F8_E4M3", 8},
    {"F8_E8M0", 8}, {"I16", 16}, {"U16", 16},   {"F16", 16},    {"BF16", 16},
    {"I32", 32},  {"U32", 32},  {"F32", 32},    {"I64", 64},    {"U64", 64},
    {"F64", 64},  {"C64", 64},  {"F4", 4},      {"F6_E2M3", 6}, {"F6_E3M2", 6},
}};

const SafetensorsDtype* FindSafetensorsDtype(std::string_view name) {
  for (const auto& d : kSafetensorsDtypes) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

// JsonUint reads a non-negative JSON integer (no floats, no negatives).
bool JsonUint(const Json& v, std::uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<std::uint64_t>();
    return true;
  }
  if (v.is_number_integer()) {
    std::int64_t i = v.get<std::int64_t>();
    if (i < 0) return false;
    *out = std::uint64_t(i);
    return true;
  }
  return false;
}

Status ParseSafetensorsTensor(const std::string& tensor_name, const Json& entry, std::uint64_t data_begin,
                              std::uint64_t file_size, const TensorHeaderLimits& limits, TensorInfo* out) {
  const std::string where = "tensor " + Quote(tensor_name);
  if (tensor_name.size() > limits.max_name_bytes) {
    return ResourceExhaustedError(where + ": name is " + Num(tensor_name.size()) + " bytes, over the limit of " +
                                  Num(limits.max_name_bytes));
  }
  if (!entry.is_object()) return InvalidArgumentError(where + " must be an object");
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(entry, {"dtype", "shape", "data_offsets"}, where));

  ARCA_ASSIGN_OR_RETURN(std::string dtype_name, RequireString(entry, "dtype", where));
  const SafetensorsDtype* dtype = FindSafetensorsDtype(dtype_name);
  if (dtype == nullptr) return InvalidArgumentError(where + ": unknown dtype " + Quote(dtype_name));

  ARCA_ASSIGN_OR_RETURN(const Json* shape_json, RequireArray(entry, "shape", where));
  if (shape_json->size() > limits.max_dims) {
    return ResourceExhaustedError(where + ": shape has " + Num(shape_json->size()) + " dimensions, over the limit of " +
                                  Num(limits.max_dims));
  }
  std::vector<std::uint64_t> shape;
  shape.reserve(shape_json->size());
  for (std::size_t i = 0; i < shape_json->size(); ++i) {
    std::uint64_t d;
    if (!JsonUint((*shape_json)[i], &d)) {
      return InvalidArgumentError(where + ": shape[" + Num(i) + "] must be a non-negative integer");
    }
    shape.push_back(d);
  }

  ARCA_ASSIGN_OR_RETURN(const Json* offsets, RequireArray(entry, "data_offsets", where));
  std::uint64_t rel_begin = 0, rel_end = 0;
  if (offsets->size() != 2 || !JsonUint((*offsets)[0], &rel_begin) || !JsonUint((*offsets)[1], &rel_end)) {
    return InvalidArgumentError(where + ": data_offsets must be two non-negative integers [begin, end]");
  }
  if (rel_begin > rel_end) {
    return InvalidArgumentError(where + ": data_offsets [" + Num(rel_begin) + ", " + Num(rel_end) +
                                "] end before they begin");
  }

  std::uint64_t parameters;
  if (!ShapeProduct(shape, &parameters)) {
    return InvalidArgumentError(where + ": element count of shape " + ShapeString(shape) + " overflows 64 bits");
  }
  // 128-bit so that sub-byte dtypes and 8-byte dtypes share one exact path.
  const unsigned __int128 bits = static_cast<unsigned __int128>(parameters) * dtype->bits;
  if (bits % 8 != 0) {
    return InvalidArgumentError(where + ": " + Num(parameters) + " elements of " + std::string(dtype->name) +
                                " do not fill whole bytes");
  }
  if (bits / 8 > kU64Max) {
    return InvalidArgumentError(where + ": byte size of " + std::string(dtype->name) + " shape " + ShapeString(shape) +
                                " overflows 64 bits");
  }
  const std::uint64_t nbytes = static_cast<std::uint64_t>(bits / 8);
  if (rel_end - rel_begin != nbytes) {
    return InvalidArgumentError(where + ": data_offsets [" + Num(rel_begin) + ", " + Num(rel_end) + "] hold " +
                                Num(rel_end - rel_begin) + " bytes but " + std::string(dtype->name) + " shape " +
                                ShapeString(shape) + " needs " + Num(nbytes));
  }
  if (rel_end > file_size || data_begin > file_size - rel_end) {
    return CorruptionError(where + ": data [" + Num(rel_begin) + ", " + Num(rel_end) + ") after the header at byte " +
                           Num(data_begin) + " lies past the end of the file (" + Num(file_size) + " bytes)");
  }

  out->name = tensor_name;
  out->dtype = std::string(dtype->name);
  out->shape = std::move(shape);
  out->begin = data_begin + rel_begin;
  out->end = data_begin + rel_end;
  out->element_bytes = dtype->bits % 8 == 0 ? dtype->bits / 8 : 0;
  out->parameters = parameters;
  return Status::Ok();
}

Result<TensorHeader> ReadSafetensors(const RandomAccessFile& file, const TensorHeaderLimits& limits) {
  const std::uint64_t file_size = file.size();
  if (file_size < 8) {
    return InvalidArgumentError("file is " + Num(file_size) + " bytes, too short for the 8-byte header length");
  }
  std::array<std::uint8_t, 8> len_bytes;
  ARCA_RETURN_IF_ERROR(file.ReadAt(0, len_bytes));
  const std::uint64_t header_len = LoadLe64(len_bytes.data());
  if (header_len > limits.max_header_bytes) {
    return ResourceExhaustedError("header length " + Num(header_len) + " at offset 0 is over the limit of " +
                                  Num(limits.max_header_bytes) + " bytes");
  }
  if (header_len > file_size - 8) {
    return InvalidArgumentError("header length " + Num(header_len) + " at offset 0 runs past the end of the file (" +
                                Num(file_size) + " bytes)");
  }
  // header_len <= file_size - 8 and <= max_header_bytes: the allocation is
  // bounded by bytes that really exist.
  std::string text(static_cast<std::size_t>(header_len), '\0');
  ARCA_RETURN_IF_ERROR(file.ReadAt(8, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(text.data()),
                                                              text.size())));
  // ParseJson refuses a raw NUL too (nlohmann would stop at it and ignore
  // what follows); checking here first names the offset in the file, not in
  // the JSON text.
  if (const std::size_t nul = text.find('\0'); nul != std::string::npos) {
    return InvalidArgumentError("JSON header has a NUL byte at offset " + Num(8 + nul));
  }
  // Depth 3 is enough for {name: {shape: [..]}}; a little slack keeps the
  // error about the offending field rather than about nesting.
  JsonLimits json_limits;
  json_limits.max_bytes = static_cast<std::size_t>(header_len);
  json_limits.max_depth = 8;
  ARCA_ASSIGN_OR_RETURN(Json root,
                        ParseJson(text, "JSON header (bytes 8.." + Num(8 + header_len) + ")", json_limits));
  if (!root.is_object()) return InvalidArgumentError("JSON header (bytes 8..) must be an object");

  TensorHeader header;
  header.format = TensorFileFormat::kSafetensors;
  header.data_begin = 8 + header_len;
  const bool has_metadata = root.contains("__metadata__");
  const std::uint64_t tensor_count = root.size() - (has_metadata ? 1 : 0);
  if (tensor_count > limits.max_tensors) {
    return ResourceExhaustedError("header lists " + Num(tensor_count) + " tensors, over the limit of " +
                                  Num(limits.max_tensors));
  }
  header.tensors.reserve(static_cast<std::size_t>(tensor_count));
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) return InvalidArgumentError("__metadata__ must be an object of strings");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) {
          return InvalidArgumentError("__metadata__." + Quote(m.key()) + " must be a string");
        }
        header.metadata.emplace(m.key(), m->get<std::string>());
      }
      continue;
    }
    TensorInfo info;
    ARCA_RETURN_IF_ERROR(ParseSafetensorsTensor(it.key(), it.value(), header.data_begin, file_size, limits, &info));
    header.tensors.push_back(std::move(info));
  }
  ARCA_RETURN_IF_ERROR(FinishLayout(header.tensors));
  return header;
}

// ---------------------------------------------------------------------------
// GGUF v2/v3: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
//   "GGUF" | u32 version | u64 tensor_count | u64 metadata_kv_count
//   | metadata_kv[] | tensor_info[] | pad to ALIGNMENT | tensor data
// All little-endian (big-endian files are refused: nothing marks them).

// GgufReader reads the header sequentially through a 64 KiB read-ahead window
// and never past min(file size, max_header_bytes).
class GgufReader {
 public:
  GgufReader(const RandomAccessFile& file, std::uint64_t max_header_bytes)
      : file_(file), file_size_(file.size()), limit_(std::min(file_size_, max_header_bytes)) {}

  std::uint64_t pos() const { return pos_; }
  std::uint64_t file_size() const { return file_size_; }

  // Need fails unless `n` more bytes can be read at pos(): InvalidArgument
  // when the file ends first, ResourceExhausted when the header limit does.
  Status Need(std::uint64_t n, std::string_view what) const {
    if (n <= limit_ - pos_) return Status::Ok();
    if (limit_ < file_size_ && n <= file_size_ - pos_) {
      return ResourceExhaustedError(std::string(what) + " at offset " + Num(pos_) + " reaches past the " +
                                    Num(limit_) + "-byte header limit");
    }
    return InvalidArgumentError(std::string(what) + " at offset " + Num(pos_) + " needs " + Num(n) +
                                " bytes but the file ends at byte " + Num(file_size_));
  }

  Status Skip(std::uint64_t n, std::string_view what) {
    ARCA_RETURN_IF_ERROR(Need(n, what));
    pos_ += n;
    return Status::Ok();
  }

  Status Read(std::span<std::uint8_t> out, std::string_view what) {
    ARCA_RETURN_IF_ERROR(Need(out.size(), what));
    std::size_t done = 0;
    while (done < out.size()) {
      if (pos_ < window_begin_ || pos_ - window_begin_ >= window_.size()) {
        ARCA_RETURN_IF_ERROR(Fill());
      }
      const std::size_t offset = static_cast<std::size_t>(pos_ - window_begin_);
      const std::size_t n = std::min(out.size() - done, window_.size() - offset);
      std::memcpy(out.data() + done, window_.data() + offset, n);
      done += n;
      pos_ += n;
    }
    return Status::Ok();
  }

  Result<std::uint8_t> U8(std::string_view what) {
    std::uint8_t b;
    ARCA_RETURN_IF_ERROR(Read({&b, 1}, what));
    return b;
  }
  Result<std::uint32_t> U32(std::string_view what) {
    std::array<std::uint8_t, 4> b;
    ARCA_RETURN_IF_ERROR(Read(b, what));
    return LoadLe32(b.data());
  }
  Result<std::uint64_t> U64(std::string_view what) {
    std::array<std::uint8_t, 8> b;
    ARCA_RETURN_IF_ERROR(Read(b, what));
    return LoadLe64(b.data());
  }
  // Bytes reads `n` bytes as a string; callers bound `n` first.
  Result<std::string> Bytes(std::uint64_t n, std::string_view what) {
    ARCA_RETURN_IF_ERROR(Need(n, what));
    std::string s(static_cast<std::size_t>(n), '\0');
    ARCA_RETURN_IF_ERROR(Read({reinterpret_cast<std::uint8_t*>(s.data()), s.size()}, what));
    return s;
  }

 private:
  static constexpr std::uint64_t kWindowBytes = 64 * 1024;

  Status Fill() {
    const std::uint64_t n = std::min(kWindowBytes, limit_ - pos_);
    window_.resize(static_cast<std::size_t>(n));
    window_begin_ = pos_;
    Status s = file_.ReadAt(pos_, window_);
    if (!s.ok()) {
      window_.clear();
      return s.WithContext("reading the header at offset " + Num(pos_));
    }
    return Status::Ok();
  }

  const RandomAccessFile& file_;
  const std::uint64_t file_size_;
  const std::uint64_t limit_;
  std::uint64_t pos_ = 0;
  std::uint64_t window_begin_ = 0;
  std::vector<std::uint8_t> window_;
};

enum GgufValueType : std::uint32_t {
  kGgufUint8 = 0,
  kGgufInt8 = 1,
  kGgufUint16 = 2,
  kGgufInt16 = 3,
  kGgufUint32 = 4,
  kGgufInt32 = 5,
  kGgufFloat32 = 6,
  kGgufBool = 7,
  kGgufString = 8,
  kGgufArray = 9,
  kGgufUint64 = 10,
  kGgufInt64 = 11,
  kGgufFloat64 = 12,
  kGgufValueTypeCount = 13,
};

// Bytes of a fixed-size value type; 0 for string and array.
constexpr std::array<std::uint8_t, kGgufValueTypeCount> kGgufFixedSize = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

// Recursion guard independent of the caller's limit.
constexpr std::uint32_t kMaxArrayDepthCap = 64;

struct GgmlType {
  std::uint32_t id;
  std::string_view name;
  std::uint32_t block_elements;  // elements per block (1 for plain types)
  std::uint32_t block_bytes;     // bytes per block
};

// ggml's type traits: block size and bytes per block (gguf-py's
// GGML_QUANT_SIZES). Ids 4, 5, 31..33 and 36..38 were removed from GGUF and
// are refused like any unknown id.
constexpr std::uint32_t kQkK = 256;
constexpr std::array<GgmlType, 34> kGgmlTypes = {{
    {0, "F32", 1, 4},
    {1, "F16", 1, 2},
    {2, "Q4_0", 32, 2 + 16},
    {3, "Q4_1", 32, 2 + 2 + 16},
    {6, "Q5_0", 32, 2 + 4 + 16},
    {7, "Q5_1", 32, 2 + 2 + 4 + 16},
    {8, "Q8_0", 32, 2 + 32},
    {9, "Q8_1", 32, 4 + 4 + 32},
    {10, "Q2_K", kQkK, 2 + 2 + kQkK / 16 + kQkK / 4},
    {11, "Q3_K", kQkK, 2 + kQkK / 4 + kQkK / 8 + 12},
    {12, "Q4_K", kQkK, 2 + 2 + kQkK / 2 + 12},
    {13, "Q5_K", kQkK, 2 + 2 + kQkK / 2 + kQkK / 8 + 12},
    {14, "Q6_K", kQkK, 2 + kQkK / 2 + kQkK / 4 + kQkK / 16},
    {15, "Q8_K", kQkK, 4 + kQkK + kQkK / 8},
    {16, "IQ2_XXS", kQkK, 2 + kQkK / 4},
    {17, "IQ2_XS", kQkK, 2 + kQkK / 4 + kQkK / 32},
    {18, "IQ3_XXS", kQkK, 2 + kQkK / 4 + kQkK / 8},
    {19, "IQ1_S", kQkK, 2 + kQkK / 8 + kQkK / 16},
    {20, "IQ4_NL", 32, 2 + 16},
    {21, "IQ3_S", kQkK, 2 + kQkK / 4 + kQkK / 8 + kQkK / 32 + 4},
    {22, "IQ2_S", kQkK, 2 + kQkK / 4 + kQkK / 16},
    {23, "IQ4_XS", kQkK, 2 + 2 + kQkK / 2 + kQkK / 64},
    {24, "I8", 1, 1},
    {25, "I16", 1, 2},
    {26, "I32", 1, 4},
    {27, "I64", 1, 8},
    {28, "F64", 1, 8},
    {29, "IQ1_M", kQkK, kQkK / 8 + kQkK / 16 + kQkK / 32},
    {30, "BF16", 1, 2},
    {34, "TQ1_0", kQkK, 2 + 4 * 13},
    {35, "TQ2_0", kQkK, 2 + 64},
    {39, "MXFP4", 32, 1 + 16},
    {40, "NVFP4", 64, 4 + 32},
    {41, "Q1_0", 128, 2 + 16},
}};

const GgmlType* FindGgmlType(std::uint32_t id) {
  for (const auto& t : kGgmlTypes) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

class GgufParser {
 public:
  GgufParser(const RandomAccessFile& file, const TensorHeaderLimits& limits)
      : r_(file, limits.max_header_bytes),
        limits_(limits),
        max_depth_(std::min(limits.max_array_depth, kMaxArrayDepthCap)) {}

  Result<TensorHeader> Parse() {
    TensorHeader header;
    header.format = TensorFileFormat::kGguf;

    std::array<std::uint8_t, 4> magic;
    ARCA_RETURN_IF_ERROR(r_.Read(magic, "GGUF magic"));
    if (std::memcmp(magic.data(), "GGUF", 4) != 0) {
      return InvalidArgumentError("bad magic " + HexEncode(magic) + " at offset 0, want \"GGUF\" (47475546)");
    }
    ARCA_ASSIGN_OR_RETURN(std::uint32_t version, r_.U32("version"));
    if (version != 2 && version != 3) {
      if (version != 0 && (version & 0xffff) == 0) {
        return InvalidArgumentError("version " + Num(version) + " at offset 4 looks byte-swapped: big-endian GGUF "
                                    "is not supported");
      }
      if (version == 1) {
        return InvalidArgumentError("GGUF version 1 at offset 4 (32-bit counts) is not supported");
      }
      return InvalidArgumentError("unsupported GGUF version " + Num(version) + " at offset 4 (supported: 2, 3)");
    }
    header.gguf_version = version;
    ARCA_ASSIGN_OR_RETURN(std::uint64_t tensor_count, r_.U64("tensor_count"));
    if (tensor_count > limits_.max_tensors) {
      return ResourceExhaustedError("tensor_count " + Num(tensor_count) + " at offset 8 is over the limit of " +
                                    Num(limits_.max_tensors));
    }
    ARCA_ASSIGN_OR_RETURN(std::uint64_t kv_count, r_.U64("metadata_kv_count"));
    if (kv_count > limits_.max_metadata_kvs) {
      return ResourceExhaustedError("metadata_kv_count " + Num(kv_count) + " at offset 16 is over the limit of " +
                                    Num(limits_.max_metadata_kvs));
    }

    std::uint32_t alignment = 32;
    std::set<std::string> keys;
    for (std::uint64_t i = 0; i < kv_count; ++i) {
      Status s = ParseKv(keys, &alignment);
      if (!s.ok()) return s.WithContext("metadata kv #" + Num(i));
    }
    header.gguf_alignment = alignment;

    // Tensor infos hold offsets relative to the data section, which starts
    // after them: collect first, place afterwards.
    std::set<std::string> names;
    std::vector<std::uint64_t> rel_offsets;
    header.tensors.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(tensor_count, 4096)));
    rel_offsets.reserve(header.tensors.capacity());
    for (std::uint64_t i = 0; i < tensor_count; ++i) {
      TensorInfo info;
      std::uint64_t rel_offset = 0;
      Status s = ParseTensorInfo(names, alignment, &info, &rel_offset);
      if (!s.ok()) return s.WithContext("tensor info #" + Num(i));
      header.tensors.push_back(std::move(info));
      rel_offsets.push_back(rel_offset);
    }

    // The data section starts at the next multiple of ALIGNMENT (ggml pads
    // only when there are tensors).
    const std::uint64_t infos_end = r_.pos();
    std::uint64_t data_begin = infos_end;
    if (tensor_count > 0) {
      const std::uint64_t rem = infos_end % alignment;
      if (rem != 0) data_begin += alignment - rem;  // infos_end < file size < 2^64 - 2^32
    }
    const std::uint64_t file_size = r_.file_size();
    if (data_begin > file_size) {
      return CorruptionError("data section at offset " + Num(data_begin) + " (after tensor infos ending at " +
                             Num(infos_end) + ", aligned to " + Num(alignment) + ") starts past the end of the file (" +
                             Num(file_size) + " bytes)");
    }
    header.data_begin = data_begin;
    for (std::size_t i = 0; i < header.tensors.size(); ++i) {
      TensorInfo& t = header.tensors[i];
      const std::uint64_t rel = rel_offsets[i];
      const std::uint64_t nbytes = t.end;  // ParseTensorInfo left the size here
      if (rel > file_size - data_begin || nbytes > file_size - data_begin - rel) {
        return CorruptionError("tensor " + Quote(t.name) + ": data at relative offset " + Num(rel) + " (" +
                               Num(nbytes) + " bytes of " + t.dtype + ") after the data section at byte " +
                               Num(data_begin) + " lies past the end of the file (" + Num(file_size) + " bytes)");
      }
      t.begin = data_begin + rel;
      t.end = t.begin + nbytes;
    }
    ARCA_RETURN_IF_ERROR(FinishLayout(header.tensors));
    return header;
  }

 private:
  Status ParseKv(std::set<std::string>& keys, std::uint32_t* alignment) {
    const std::uint64_t key_at = r_.pos();
    ARCA_ASSIGN_OR_RETURN(std::uint64_t key_len, r_.U64("key length"));
    // The spec caps keys at 65535 bytes of ASCII.
    if (key_len == 0 || key_len > 65535) {
      return InvalidArgumentError("key length " + Num(key_len) + " at offset " + Num(key_at) +
                                  " is outside 1..65535");
    }
    ARCA_ASSIGN_OR_RETURN(std::string key, r_.Bytes(key_len, "key"));
    for (unsigned char c : key) {
      if (c < 0x20 || c >= 0x7f) {
        return InvalidArgumentError("key " + Quote(key) + " at offset " + Num(key_at) + " is not printable ASCII");
      }
    }
    if (!keys.insert(key).second) {
      return InvalidArgumentError("duplicate key " + Quote(key) + " at offset " + Num(key_at));
    }
    const std::uint64_t type_at = r_.pos();
    ARCA_ASSIGN_OR_RETURN(std::uint32_t type, r_.U32("value type"));
    if (key == "general.alignment") {
      if (type != kGgufUint32) {
        return InvalidArgumentError("general.alignment at offset " + Num(type_at) + " has value type " + Num(type) +
                                    ", want 4 (u32)");
      }
      const std::uint64_t value_at = r_.pos();
      ARCA_ASSIGN_OR_RETURN(std::uint32_t a, r_.U32("general.alignment"));
      if (a == 0 || (a & (a - 1)) != 0) {
        return InvalidArgumentError("general.alignment " + Num(a) + " at offset " + Num(value_at) +
                                    " is not a power of two");
      }
      *alignment = a;
      return Status::Ok();
    }
    Status s = SkipValue(type, 0);
    if (!s.ok()) return s.WithContext("key " + Quote(key));
    return Status::Ok();
  }

  // SkipValue steps over one value of `type`, checking every length against
  // the bytes that remain and bool bytes for 0/1. `depth` counts the arrays
  // this value is inside.
  Status SkipValue(std::uint32_t type, std::uint32_t depth) {
    const std::uint64_t at = r_.pos();
    if (type >= kGgufValueTypeCount) {
      return InvalidArgumentError("unknown value type " + Num(type) + " before offset " + Num(at));
    }
    if (type == kGgufBool) return SkipBools(1);
    if (kGgufFixedSize[type] != 0) return r_.Skip(kGgufFixedSize[type], "value");
    if (type == kGgufString) {
      ARCA_ASSIGN_OR_RETURN(std::uint64_t len, r_.U64("string length"));
      return r_.Skip(len, "string");
    }
    // kGgufArray
    if (depth >= max_depth_) {
      return ResourceExhaustedError("array at offset " + Num(at) + " nests deeper than " + Num(max_depth_));
    }
    ARCA_ASSIGN_OR_RETURN(std::uint32_t elem_type, r_.U32("array element type"));
    ARCA_ASSIGN_OR_RETURN(std::uint64_t n, r_.U64("array length"));
    if (elem_type >= kGgufValueTypeCount) {
      return InvalidArgumentError("array at offset " + Num(at) + " has unknown element type " + Num(elem_type));
    }
    if (elem_type == kGgufBool) return SkipBools(n);
    if (kGgufFixedSize[elem_type] != 0) {
      std::uint64_t total;
      if (__builtin_mul_overflow(n, std::uint64_t(kGgufFixedSize[elem_type]), &total)) {
        return InvalidArgumentError("array at offset " + Num(at) + " of " + Num(n) + " elements overflows 64 bits");
      }
      return r_.Skip(total, "array");
    }
    // Each string takes at least its 8-byte length, each nested array its
    // 12-byte type and length: refuse counts the remaining bytes cannot hold
    // before looping over them.
    const std::uint64_t min_elem_bytes = elem_type == kGgufString ? 8 : 12;
    if (n > kU64Max / min_elem_bytes) {
      return InvalidArgumentError("array at offset " + Num(at) + " of " + Num(n) + " elements overflows 64 bits");
    }
    ARCA_RETURN_IF_ERROR(r_.Need(n * min_elem_bytes, "array"));
    for (std::uint64_t i = 0; i < n; ++i) {
      ARCA_RETURN_IF_ERROR(SkipValue(elem_type, depth + 1));
    }
    return Status::Ok();
  }

  // The spec: a bool byte other than 0 or 1 means the model is invalid.
  Status SkipBools(std::uint64_t n) {
    ARCA_RETURN_IF_ERROR(r_.Need(n, "bool value(s)"));
    std::array<std::uint8_t, 4096> buf;
    while (n > 0) {
      const std::uint64_t at = r_.pos();
      const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(n, buf.size()));
      ARCA_RETURN_IF_ERROR(r_.Read({buf.data(), chunk}, "bool value(s)"));
      for (std::size_t i = 0; i < chunk; ++i) {
        if (buf[i] > 1) {
          return InvalidArgumentError("bool at offset " + Num(at + i) + " is " + Num(buf[i]) + ", not 0 or 1");
        }
      }
      n -= chunk;
    }
    return Status::Ok();
  }

  // ParseTensorInfo reads one tensor info; on success `info->end` holds the
  // tensor's byte size and `rel_offset` its offset in the data section.
  Status ParseTensorInfo(std::set<std::string>& names, std::uint32_t alignment, TensorInfo* info,
                         std::uint64_t* rel_offset) {
    const std::uint64_t name_at = r_.pos();
    ARCA_ASSIGN_OR_RETURN(std::uint64_t name_len, r_.U64("name length"));
    if (name_len > limits_.max_name_bytes) {
      return ResourceExhaustedError("name length " + Num(name_len) + " at offset " + Num(name_at) +
                                    " is over the limit of " + Num(limits_.max_name_bytes));
    }
    ARCA_ASSIGN_OR_RETURN(info->name, r_.Bytes(name_len, "name"));
    const std::string where = "tensor " + Quote(info->name);
    // GGUF strings are UTF-8. ggml keeps names as C strings, so a NUL would
    // make two names we see as distinct collide there: refuse it too.
    if (!ValidUtf8(info->name) || info->name.find('\0') != std::string::npos) {
      return InvalidArgumentError("name " + Quote(info->name) + " at offset " + Num(name_at) +
                                  " is not UTF-8 without NUL bytes");
    }
    if (!names.insert(info->name).second) {
      return InvalidArgumentError("duplicate tensor name " + Quote(info->name) + " at offset " + Num(name_at));
    }
    const std::uint64_t dims_at = r_.pos();
    ARCA_ASSIGN_OR_RETURN(std::uint32_t n_dims, r_.U32("n_dimensions"));
    if (n_dims > limits_.max_dims) {
      return ResourceExhaustedError(where + ": n_dimensions " + Num(n_dims) + " at offset " + Num(dims_at) +
                                    " is over the limit of " + Num(limits_.max_dims));
    }
    info->shape.reserve(n_dims);
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      const std::uint64_t at = r_.pos();
      ARCA_ASSIGN_OR_RETURN(std::uint64_t dim, r_.U64("dimension"));
      if (dim > kI64Max) {  // ggml reads dimensions as int64
        return InvalidArgumentError(where + ": dimension " + Num(d) + " at offset " + Num(at) + " is " + Num(dim) +
                                    ", above 2^63-1");
      }
      info->shape.push_back(dim);
    }
    const std::uint64_t type_at = r_.pos();
    ARCA_ASSIGN_OR_RETURN(std::uint32_t type_id, r_.U32("ggml type"));
    const GgmlType* type = FindGgmlType(type_id);
    if (type == nullptr) {
      return InvalidArgumentError(where + ": unknown ggml type " + Num(type_id) + " at offset " + Num(type_at));
    }
    std::uint64_t parameters;
    if (!ShapeProduct(info->shape, &parameters) || parameters > kI64Max) {
      return InvalidArgumentError(where + ": element count of shape " + ShapeString(info->shape) +
                                  " overflows 63 bits");
    }
    // Blocks run along the first (innermost) dimension, so it must be a
    // whole number of blocks; then so is the element count.
    const std::uint64_t ne0 = n_dims > 0 ? info->shape[0] : 1;
    if (ne0 % type->block_elements != 0) {
      return InvalidArgumentError(where + ": first dimension " + Num(ne0) + " is not a multiple of the " +
                                  std::string(type->name) + " block size " + Num(type->block_elements));
    }
    std::uint64_t nbytes;
    if (__builtin_mul_overflow(parameters / type->block_elements, std::uint64_t(type->block_bytes), &nbytes)) {
      return InvalidArgumentError(where + ": byte size of " + std::string(type->name) + " shape " +
                                  ShapeString(info->shape) + " overflows 64 bits");
    }
    const std::uint64_t offset_at = r_.pos();
    ARCA_ASSIGN_OR_RETURN(*rel_offset, r_.U64("offset"));
    if (*rel_offset % alignment != 0) {
      return InvalidArgumentError(where + ": offset " + Num(*rel_offset) + " at offset " + Num(offset_at) +
                                  " is not a multiple of the alignment " + Num(alignment));
    }
    info->dtype = std::string(type->name);
    info->element_bytes = type->block_elements == 1 ? type->block_bytes : 0;
    info->parameters = parameters;
    info->begin = 0;
    info->end = nbytes;
    return Status::Ok();
  }

  GgufReader r_;
  const TensorHeaderLimits& limits_;
  const std::uint32_t max_depth_;
};

}  // namespace

bool LooksLikeTensorFile(const std::string& path, TensorFileFormat* format) {
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".safetensors")) {
    *format = TensorFileFormat::kSafetensors;
    return true;
  }
  if (ends_with(".gguf")) {
    *format = TensorFileFormat::kGguf;
    return true;
  }
  return false;
}

Result<TensorHeader> ReadTensorHeader(const RandomAccessFile& file, TensorFileFormat format, const std::string& name,
                                      const TensorHeaderLimits& limits) {
  switch (format) {
    case TensorFileFormat::kSafetensors: {
      Result<TensorHeader> result = ReadSafetensors(file, limits);
      if (!result.ok()) return result.status().WithContext(name + " (safetensors)");
      return result;
    }
    case TensorFileFormat::kGguf: {
      Result<TensorHeader> result = GgufParser(file, limits).Parse();
      if (!result.ok()) return result.status().WithContext(name + " (GGUF)");
      return result;
    }
  }
  return InvalidArgumentError(name + ": unknown tensor file format");
}

}  // namespace arca::format
