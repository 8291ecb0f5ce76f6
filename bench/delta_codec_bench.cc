// delta_codec_bench: how small a dense fine-tune's chunks get under
// candidate delta transforms (specs/format.md §6.1 "Why this transform").
//
//   delta_codec_bench [MiB=32] [perturbation std=0.0005]
//
// Makes bf16 N(0, 0.02) weights and a copy with every value += N(0, std)
// (rounded to nearest even, as frameworks cast), cuts both into aligned
// 1 MiB chunks, and prints stored/plaintext for each transform beside the
// baseline measured in the same run: the new chunks alone under bg2 (what
// is stored without deltas), and zstd -1 of the new chunks. The chosen
// transform is ChunkEncoder::EncodeDelta itself, not a copy.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "format/chunk_codec.h"

namespace {

using arca::Bytes;

std::uint16_t ToBf16(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  x += 0x7fff + ((x >> 16) & 1);
  return std::uint16_t(x >> 16);
}

float FromBf16(std::uint16_t h) {
  std::uint32_t x = std::uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

std::size_t Zstd(const Bytes& v, int level, bool huffman_literals = false) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
  if (huffman_literals) {
    ZSTD_CCtx_setParameter(c, ZSTD_c_literalCompressionMode, ZSTD_ps_enable);
    ZSTD_CCtx_setParameter(c, ZSTD_c_minMatch, 7);
  }
  Bytes out(ZSTD_compressBound(v.size()));
  std::size_t n = ZSTD_compress2(c, out.data(), out.size(), v.data(), v.size());
  ZSTD_freeCCtx(c);
  if (ZSTD_isError(n)) std::abort();
  return n;
}

std::uint16_t Ordered(std::uint16_t x) { return (x & 0x8000) ? std::uint16_t(~x) : std::uint16_t(x | 0x8000); }

}  // namespace

int main(int argc, char** argv) {
  const std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 32;
  const float std_dev = argc > 2 ? std::strtof(argv[2], nullptr) : 0.0005f;
  const std::size_t n = mib << 19;  // elements
  std::mt19937 rng(5);
  std::normal_distribution<float> w(0.0f, 0.02f), nudge(0.0f, std_dev);
  Bytes parent(2 * n), child(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint16_t p = ToBf16(w(rng));
    std::uint16_t c = ToBf16(FromBf16(p) + nudge(rng));
    parent[2 * i] = std::uint8_t(p);
    parent[2 * i + 1] = std::uint8_t(p >> 8);
    child[2 * i] = std::uint8_t(c);
    child[2 * i + 1] = std::uint8_t(c >> 8);
  }
  struct Variant {
    std::string name;
    std::function<std::size_t(const std::uint8_t*, const std::uint8_t*, std::size_t)> size;  // (parent, child, bytes)
  };
  // Grouped streams of a per-element 16-bit transform f(parent, child).
  auto grouped = [](std::function<std::uint16_t(std::uint16_t, std::uint16_t)> f, int level, bool huf, bool interleave) {
    return [=](const std::uint8_t* p, const std::uint8_t* c, std::size_t bytes) {
      std::size_t m = bytes / 2;
      Bytes hi(m), lo(m), both(bytes);
      for (std::size_t i = 0; i < m; ++i) {
        std::uint16_t a = std::uint16_t(p[2 * i] | (p[2 * i + 1] << 8)), b = std::uint16_t(c[2 * i] | (c[2 * i + 1] << 8));
        std::uint16_t z = f(a, b);
        hi[i] = std::uint8_t(z >> 8);
        lo[i] = std::uint8_t(z);
        both[2 * i] = lo[i];
        both[2 * i + 1] = hi[i];
      }
      return interleave ? Zstd(both, level, huf) : Zstd(hi, level, huf) + Zstd(lo, level, huf);
    };
  };
  auto zigzag = [](std::uint16_t a, std::uint16_t b) {
    std::int16_t d = std::int16_t(std::uint16_t(b - a));
    return std::uint16_t((std::uint16_t(d) << 1) ^ std::uint16_t(d >> 15));
  };
  auto ordered = [zigzag](std::uint16_t a, std::uint16_t b) { return zigzag(Ordered(a), Ordered(b)); };
  auto xr = [](std::uint16_t a, std::uint16_t b) { return std::uint16_t(a ^ b); };
  std::vector<Variant> variants = {
      {"baseline: new chunk alone, zstd -1", [](const std::uint8_t*, const std::uint8_t* c, std::size_t b) { return Zstd(Bytes(c, c + b), 1); }},
      {"baseline: new chunk alone, bg2 (stored today)",
       [](const std::uint8_t*, const std::uint8_t* c, std::size_t b) {
         arca::format::ChunkEncoder e;
         Bytes out;
         e.Encode(arca::ByteSpan(c, b), true, &out);
         return out.size();
       }},
      {"xor, grouped, zstd 1", grouped(xr, 1, false, false)},
      {"difference zig-zag, interleaved, zstd 1", grouped(zigzag, 1, false, true)},
      {"difference zig-zag, grouped, zstd 1 (chosen: EncodeDelta)",
       [](const std::uint8_t* p, const std::uint8_t* c, std::size_t b) {
         arca::format::ChunkEncoder e;
         Bytes out;
         arca::format::ChunkId id{};
         if (!e.EncodeDelta(arca::ByteSpan(c, b), arca::ByteSpan(p, b), id, &out)) std::abort();
         return out.size();
       }},
      {"difference zig-zag, grouped, zstd 3", grouped(zigzag, 3, false, false)},
      {"difference zig-zag, grouped, zstd -200 Huffman literals", grouped(zigzag, -200, true, false)},
      {"ordered-integer difference zig-zag, grouped, zstd 1", grouped(ordered, 1, false, false)},
  };
  const std::size_t chunk = 1 << 20;
  std::printf("%zu MiB bf16 N(0, 0.02), nudged by N(0, %g), aligned 1 MiB chunks\n", mib, double(std_dev));
  std::printf("%-62s %8s %8s\n", "transform", "stored", "CPU s");
  for (const auto& v : variants) {
    auto t0 = std::chrono::steady_clock::now();
    std::size_t total = 0;
    for (std::size_t off = 0; off < child.size(); off += chunk) {
      total += v.size(parent.data() + off, child.data() + off, std::min(chunk, child.size() - off));
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%-62s %8.4f %8.2f\n", v.name.c_str(), double(total) / double(child.size()), s);
  }
  return 0;
}
