// Fuzz target: the delta chunk decoder (specs/format.md §6.1).
//
// Input: u16le element count m (taken mod 4097), then 2m bytes of base
// plaintext (zero-padded if the input is shorter), then the encoded delta.
// The expected base id is the first 32 bytes of the encoded delta when the
// count's top bit is clear (so the id check passes and the frames are
// reached), else all 0x5a. Properties: DecodeDelta never crashes and fails
// only with Corruption and a message; whatever it accepts re-encodes against
// the same base and decodes back to the same plaintext. Aborts otherwise.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/bytes.h"
#include "base/status.h"
#include "format/chunk_codec.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "delta decoder invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace arca;
  using namespace arca::format;
  if (size < 2) return 0;
  const std::uint16_t head = std::uint16_t(data[0] | (data[1] << 8));
  const std::size_t m = (head & 0x7fff) % 4097;
  ByteSpan rest(data + 2, size - 2);
  Bytes base(2 * m, 0);
  const std::size_t take = std::min(base.size(), rest.size());
  if (take > 0) std::memcpy(base.data(), rest.data(), take);
  ByteSpan encoded = rest.subspan(take);
  ChunkId base_id;
  base_id.fill(0x5a);
  if (!(head & 0x8000) && encoded.size() >= kChunkIdSize) std::memcpy(base_id.data(), encoded.data(), kChunkIdSize);

  static ChunkDecoder decoder;
  static ChunkEncoder encoder;
  Bytes out(2 * m, 0xAA);
  Status s = decoder.DecodeDelta(encoded, base_id, base, out);
  if (!s.ok()) {
    Check(s.code() == StatusCode::kCorruption, "DecodeDelta error is not Corruption");
    Check(!s.message().empty(), "DecodeDelta error without a message");
    return 0;
  }
  Check(m > 0, "an empty delta decoded");
  Bytes again;
  Check(encoder.EncodeDelta(out, base, base_id, &again), "a decoded delta does not re-encode");
  Bytes back(2 * m);
  Check(decoder.DecodeDelta(again, base_id, base, back).ok(), "a re-encoded delta does not decode");
  Check(back == out, "delta round trip changed the plaintext");
  return 0;
}
