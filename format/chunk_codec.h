// Chunk encoding and encryption (specs/format.md §6, §7).
//
// A chunk's plaintext is first encoded (stored raw, zstd, or "bg2": the two
// bytes of each 16-bit float split into a high-byte stream, zstd-compressed,
// and a low-byte stream stored raw; or "bg4": the four bytes of each 32-bit
// float split into four planes, each zstd-compressed when that pays), then
// encrypted with AES-256-GCM under the
// chunk's own key with a synthetic nonce: nonce = HMAC(nonce key, id ||
// encoding || encoded)[:12]. The AAD binds the chunk id, the format version,
// the encoding and the plaintext size, so a record cannot be replayed as
// another chunk or decoded differently. Decoding is bounded by the plaintext
// size the manifest declares.
#ifndef ARCA_FORMAT_CHUNK_CODEC_H_
#define ARCA_FORMAT_CHUNK_CODEC_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"
#include "base/zstd_util.h"
#include "format/lineage_key.h"

namespace arca::format {

enum class ChunkEncoding : std::uint8_t { kRaw = 0, kZstd = 1, kBg2 = 2, kDelta = 3, kBg4 = 4 };

// FloatWidth: what a chunk's bytes are, as far as byte grouping goes —
// 16-bit floats (BF16/F16: bg2), 32-bit floats (F32: bg4), or anything else
// (zstd).
enum class FloatWidth : std::uint8_t { kNone = 0, k16 = 2, k32 = 4 };

// kBg4HeaderSize: four u32le plane lengths (0: the plane is stored raw).
inline constexpr std::size_t kBg4HeaderSize = 16;

// kMaxDeltaChain bounds how many delta hops a reader follows from a chunk to
// a chunk stored whole (specs/format.md §6.1): longer chains are refused.
inline constexpr std::size_t kMaxDeltaChain = 4;
// kDeltaHeaderSize: base chunk id (32) + u32le length of the high-byte frame.
inline constexpr std::size_t kDeltaHeaderSize = kChunkIdSize + 4;

// EncodingName: "raw", "zstd", "bg2", "delta", "bg4". ParseEncoding is its inverse
// (InvalidArgument for other names).
std::string_view EncodingName(ChunkEncoding e);
Result<ChunkEncoding> ParseEncoding(std::string_view name);

// Bytes a record adds to the encoded chunk: 12-byte nonce + 16-byte tag.
inline constexpr std::size_t kRecordOverhead = crypto::kAesGcmNonceSize + crypto::kAesGcmTagSize;

// ChunkEncoder holds one zstd context; use one per thread.
class ChunkEncoder {
 public:
  ChunkEncoder();
  // Encode picks the encoding for `plain` (bg2 for 16-bit floats, bg4 for
  // 32-bit floats, else zstd) and falls back to raw when compression saves
  // less than 1/32 of the size. `out` receives the encoded bytes.
  ChunkEncoding Encode(ByteSpan plain, FloatWidth width, Bytes* out);
  ChunkEncoding Encode(ByteSpan plain, bool float16, Bytes* out) {
    return Encode(plain, float16 ? FloatWidth::k16 : FloatWidth::kNone, out);
  }

  // EncodeDelta writes the delta encoding (§6.1) of `plain` against `base`,
  // the plaintext of chunk `base_id` of the same size, into `out`: the
  // 16-bit differences of the bit patterns, zig-zagged, split into high- and
  // low-byte streams, each one zstd frame. Returns false (out unspecified)
  // when the sizes differ or are odd.
  bool EncodeDelta(ByteSpan plain, ByteSpan base, const ChunkId& base_id, Bytes* out);

 private:
  bool Bg2(ByteSpan plain, Bytes* out);
  bool Bg4(ByteSpan plain, Bytes* out);
  bool Zstd(ByteSpan plain, Bytes* out);
  ZstdCCtxPtr cctx_;     // whole chunks (level 1)
  ZstdCCtxPtr hi_cctx_;  // bg2 high-byte streams and bg4 planes (tuned for i.i.d. symbols)
  Bytes scratch_;
  Bytes scratch_lo_;
};

// ChunkDecoder holds one zstd context; use one per thread.
class ChunkDecoder {
 public:
  ChunkDecoder();
  // Decode reverses Encode into `out`, which must be exactly the plaintext
  // size. Corruption when the encoded bytes are malformed or do not decode to
  // exactly out.size() bytes.
  // A delta chunk cannot be decoded without its base: Decode refuses it
  // (Corruption); use DecodeDelta.
  Status Decode(ChunkEncoding encoding, ByteSpan encoded, std::span<std::uint8_t> out);

  // DecodeDelta reverses EncodeDelta: `base` is the plaintext of the base
  // chunk, which must be `base_id` (the id recorded inside the authenticated
  // encoding must equal it) and exactly out.size() bytes, an even number.
  // Corruption naming what disagrees otherwise; `out` is unspecified then.
  Status DecodeDelta(ByteSpan encoded, const ChunkId& base_id, ByteSpan base, std::span<std::uint8_t> out);

 private:
  Status DecodeBg4(ByteSpan encoded, std::span<std::uint8_t> out);
  ZstdDCtxPtr dctx_;
  Bytes scratch_;
  Bytes scratch_lo_;
};

// SealRecord encrypts `encoded` into a record (nonce || ciphertext || tag).
void SealRecord(const LineageKey& key, const ChunkId& id, ChunkEncoding encoding, std::uint64_t plain_size,
                ByteSpan encoded, Bytes* record);

// OpenRecord verifies and decrypts a record with the chunk's key into
// `encoded`. Unauthenticated when the tag fails (wrong key, changed byte,
// record moved to another chunk id, encoding or size).
Status OpenRecord(ByteSpan chunk_key, const ChunkId& id, ChunkEncoding encoding, std::uint64_t plain_size,
                  ByteSpan record, Bytes* encoded);

}  // namespace arca::format

#endif  // ARCA_FORMAT_CHUNK_CODEC_H_
