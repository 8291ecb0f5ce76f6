// Fuzz target: the chunk decoder for encodings stored whole (specs/format.md
// §6: raw, zstd, bg2, bg4; delta has its own target, delta_decode).
//
// Input: one byte encoding (taken mod 5), u16le plaintext size n (taken mod
// 8193), then the encoded chunk. Properties: Decode never crashes, never
// writes outside the n-byte output, and fails only with Corruption and a
// message; a delta chunk is always refused here. Aborts otherwise.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "base/bytes.h"
#include "base/status.h"
#include "format/chunk_codec.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "chunk decoder invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace arca;
  using namespace arca::format;
  if (size < 3) return 0;
  const auto encoding = ChunkEncoding(data[0] % 5);
  const std::size_t n = std::size_t(data[1] | (data[2] << 8)) % 8193;
  ByteSpan encoded(data + 3, size - 3);
  static ChunkDecoder decoder;
  Bytes out(n, 0xAA);
  Status s = decoder.Decode(encoding, encoded, out);
  if (!s.ok()) {
    Check(s.code() == StatusCode::kCorruption, "Decode error is not Corruption");
    Check(!s.message().empty(), "Decode error without a message");
    return 0;
  }
  Check(encoding != ChunkEncoding::kDelta, "a delta chunk decoded without its base");
  if (encoding == ChunkEncoding::kBg4) Check(n >= 4, "a bg4 chunk shorter than one element decoded");
  return 0;
}
