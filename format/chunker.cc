#include "format/chunker.h"

#include <bit>
#include <cstring>
#include <string>

#include "base/crypto.h"

namespace arca::format {

Status ValidateChunkingParams(const ChunkingParams& p) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("chunking parameters min=" + std::to_string(p.min_size) +
                                " avg=" + std::to_string(p.avg_size) + " max=" + std::to_string(p.max_size) + ": " + why);
  };
  if (p.min_size % 8 || p.avg_size % 8 || p.max_size % 8) return bad("sizes must be multiples of 8");
  if (p.min_size < 64) return bad("min must be at least 64");
  if (!(p.min_size < p.avg_size && p.avg_size < p.max_size)) return bad("need min < avg < max");
  if (p.max_size > (64ull << 20)) return bad("max must be at most 64 MiB");
  if (!std::has_single_bit(p.avg_size)) return bad("avg must be a power of two");
  return Status::Ok();
}

GearChunker::GearChunker(ByteSpan gear_key, const ChunkingParams& params) : params_(params) {
  std::uint8_t msg[13];
  std::memcpy(msg, "arca/v1/gear", 12);
  for (int i = 0; i < 256; ++i) {
    msg[12] = std::uint8_t(i);
    auto h = crypto::HmacSha256(gear_key, msg);
    gear_[i] = LoadLe64(h.data());
  }
  int avg_bits = std::countr_zero(params_.avg_size);
  bits_small_ = avg_bits + 2;
  bits_large_ = avg_bits - 2;
}

std::size_t GearChunker::FindCut(ByteSpan data, std::uint32_t align) const {
  const std::size_t n = data.size();
  if (n <= params_.min_size) return n;
  // The gear hash shifts left, so its top bits depend on the last 64 bytes:
  // test the top `bits` bits (FastCDC masks, contiguous at the top).
  const std::uint64_t mask_small = ~0ull << (64 - bits_small_);
  const std::uint64_t mask_large = ~0ull << (64 - bits_large_);
  const std::uint8_t* p = data.data();
  std::uint64_t h = 0;
  std::size_t i = params_.min_size;
  std::size_t normal = std::min<std::size_t>(n, params_.avg_size);
  std::size_t cut = 0;
  for (; i < normal; ++i) {
    h = (h << 1) + gear_[p[i]];
    if ((h & mask_small) == 0) { cut = i + 1; break; }
  }
  if (cut == 0) {
    for (; i < n; ++i) {
      h = (h << 1) + gear_[p[i]];
      if ((h & mask_large) == 0) { cut = i + 1; break; }
    }
  }
  if (cut == 0) return n;  // max size (or region end) reached
  if (align > 1) cut -= cut % align;  // min is a multiple of 8, so cut stays >= min
  return cut;
}

std::vector<Region> PlanRegions(std::uint64_t file_size, const TensorHeader* header) {
  std::vector<Region> out;
  auto add_gap = [&](std::uint64_t b, std::uint64_t e) {
    if (e > b) out.push_back(Region{b, e, 1, false});
  };
  std::uint64_t pos = 0;
  if (header != nullptr) {
    for (const auto& t : header->tensors) {
      if (t.begin < pos || t.end > file_size || t.end < t.begin) continue;  // parser guarantees; be safe
      add_gap(pos, t.begin);
      if (t.end > t.begin) {
        Region r{t.begin, t.end, 1, false};
        if (t.element_bytes == 2 || t.element_bytes == 4) r.element_bytes = t.element_bytes;
        r.float16 = t.element_bytes == 2 && (t.dtype == "BF16" || t.dtype == "F16");
        r.float32 = t.element_bytes == 4 && t.dtype == "F32";
        out.push_back(r);
      }
      pos = t.end;
    }
  }
  add_gap(pos, file_size);
  return out;
}

}  // namespace arca::format
