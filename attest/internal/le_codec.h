// Field codecs for the little-endian fixed layouts of SEV-SNP and TDX
// structures. A layout is written once, as a function that visits every
// field with its offset (e.g. SnpReportFields in snp.cc); LeReader fills a
// struct from bytes and LeWriter writes a struct back, so the parser and the
// simulated TEE's serializer cannot disagree about an offset.
//
// Neither checks bounds: the caller sizes the buffer to the layout first.
#ifndef ARCA_ATTEST_INTERNAL_LE_CODEC_H_
#define ARCA_ATTEST_INTERNAL_LE_CODEC_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "base/bytes.h"

namespace arca::attest::internal {

// LeReader copies fields out of `p` (which holds the whole layout).
struct LeReader {
  const std::uint8_t* p;
  void operator()(std::size_t off, std::uint8_t& v) const { v = p[off]; }
  void operator()(std::size_t off, std::uint16_t& v) const { v = std::uint16_t(p[off] | (p[off + 1] << 8)); }
  void operator()(std::size_t off, std::uint32_t& v) const { v = LoadLe32(p + off); }
  void operator()(std::size_t off, std::uint64_t& v) const { v = LoadLe64(p + off); }
  template <std::size_t N>
  void operator()(std::size_t off, std::array<std::uint8_t, N>& a) const {
    std::memcpy(a.data(), p + off, N);
  }
};

// LeWriter stores fields into `p`; bytes no field covers are left as they
// are (zero in a freshly sized buffer: reserved fields are written as zero).
struct LeWriter {
  std::uint8_t* p;
  void operator()(std::size_t off, const std::uint8_t& v) const { p[off] = v; }
  void operator()(std::size_t off, const std::uint16_t& v) const {
    p[off] = std::uint8_t(v);
    p[off + 1] = std::uint8_t(v >> 8);
  }
  void operator()(std::size_t off, const std::uint32_t& v) const { StoreLe32(p + off, v); }
  void operator()(std::size_t off, const std::uint64_t& v) const { StoreLe64(p + off, v); }
  template <std::size_t N>
  void operator()(std::size_t off, const std::array<std::uint8_t, N>& a) const {
    std::memcpy(p + off, a.data(), N);
  }
};

}  // namespace arca::attest::internal

#endif  // ARCA_ATTEST_INTERNAL_LE_CODEC_H_
