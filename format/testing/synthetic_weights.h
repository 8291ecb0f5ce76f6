// Test data shared by format's tests: bf16 weights distributed like real
// ones. Header-only, for tests only.
#ifndef ARCA_FORMAT_TESTING_SYNTHETIC_WEIGHTS_H_
#define ARCA_FORMAT_TESTING_SYNTHETIC_WEIGHTS_H_

#include <cstdint>
#include <cstring>
#include <random>

#include "base/bytes.h"

namespace arca::format::test_data {

// Bf16Weights returns `count` bf16 values (little-endian bit patterns) drawn
// from N(0, 0.02), like freshly initialised transformer weights;
// deterministic for a seed.
inline Bytes Bf16Weights(std::size_t count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  Bytes out(count * 2);
  for (std::size_t i = 0; i < count; ++i) {
    float f = dist(rng);
    std::uint32_t bits;
    std::memcpy(&bits, &f, 4);
    bits += 0x7fff + ((bits >> 16) & 1);  // round to nearest even, as frameworks cast
    out[2 * i] = std::uint8_t(bits >> 16);
    out[2 * i + 1] = std::uint8_t(bits >> 24);
  }
  return out;
}

// NudgedBf16 adds N(0, std) to every bf16 value of `base` (a dense
// fine-tune), rounding to nearest even as frameworks cast; deterministic for
// a seed.
inline Bytes NudgedBf16(const Bytes& base, float std, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, std);
  Bytes out(base.size());
  for (std::size_t i = 0; i + 1 < base.size(); i += 2) {
    std::uint32_t bits = std::uint32_t(base[i] | (base[i + 1] << 8)) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    f += dist(rng);
    std::memcpy(&bits, &f, 4);
    bits += 0x7fff + ((bits >> 16) & 1);
    out[i] = std::uint8_t(bits >> 16);
    out[i + 1] = std::uint8_t(bits >> 24);
  }
  return out;
}

// F32Weights returns `count` float32 values (little-endian) drawn from
// N(0, 0.02); deterministic for a seed.
inline Bytes F32Weights(std::size_t count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  Bytes out(count * 4);
  for (std::size_t i = 0; i < count; ++i) {
    float f = dist(rng);
    std::memcpy(out.data() + 4 * i, &f, 4);  // little-endian hosts only (x86-64, aarch64)
  }
  return out;
}

}  // namespace arca::format::test_data

#endif  // ARCA_FORMAT_TESTING_SYNTHETIC_WEIGHTS_H_
