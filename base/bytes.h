// Byte helpers: hex and base64 codecs and constant-time comparison.
//
// Decoders are strict: they reject odd lengths, non-alphabet characters and
// (for base64) non-canonical padding, and name the offset of the first bad
// character. ConstantTimeEquals is the only way secrets, tags and MACs are
// compared in Arca.
#ifndef ARCA_BASE_BYTES_H_
#define ARCA_BASE_BYTES_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace arca {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;

// AsBytes views a string's characters as bytes.
inline ByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
// ToString copies bytes into a std::string.
inline std::string ToString(ByteSpan b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// HexEncode returns lower-case hex.
std::string HexEncode(ByteSpan data);
// HexDecode accepts upper or lower case; InvalidArgument on odd length or a
// non-hex character (the message names its offset).
Result<Bytes> HexDecode(std::string_view hex);

// IsLowerHex reports whether `s` is exactly `length` lower-case hex digits
// (the only hex form Arca's documents accept, so each value has one spelling).
bool IsLowerHex(std::string_view s, std::size_t length);

// Base64Encode uses the standard alphabet with padding (RFC 4648 §4).
std::string Base64Encode(ByteSpan data);
// Base64Decode accepts the standard (§4) and URL-safe (§5) alphabets, with or
// without padding, but not mixed alphabets, whitespace or non-zero trailing
// bits. InvalidArgument names the offset of the first bad character.
Result<Bytes> Base64Decode(std::string_view text);

// ConstantTimeEquals compares two byte strings in time that depends only on
// their lengths. Unequal lengths compare unequal (the lengths are public).
bool ConstantTimeEquals(ByteSpan a, ByteSpan b);

// LoadLe64 / StoreLe64 / LoadLe32 / StoreLe32: little-endian integer I/O.
inline std::uint64_t LoadLe64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline std::uint32_t LoadLe32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
         std::uint32_t(p[3]) << 24;
}
inline void StoreLe64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = std::uint8_t(v >> (8 * i));
}
inline void StoreLe32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = std::uint8_t(v >> (8 * i));
}

}  // namespace arca

#endif  // ARCA_BASE_BYTES_H_
