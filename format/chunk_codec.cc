#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_c_literalCompressionMode (stable since zstd 1.5.0 in practice)
#include "format/chunk_codec.h"

#include <cstring>

namespace arca::format {
namespace {

constexpr int kZstdLevel = 1;  // measured: higher levels are slower and no smaller on weights
// The high bytes of 16-bit floats are close to i.i.d. symbols (sign and
// exponent): Huffman-coded literals carry the gain and short matches only
// cost. Measured on bf16 N(0, 0.02) with callgrind (specs/format.md §6):
// level 1 stores 0.368 of the stream at 669M instructions per 16 MiB;
// level -200 with Huffman literals and minMatch 7 stores 0.340 at 259M.
constexpr int kHighByteLevel = -200;
constexpr int kHighByteMinMatch = 7;
constexpr char kAadLabel[] = "arca/v1/chunk";  // 13 bytes, no NUL

bool Pays(std::size_t encoded, std::size_t plain) { return encoded <= plain - plain / 32 && encoded < plain; }

std::array<std::uint8_t, 13 + kChunkIdSize + 1 + 8> MakeAad(const ChunkId& id, ChunkEncoding e,
                                                            std::uint64_t plain_size) {
  std::array<std::uint8_t, 13 + kChunkIdSize + 1 + 8> aad;
  std::memcpy(aad.data(), kAadLabel, 13);
  std::memcpy(aad.data() + 13, id.data(), id.size());
  aad[13 + kChunkIdSize] = std::uint8_t(e);
  StoreLe64(aad.data() + 13 + kChunkIdSize + 1, plain_size);
  return aad;
}

}  // namespace

std::string_view EncodingName(ChunkEncoding e) {
  switch (e) {
    case ChunkEncoding::kRaw: return "raw";
    case ChunkEncoding::kZstd: return "zstd";
    case ChunkEncoding::kBg2: return "bg2";
    case ChunkEncoding::kDelta: return "delta";
    case ChunkEncoding::kBg4: return "bg4";
  }
  return "unknown";
}

Result<ChunkEncoding> ParseEncoding(std::string_view name) {
  if (name == "raw") return ChunkEncoding::kRaw;
  if (name == "zstd") return ChunkEncoding::kZstd;
  if (name == "bg2") return ChunkEncoding::kBg2;
  if (name == "delta") return ChunkEncoding::kDelta;
  if (name == "bg4") return ChunkEncoding::kBg4;
  return InvalidArgumentError("unknown chunk encoding \"" + std::string(name.substr(0, 32)) + "\"");
}

ChunkEncoder::ChunkEncoder() : cctx_(ZSTD_createCCtx()), hi_cctx_(ZSTD_createCCtx()) {
  if (!cctx_ || !hi_cctx_) std::abort();
  ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_compressionLevel, kZstdLevel);
  ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_checksumFlag, 0);  // AES-GCM authenticates
  ZSTD_CCtx_setParameter(hi_cctx_.get(), ZSTD_c_compressionLevel, kHighByteLevel);
  ZSTD_CCtx_setParameter(hi_cctx_.get(), ZSTD_c_literalCompressionMode, ZSTD_ps_enable);
  ZSTD_CCtx_setParameter(hi_cctx_.get(), ZSTD_c_minMatch, kHighByteMinMatch);
  ZSTD_CCtx_setParameter(hi_cctx_.get(), ZSTD_c_checksumFlag, 0);
}

bool ChunkEncoder::Zstd(ByteSpan plain, Bytes* out) {
  out->resize(ZSTD_compressBound(plain.size()));
  std::size_t n = ZSTD_compress2(cctx_.get(), out->data(), out->size(), plain.data(), plain.size());
  if (ZSTD_isError(n) || !Pays(n, plain.size())) return false;
  out->resize(n);
  return true;
}

bool ChunkEncoder::Bg2(ByteSpan plain, Bytes* out) {
  const std::size_t pairs = plain.size() / 2;
  if (pairs == 0) return false;
  scratch_.resize(pairs);
  // Little-endian 16-bit floats: byte 1 holds sign and exponent (compressible),
  // byte 0 the low mantissa bits (close to random; stored raw).
  const std::size_t bound = ZSTD_compressBound(pairs);
  out->resize(4 + bound + pairs + plain.size() % 2);
  std::uint8_t* lo = out->data() + 4 + bound;  // temporarily past the bound; moved below
  for (std::size_t i = 0; i < pairs; ++i) {
    lo[i] = plain[2 * i];
    scratch_[i] = plain[2 * i + 1];
  }
  std::size_t z = ZSTD_compress2(hi_cctx_.get(), out->data() + 4, bound, scratch_.data(), pairs);
  if (ZSTD_isError(z)) return false;
  StoreLe32(out->data(), std::uint32_t(z));
  std::memmove(out->data() + 4 + z, lo, pairs);
  std::size_t size = 4 + z + pairs;
  if (plain.size() % 2) (*out)[size++] = plain.back();
  out->resize(size);
  return Pays(size, plain.size());
}

bool ChunkEncoder::Bg4(ByteSpan plain, Bytes* out) {
  const std::size_t m = plain.size() / 4;
  const std::size_t tail = plain.size() % 4;
  if (m == 0) return false;
  // Little-endian 32-bit floats: plane 3 holds the sign and 7 exponent bits,
  // plane 2 the last exponent bit and the high mantissa bits, planes 0 and 1
  // low mantissa bits (close to random). Each plane is one zstd frame when
  // that saves 1/32 of it, else stored raw (length 0 in the header).
  scratch_.resize(m);
  out->resize(kBg4HeaderSize + 4 * ZSTD_compressBound(m) + tail);
  std::size_t pos = kBg4HeaderSize;
  for (std::size_t k = 0; k < 4; ++k) {
    for (std::size_t i = 0; i < m; ++i) scratch_[i] = plain[4 * i + k];
    std::size_t z = ZSTD_compress2(hi_cctx_.get(), out->data() + pos, out->size() - pos, scratch_.data(), m);
    if (ZSTD_isError(z) || !Pays(z, m)) {
      std::memcpy(out->data() + pos, scratch_.data(), m);
      z = 0;
      pos += m;
    } else {
      pos += z;
    }
    StoreLe32(out->data() + 4 * k, std::uint32_t(z));
  }
  std::memcpy(out->data() + pos, plain.data() + 4 * m, tail);
  pos += tail;
  out->resize(pos);
  return Pays(pos, plain.size());
}

ChunkEncoding ChunkEncoder::Encode(ByteSpan plain, FloatWidth width, Bytes* out) {
  if (width == FloatWidth::k16 && Bg2(plain, out)) return ChunkEncoding::kBg2;
  if (width == FloatWidth::k32 && Bg4(plain, out)) return ChunkEncoding::kBg4;
  if (width == FloatWidth::kNone && Zstd(plain, out)) return ChunkEncoding::kZstd;
  out->assign(plain.begin(), plain.end());
  return ChunkEncoding::kRaw;
}

bool ChunkEncoder::EncodeDelta(ByteSpan plain, ByteSpan base, const ChunkId& base_id, Bytes* out) {
  const std::size_t n = plain.size();
  if (n == 0 || n % 2 != 0 || base.size() != n) return false;
  const std::size_t m = n / 2;
  scratch_.resize(m);
  scratch_lo_.resize(m);
  for (std::size_t i = 0; i < m; ++i) {
    std::uint16_t c = std::uint16_t(plain[2 * i] | (plain[2 * i + 1] << 8));
    std::uint16_t b = std::uint16_t(base[2 * i] | (base[2 * i + 1] << 8));
    std::int16_t d = std::int16_t(std::uint16_t(c - b));  // mod 2^16
    std::uint16_t z = std::uint16_t((std::uint16_t(d) << 1) ^ std::uint16_t(d >> 15));  // zig-zag
    scratch_[i] = std::uint8_t(z >> 8);
    scratch_lo_[i] = std::uint8_t(z);
  }
  const std::size_t bound = ZSTD_compressBound(m);
  out->resize(kDeltaHeaderSize + 2 * bound);
  std::memcpy(out->data(), base_id.data(), kChunkIdSize);
  std::size_t zh = ZSTD_compress2(cctx_.get(), out->data() + kDeltaHeaderSize, bound, scratch_.data(), m);
  if (ZSTD_isError(zh)) return false;
  std::size_t zl = ZSTD_compress2(cctx_.get(), out->data() + kDeltaHeaderSize + zh, bound, scratch_lo_.data(), m);
  if (ZSTD_isError(zl)) return false;
  StoreLe32(out->data() + kChunkIdSize, std::uint32_t(zh));
  out->resize(kDeltaHeaderSize + zh + zl);
  return true;
}

ChunkDecoder::ChunkDecoder() : dctx_(ZSTD_createDCtx()) {
  if (!dctx_) std::abort();
}

Status ChunkDecoder::Decode(ChunkEncoding encoding, ByteSpan encoded, std::span<std::uint8_t> out) {
  const std::size_t n = out.size();
  switch (encoding) {
    case ChunkEncoding::kRaw:
      if (encoded.size() != n) return CorruptionError("raw chunk has " + std::to_string(encoded.size()) + " bytes, manifest says " + std::to_string(n));
      if (n != 0) std::memcpy(out.data(), encoded.data(), n);  // an empty span's data() may be null
      return Status::Ok();
    case ChunkEncoding::kZstd: {
      unsigned long long declared = ZSTD_getFrameContentSize(encoded.data(), encoded.size());
      if (declared != n) return CorruptionError("zstd frame declares " + std::to_string(declared) + " bytes, manifest says " + std::to_string(n));
      std::size_t got = ZSTD_decompressDCtx(dctx_.get(), out.data(), n, encoded.data(), encoded.size());
      if (ZSTD_isError(got) || got != n) return CorruptionError("zstd chunk does not decode to " + std::to_string(n) + " bytes");
      return Status::Ok();
    }
    case ChunkEncoding::kBg2: {
      const std::size_t pairs = n / 2;
      if (encoded.size() < 4) return CorruptionError("bg2 chunk shorter than its header");
      std::size_t z = LoadLe32(encoded.data());
      if (z > encoded.size() - 4 || encoded.size() - 4 - z != pairs + n % 2) {
        return CorruptionError("bg2 chunk lengths do not add up to " + std::to_string(n) + " bytes");
      }
      scratch_.resize(pairs);
      unsigned long long declared = ZSTD_getFrameContentSize(encoded.data() + 4, z);
      if (declared != pairs) return CorruptionError("bg2 high-byte stream declares " + std::to_string(declared) + " bytes, expected " + std::to_string(pairs));
      std::size_t got = ZSTD_decompressDCtx(dctx_.get(), scratch_.data(), pairs, encoded.data() + 4, z);
      if (ZSTD_isError(got) || got != pairs) return CorruptionError("bg2 high-byte stream does not decode");
      const std::uint8_t* lo = encoded.data() + 4 + z;
      for (std::size_t i = 0; i < pairs; ++i) {
        out[2 * i] = lo[i];
        out[2 * i + 1] = scratch_[i];
      }
      if (n % 2) out[n - 1] = lo[pairs];
      return Status::Ok();
    }
    case ChunkEncoding::kDelta:
      return CorruptionError("a delta chunk cannot be decoded without its base chunk");
    case ChunkEncoding::kBg4:
      return DecodeBg4(encoded, out);
  }
  return CorruptionError("unknown chunk encoding " + std::to_string(int(encoding)));
}

Status ChunkDecoder::DecodeBg4(ByteSpan encoded, std::span<std::uint8_t> out) {
  const std::size_t n = out.size();
  const std::size_t m = n / 4;
  const std::size_t tail = n % 4;
  if (m == 0) return CorruptionError("bg4 chunk of " + std::to_string(n) + " bytes: fewer than one 4-byte element");
  if (encoded.size() < kBg4HeaderSize) return CorruptionError("bg4 chunk shorter than its 16-byte header");
  std::uint64_t z[4];
  std::uint64_t total = kBg4HeaderSize + tail;
  for (std::size_t k = 0; k < 4; ++k) {
    z[k] = LoadLe32(encoded.data() + 4 * k);
    total += z[k] == 0 ? m : z[k];
  }
  if (total != encoded.size()) {
    return CorruptionError("bg4 plane lengths add up to " + std::to_string(total) + " bytes, the chunk has " +
                           std::to_string(encoded.size()) + " (plaintext " + std::to_string(n) + " bytes)");
  }
  scratch_.resize(m);
  std::size_t pos = kBg4HeaderSize;
  for (std::size_t k = 0; k < 4; ++k) {
    const std::string where = "bg4 plane " + std::to_string(k) + " at offset " + std::to_string(pos);
    const std::uint8_t* src = encoded.data() + pos;
    if (z[k] == 0) {
      for (std::size_t i = 0; i < m; ++i) out[4 * i + k] = src[i];
      pos += m;
      continue;
    }
    unsigned long long declared = ZSTD_getFrameContentSize(src, z[k]);
    if (declared != m) {
      return CorruptionError(where + " declares " + (declared == ZSTD_CONTENTSIZE_UNKNOWN || declared == ZSTD_CONTENTSIZE_ERROR
                                                         ? std::string("no content size")
                                                         : std::to_string(declared) + " bytes") +
                             ", expected " + std::to_string(m));
    }
    if (ZSTD_findFrameCompressedSize(src, z[k]) != z[k]) return CorruptionError(where + " is not exactly one zstd frame of " + std::to_string(z[k]) + " bytes");
    std::size_t got = ZSTD_decompressDCtx(dctx_.get(), scratch_.data(), m, src, z[k]);
    if (ZSTD_isError(got) || got != m) return CorruptionError(where + " does not decode to " + std::to_string(m) + " bytes");
    for (std::size_t i = 0; i < m; ++i) out[4 * i + k] = scratch_[i];
    pos += z[k];
  }
  std::memcpy(out.data() + 4 * m, encoded.data() + pos, tail);
  return Status::Ok();
}

Status ChunkDecoder::DecodeDelta(ByteSpan encoded, const ChunkId& base_id, ByteSpan base, std::span<std::uint8_t> out) {
  const std::size_t n = out.size();
  if (n == 0 || n % 2 != 0) return CorruptionError("delta chunk of " + std::to_string(n) + " bytes: deltas are of whole 16-bit elements");
  if (base.size() != n) {
    return CorruptionError("delta base has " + std::to_string(base.size()) + " bytes, the chunk " + std::to_string(n) +
                           " (base of another shape or alignment)");
  }
  if (encoded.size() < kDeltaHeaderSize) return CorruptionError("delta chunk shorter than its header");
  if (std::memcmp(encoded.data(), base_id.data(), kChunkIdSize) != 0) {
    return CorruptionError("delta chunk was encoded against base " + HexEncode(encoded.first(8)) + "…, the manifest names " +
                           HexEncode(ByteSpan(base_id.data(), 8)) + "…");
  }
  const std::size_t m = n / 2;
  const std::size_t zh = LoadLe32(encoded.data() + kChunkIdSize);
  ByteSpan rest = encoded.subspan(kDeltaHeaderSize);
  if (zh > rest.size()) return CorruptionError("delta high-byte frame runs past the chunk");
  ByteSpan fh = rest.first(zh), fl = rest.subspan(zh);
  for (ByteSpan f : {fh, fl}) {
    unsigned long long declared = ZSTD_getFrameContentSize(f.data(), f.size());
    if (declared != m) return CorruptionError("delta stream declares " + std::to_string(declared) + " bytes, expected " + std::to_string(m));
    if (ZSTD_findFrameCompressedSize(f.data(), f.size()) != f.size()) return CorruptionError("delta stream is not exactly one zstd frame");
  }
  scratch_.resize(m);
  scratch_lo_.resize(m);
  std::size_t got = ZSTD_decompressDCtx(dctx_.get(), scratch_.data(), m, fh.data(), fh.size());
  if (ZSTD_isError(got) || got != m) return CorruptionError("delta high-byte stream does not decode");
  got = ZSTD_decompressDCtx(dctx_.get(), scratch_lo_.data(), m, fl.data(), fl.size());
  if (ZSTD_isError(got) || got != m) return CorruptionError("delta low-byte stream does not decode");
  for (std::size_t i = 0; i < m; ++i) {
    std::uint16_t z = std::uint16_t((scratch_[i] << 8) | scratch_lo_[i]);
    std::uint16_t d = std::uint16_t((z >> 1) ^ std::uint16_t(-(z & 1)));  // un-zig-zag
    std::uint16_t b = std::uint16_t(base[2 * i] | (base[2 * i + 1] << 8));
    std::uint16_t c = std::uint16_t(b + d);
    out[2 * i] = std::uint8_t(c);
    out[2 * i + 1] = std::uint8_t(c >> 8);
  }
  return Status::Ok();
}

void SealRecord(const LineageKey& key, const ChunkId& id, ChunkEncoding encoding, std::uint64_t plain_size,
                ByteSpan encoded, Bytes* record) {
  auto nonce = key.SyntheticNonce(id, std::uint8_t(encoding), encoded);
  SecretBytes chunk_key = key.ChunkKey(id);
  auto aad = MakeAad(id, encoding, plain_size);
  record->resize(kRecordOverhead + encoded.size());
  std::memcpy(record->data(), nonce.data(), nonce.size());
  std::span<std::uint8_t> body(record->data() + nonce.size(), encoded.size() + crypto::kAesGcmTagSize);
  // Inputs are well-formed by construction, so sealing cannot fail.
  if (!crypto::AesGcmSeal(chunk_key.Expose(), nonce, aad, encoded, body).ok()) std::abort();
}

Status OpenRecord(ByteSpan chunk_key, const ChunkId& id, ChunkEncoding encoding, std::uint64_t plain_size,
                  ByteSpan record, Bytes* encoded) {
  if (record.size() < kRecordOverhead) return CorruptionError("record shorter than nonce and tag");
  auto aad = MakeAad(id, encoding, plain_size);
  encoded->resize(record.size() - kRecordOverhead);
  return crypto::AesGcmOpen(chunk_key, record.first(crypto::kAesGcmNonceSize), aad,
                            record.subspan(crypto::kAesGcmNonceSize), *encoded);
}

}  // namespace arca::format
