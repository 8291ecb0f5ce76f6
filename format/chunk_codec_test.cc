#include "format/chunk_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>

#include "base/testing/status_matchers.h"
#include "format/testing/synthetic_weights.h"

namespace arca::format {
namespace {

using test_data::Bf16Weights;
using test_data::F32Weights;
using test_data::NudgedBf16;

Bytes RandomBytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = std::uint8_t(rng());
  return out;
}

Bytes Text(std::size_t n) {
  std::string s;
  while (s.size() < n) s += "{\"hidden_size\": 4096, \"num_attention_heads\": 32, \"vocab_size\": 32000}\n";
  s.resize(n);
  return Bytes(s.begin(), s.end());
}

struct Encoded {
  ChunkEncoding encoding;
  Bytes bytes;
};

Encoded EncodeIt(ByteSpan plain, bool float16) {
  ChunkEncoder enc;
  Encoded e;
  e.encoding = enc.Encode(plain, float16, &e.bytes);
  return e;
}

Status DecodeInto(ChunkEncoding encoding, ByteSpan encoded, std::size_t size, Bytes* out) {
  ChunkDecoder dec;
  out->assign(size, 0xAA);
  return dec.Decode(encoding, encoded, *out);
}

void ExpectRoundTrip(const Bytes& plain, bool float16, ChunkEncoding want) {
  Encoded e = EncodeIt(plain, float16);
  EXPECT_EQ(e.encoding, want) << EncodingName(e.encoding);
  if (want != ChunkEncoding::kRaw) {
    EXPECT_LT(e.bytes.size(), plain.size());
  }
  Bytes back;
  ASSERT_THAT(DecodeInto(e.encoding, e.bytes, plain.size(), &back), IsOk());
  EXPECT_EQ(back, plain);
}

TEST(ChunkCodecTest, EncodingNamesRoundTrip) {
  for (auto e : {ChunkEncoding::kRaw, ChunkEncoding::kZstd, ChunkEncoding::kBg2}) {
    auto parsed = ParseEncoding(EncodingName(e));
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(*parsed, e);
  }
  EXPECT_THAT(ParseEncoding("lz4"), HasCodeAndMessage(StatusCode::kInvalidArgument, "lz4"));
  EXPECT_THAT(ParseEncoding("RAW"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEncoding(""), HasCode(StatusCode::kInvalidArgument));
}

TEST(ChunkCodecTest, ZstdRoundTripOnText) { ExpectRoundTrip(Text(100'000), false, ChunkEncoding::kZstd); }

TEST(ChunkCodecTest, Bg2RoundTripEvenSize) { ExpectRoundTrip(Bf16Weights(50'000, 1), true, ChunkEncoding::kBg2); }

TEST(ChunkCodecTest, Bg2RoundTripOddSize) {
  Bytes plain = Bf16Weights(50'000, 2);
  plain.push_back(0x5a);  // a region end need not be element-aligned
  ExpectRoundTrip(plain, true, ChunkEncoding::kBg2);
}

TEST(ChunkCodecTest, Bg2SavesMoreThanZstdOnBf16) {
  Bytes plain = Bf16Weights(100'000, 3);
  Encoded bg2 = EncodeIt(plain, true);
  Encoded zstd = EncodeIt(plain, false);
  ASSERT_EQ(bg2.encoding, ChunkEncoding::kBg2);
  EXPECT_LT(bg2.bytes.size(), plain.size() * 85 / 100);
  if (zstd.encoding == ChunkEncoding::kZstd) {
    EXPECT_LT(bg2.bytes.size(), zstd.bytes.size());
  }
}

TEST(ChunkCodecTest, RawRoundTrip) {
  Bytes plain = RandomBytes(4097, 4);
  Bytes back;
  ASSERT_THAT(DecodeInto(ChunkEncoding::kRaw, plain, plain.size(), &back), IsOk());
  EXPECT_EQ(back, plain);
}

TEST(ChunkCodecTest, RandomBytesFallBackToRaw) {
  Bytes plain = RandomBytes(65'536, 5);
  ExpectRoundTrip(plain, false, ChunkEncoding::kRaw);
}

TEST(ChunkCodecTest, RandomBytesAsFloat16FallBackToRaw) {
  Bytes plain = RandomBytes(65'537, 6);
  ExpectRoundTrip(plain, true, ChunkEncoding::kRaw);
}

TEST(ChunkCodecTest, SingleByteFloat16ChunkIsRaw) { ExpectRoundTrip(Bytes{0x42}, true, ChunkEncoding::kRaw); }

TEST(ChunkCodecTest, EncoderIsReusable) {
  ChunkEncoder enc;
  ChunkDecoder dec;
  for (std::uint32_t seed = 0; seed < 4; ++seed) {
    Bytes plain = seed % 2 ? Bf16Weights(10'000 + seed, seed) : Text(20'000 + seed);
    Bytes encoded;
    ChunkEncoding e = enc.Encode(plain, seed % 2 == 1, &encoded);
    Bytes back(plain.size());
    ASSERT_THAT(dec.Decode(e, encoded, back), IsOk());
    EXPECT_EQ(back, plain);
  }
}

TEST(ChunkCodecTest, RawRejectsWrongSize) {
  Bytes plain = RandomBytes(100, 7);
  Bytes out;
  EXPECT_THAT(DecodeInto(ChunkEncoding::kRaw, plain, 99, &out), HasCodeAndMessage(StatusCode::kCorruption, "raw chunk"));
  EXPECT_THAT(DecodeInto(ChunkEncoding::kRaw, plain, 101, &out), HasCode(StatusCode::kCorruption));
}

TEST(ChunkCodecTest, ZstdRejectsTruncated) {
  Encoded e = EncodeIt(Text(50'000), false);
  ASSERT_EQ(e.encoding, ChunkEncoding::kZstd);
  Bytes out;
  for (std::size_t cut : {std::size_t(1), std::size_t(5), e.bytes.size() / 2, e.bytes.size() - 1}) {
    ByteSpan truncated(e.bytes.data(), e.bytes.size() - cut);
    EXPECT_THAT(DecodeInto(ChunkEncoding::kZstd, truncated, 50'000, &out), HasCode(StatusCode::kCorruption)) << cut;
  }
  EXPECT_THAT(DecodeInto(ChunkEncoding::kZstd, ByteSpan(), 50'000, &out), HasCode(StatusCode::kCorruption));
}

TEST(ChunkCodecTest, ZstdRejectsWrongDeclaredSize) {
  Encoded e = EncodeIt(Text(50'000), false);
  ASSERT_EQ(e.encoding, ChunkEncoding::kZstd);
  Bytes out;
  EXPECT_THAT(DecodeInto(ChunkEncoding::kZstd, e.bytes, 49'999, &out),
              HasCodeAndMessage(StatusCode::kCorruption, "zstd frame declares 50000 bytes"));
  EXPECT_THAT(DecodeInto(ChunkEncoding::kZstd, e.bytes, 50'001, &out), HasCode(StatusCode::kCorruption));
}

TEST(ChunkCodecTest, ZstdRejectsGarbage) {
  Bytes out;
  EXPECT_THAT(DecodeInto(ChunkEncoding::kZstd, RandomBytes(100, 8), 100, &out), HasCode(StatusCode::kCorruption));
}

TEST(ChunkCodecTest, ZstdRejectsTrailingFrameData) {
  Encoded e = EncodeIt(Text(50'000), false);
  Bytes extended = e.bytes;
  extended.insert(extended.end(), e.bytes.begin(), e.bytes.end());  // a second frame
  Bytes out;
  EXPECT_THAT(DecodeInto(ChunkEncoding::kZstd, extended, 50'000, &out), HasCode(StatusCode::kCorruption));
}

TEST(ChunkCodecTest, Bg2RejectsShorterThanHeader) {
  Bytes out;
  EXPECT_THAT(DecodeInto(ChunkEncoding::kBg2, Bytes{1, 0, 0}, 10, &out),
              HasCodeAndMessage(StatusCode::kCorruption, "shorter than its header"));
}

TEST(ChunkCodecTest, Bg2RejectsLengthFieldTooLarge) {
  Encoded e = EncodeIt(Bf16Weights(10'000, 9), true);
  ASSERT_EQ(e.encoding, ChunkEncoding::kBg2);
  Bytes out;
  for (std::uint32_t z : {std::uint32_t(e.bytes.size() - 3), std::uint32_t(e.bytes.size()), 0xffffffffu}) {
    Bytes bad = e.bytes;
    StoreLe32(bad.data(), z);
    EXPECT_THAT(DecodeInto(ChunkEncoding::kBg2, bad, 20'000, &out),
                HasCodeAndMessage(StatusCode::kCorruption, "bg2 chunk lengths")) << z;
  }
}

TEST(ChunkCodecTest, Bg2RejectsLengthFieldOffByOne) {
  Encoded e = EncodeIt(Bf16Weights(10'000, 10), true);
  Bytes out;
  for (int delta : {-1, 1}) {
    Bytes bad = e.bytes;
    StoreLe32(bad.data(), LoadLe32(bad.data()) + std::uint32_t(delta));
    EXPECT_THAT(DecodeInto(ChunkEncoding::kBg2, bad, 20'000, &out), HasCode(StatusCode::kCorruption)) << delta;
  }
}

TEST(ChunkCodecTest, Bg2RejectsTruncated) {
  Encoded e = EncodeIt(Bf16Weights(10'000, 11), true);
  Bytes out;
  EXPECT_THAT(DecodeInto(ChunkEncoding::kBg2, ByteSpan(e.bytes).first(e.bytes.size() - 1), 20'000, &out),
              HasCode(StatusCode::kCorruption));
  EXPECT_THAT(DecodeInto(ChunkEncoding::kBg2, ByteSpan(e.bytes).first(4), 20'000, &out), HasCode(StatusCode::kCorruption));
}

TEST(ChunkCodecTest, Bg2RejectsWrongDeclaredSize) {
  Encoded e = EncodeIt(Bf16Weights(10'000, 12), true);
  Bytes out;
  EXPECT_THAT(DecodeInto(ChunkEncoding::kBg2, e.bytes, 19'998, &out), HasCode(StatusCode::kCorruption));
  EXPECT_THAT(DecodeInto(ChunkEncoding::kBg2, e.bytes, 20'001, &out), HasCode(StatusCode::kCorruption));
}

TEST(ChunkCodecTest, Bg2RejectsHighStreamWithWrongContentSize) {
  // A well-formed zstd frame of the wrong length in the high-byte slot, with
  // the low-byte stream sized to make the outer lengths add up.
  Encoded inner = EncodeIt(Text(5'000), false);
  ASSERT_EQ(inner.encoding, ChunkEncoding::kZstd);
  const std::size_t pairs = 10'000;
  Bytes bad(4);
  StoreLe32(bad.data(), std::uint32_t(inner.bytes.size()));
  bad.insert(bad.end(), inner.bytes.begin(), inner.bytes.end());
  bad.resize(bad.size() + pairs, 0);
  Bytes out;
  EXPECT_THAT(DecodeInto(ChunkEncoding::kBg2, bad, 2 * pairs, &out),
              HasCodeAndMessage(StatusCode::kCorruption, "high-byte stream declares 5000 bytes"));
}

TEST(ChunkCodecTest, DeltaNameRoundTrips) {
  EXPECT_EQ(EncodingName(ChunkEncoding::kDelta), "delta");
  EXPECT_EQ(ParseEncoding("delta").value(), ChunkEncoding::kDelta);
}

TEST(ChunkCodecTest, DecodeRejectsUnknownEncoding) {
  Bytes out;
  EXPECT_THAT(DecodeInto(ChunkEncoding(7), Bytes(10), 10, &out),
              HasCodeAndMessage(StatusCode::kCorruption, "unknown chunk encoding 7"));
}

// --- bg4: byte grouping of 32-bit floats (specs/format.md §6) --------------

Encoded EncodeF32(ByteSpan plain) {
  ChunkEncoder enc;
  Encoded e;
  e.encoding = enc.Encode(plain, FloatWidth::k32, &e.bytes);
  return e;
}

void ExpectF32RoundTrip(const Bytes& plain, ChunkEncoding want) {
  Encoded e = EncodeF32(plain);
  EXPECT_EQ(e.encoding, want) << EncodingName(e.encoding);
  if (want != ChunkEncoding::kRaw) {
    EXPECT_LT(e.bytes.size(), plain.size());
  }
  Bytes back;
  ASSERT_THAT(DecodeInto(e.encoding, e.bytes, plain.size(), &back), IsOk());
  EXPECT_EQ(back, plain);
}

TEST(Bg4CodecTest, NameRoundTrips) {
  EXPECT_EQ(EncodingName(ChunkEncoding::kBg4), "bg4");
  EXPECT_EQ(ParseEncoding("bg4").value(), ChunkEncoding::kBg4);
  EXPECT_EQ(int(ChunkEncoding::kBg4), 4);
}

TEST(Bg4CodecTest, RoundTripF32Weights) { ExpectF32RoundTrip(F32Weights(40'000, 1), ChunkEncoding::kBg4); }

TEST(Bg4CodecTest, RoundTripWithTailOfEveryLength) {
  for (std::size_t extra : {1, 2, 3}) {
    Bytes plain = F32Weights(10'000, 2 + std::uint32_t(extra));
    for (std::size_t i = 0; i < extra; ++i) plain.push_back(std::uint8_t(0xc0 + i));
    ExpectF32RoundTrip(plain, ChunkEncoding::kBg4);
  }
}

TEST(Bg4CodecTest, RandomBytesFallBackToRaw) { ExpectF32RoundTrip(RandomBytes(40'000, 5), ChunkEncoding::kRaw); }

TEST(Bg4CodecTest, ShorterThanOneElementIsRaw) { ExpectF32RoundTrip(Bytes{1, 2, 3}, ChunkEncoding::kRaw); }

TEST(Bg4CodecTest, ConstantTensorCompressesEveryPlane) {
  Bytes plain(40'000 * 4, 0);  // all-zero F32: every plane a tiny frame
  Encoded e = EncodeF32(plain);
  ASSERT_EQ(e.encoding, ChunkEncoding::kBg4);
  for (std::size_t k = 0; k < 4; ++k) EXPECT_NE(LoadLe32(e.bytes.data() + 4 * k), 0u) << k;
  EXPECT_LT(e.bytes.size(), plain.size() / 100);
  Bytes back;
  ASSERT_THAT(DecodeInto(e.encoding, e.bytes, plain.size(), &back), IsOk());
  EXPECT_EQ(back, plain);
}

TEST(Bg4CodecTest, RandomValuesAreRoundTripExact) {
  // Random bit patterns of every kind (NaNs, infinities, subnormals) in an
  // F32 tensor: planes stored raw or compressed, the bytes come back exact.
  for (std::uint32_t seed = 0; seed < 8; ++seed) {
    Bytes plain = F32Weights(5'000 + seed, seed);
    Bytes noise = RandomBytes(plain.size() / 2, seed + 100);
    std::copy(noise.begin(), noise.end(), plain.begin() + std::ptrdiff_t(seed % 2 ? 0 : plain.size() / 2));
    Encoded e = EncodeF32(plain);
    Bytes back;
    ASSERT_THAT(DecodeInto(e.encoding, e.bytes, plain.size(), &back), IsOk()) << seed;
    EXPECT_EQ(back, plain) << seed;
  }
}

// Measured, not asserted beyond "bg4 is smaller": bg4 against plain zstd -1
// on the same F32 N(0, 0.02) bytes, in 512 KiB chunks (the seal's average).
TEST(Bg4CodecTest, Bg4SavesMoreThanZstdOnF32) {
  const std::size_t chunk = 512 * 1024;
  Bytes plain = F32Weights(8 * chunk / 4, 21);  // 4 MiB
  ChunkEncoder enc;
  ZstdCCtxPtr z1(ZSTD_createCCtx());
  ZSTD_CCtx_setParameter(z1.get(), ZSTD_c_compressionLevel, 1);
  std::size_t bg4 = 0, zstd1 = 0;
  Bytes out, zout(ZSTD_compressBound(chunk));
  for (std::size_t off = 0; off < plain.size(); off += chunk) {
    ByteSpan c = ByteSpan(plain).subspan(off, chunk);
    ASSERT_EQ(enc.Encode(c, FloatWidth::k32, &out), ChunkEncoding::kBg4);
    bg4 += out.size();
    std::size_t n = ZSTD_compress2(z1.get(), zout.data(), zout.size(), c.data(), c.size());
    ASSERT_FALSE(ZSTD_isError(n));
    zstd1 += n;
  }
  const double r_bg4 = double(bg4) / double(plain.size()), r_z1 = double(zstd1) / double(plain.size());
  std::printf("F32 N(0,0.02), 4 MiB in 512 KiB chunks: bg4 stores %.4f, zstd -1 %.4f\n", r_bg4, r_z1);
  RecordProperty("bg4_ratio", std::to_string(r_bg4));
  RecordProperty("zstd1_ratio", std::to_string(r_z1));
  EXPECT_LT(bg4, zstd1);
}

TEST(Bg4CodecTest, RejectsShorterThanHeader) {
  Bytes out;
  EXPECT_THAT(DecodeInto(ChunkEncoding::kBg4, Bytes(15), 40, &out),
              HasCodeAndMessage(StatusCode::kCorruption, "bg4 chunk shorter than its 16-byte header"));
}

TEST(Bg4CodecTest, RejectsChunkShorterThanOneElement) {
  Bytes out;
  EXPECT_THAT(DecodeInto(ChunkEncoding::kBg4, Bytes(19), 3, &out),
              HasCodeAndMessage(StatusCode::kCorruption, "fewer than one 4-byte element"));
}

TEST(Bg4CodecTest, RejectsLengthsThatDoNotAddUp) {
  Encoded e = EncodeF32(F32Weights(10'000, 30));
  ASSERT_EQ(e.encoding, ChunkEncoding::kBg4);
  Bytes out;
  for (std::size_t k = 0; k < 4; ++k) {
    for (std::int64_t d : {-1, 1, 0x7fffffff}) {
      Bytes bad = e.bytes;
      StoreLe32(bad.data() + 4 * k, std::uint32_t(LoadLe32(bad.data() + 4 * k) + d));
      Status s = DecodeInto(ChunkEncoding::kBg4, bad, 40'000, &out);
      EXPECT_THAT(s, HasCode(StatusCode::kCorruption)) << k << " " << d;
    }
    Bytes bad = e.bytes;  // a compressed plane marked raw, or the reverse
    StoreLe32(bad.data() + 4 * k, LoadLe32(bad.data() + 4 * k) == 0 ? 7u : 0u);
    EXPECT_THAT(DecodeInto(ChunkEncoding::kBg4, bad, 40'000, &out),
                HasCodeAndMessage(StatusCode::kCorruption, "bg4 plane lengths add up to")) << k;
  }
  Bytes longer = e.bytes;
  longer.push_back(0);
  EXPECT_THAT(DecodeInto(ChunkEncoding::kBg4, longer, 40'000, &out),
              HasCodeAndMessage(StatusCode::kCorruption, "bg4 plane lengths add up to"));
  EXPECT_THAT(DecodeInto(ChunkEncoding::kBg4, ByteSpan(e.bytes).first(e.bytes.size() - 1), 40'000, &out),
              HasCode(StatusCode::kCorruption));
  EXPECT_THAT(DecodeInto(ChunkEncoding::kBg4, e.bytes, 40'004, &out), HasCode(StatusCode::kCorruption));
  EXPECT_THAT(DecodeInto(ChunkEncoding::kBg4, e.bytes, 39'996, &out), HasCode(StatusCode::kCorruption));
}

TEST(Bg4CodecTest, RejectsTruncationAnywhere) {
  Encoded e = EncodeF32(F32Weights(2'000, 31));
  ASSERT_EQ(e.encoding, ChunkEncoding::kBg4);
  Bytes out;
  for (std::size_t len = 0; len < e.bytes.size(); ++len) {
    EXPECT_THAT(DecodeInto(ChunkEncoding::kBg4, ByteSpan(e.bytes).first(len), 8'000, &out),
                HasCode(StatusCode::kCorruption)) << len;
  }
}

TEST(Bg4CodecTest, RejectsPlaneOfAnotherContentSizeNamingThePlane) {
  // Plane 3 a well-formed zstd frame of 5000 bytes where 10000 are due;
  // planes 0-2 raw; the lengths add up.
  Encoded inner = EncodeIt(Text(5'000), false);
  ASSERT_EQ(inner.encoding, ChunkEncoding::kZstd);
  const std::size_t m = 10'000;
  Bytes bad(kBg4HeaderSize);
  StoreLe32(bad.data() + 12, std::uint32_t(inner.bytes.size()));
  bad.resize(bad.size() + 3 * m, 0x11);
  bad.insert(bad.end(), inner.bytes.begin(), inner.bytes.end());
  Bytes out;
  EXPECT_THAT(DecodeInto(ChunkEncoding::kBg4, bad, 4 * m, &out),
              HasCodeAndMessage(StatusCode::kCorruption, "bg4 plane 3 at offset 30016 declares 5000 bytes, expected 10000"));
}

TEST(Bg4CodecTest, RejectsPlaneThatIsNotOneFrame) {
  // Plane 0 a frame of exactly m bytes followed by a second frame, with the
  // length covering both.
  const std::size_t m = 1'000;
  Encoded f = EncodeIt(Text(m), false);
  Encoded g = EncodeIt(Text(200), false);
  ASSERT_EQ(f.encoding, ChunkEncoding::kZstd);
  ASSERT_EQ(g.encoding, ChunkEncoding::kZstd);
  Bytes bad(kBg4HeaderSize);
  StoreLe32(bad.data(), std::uint32_t(f.bytes.size() + g.bytes.size()));
  bad.insert(bad.end(), f.bytes.begin(), f.bytes.end());
  bad.insert(bad.end(), g.bytes.begin(), g.bytes.end());
  bad.resize(bad.size() + 3 * m, 0x22);
  Bytes out;
  EXPECT_THAT(DecodeInto(ChunkEncoding::kBg4, bad, 4 * m, &out),
              HasCodeAndMessage(StatusCode::kCorruption, "bg4 plane 0 at offset 16 is not exactly one zstd frame"));
}

TEST(Bg4CodecTest, RejectsCorruptFrameBody) {
  Encoded e = EncodeF32(F32Weights(10'000, 32));
  ASSERT_EQ(e.encoding, ChunkEncoding::kBg4);
  ASSERT_NE(LoadLe32(e.bytes.data() + 12), 0u);  // the sign/exponent plane is compressed
  const std::size_t z3 = LoadLe32(e.bytes.data() + 12);
  Bytes out;
  int refused = 0;
  for (std::size_t i = 0; i < z3; i += 7) {
    Bytes bad = e.bytes;
    bad[bad.size() - z3 + i] ^= 0xff;
    Status s = DecodeInto(ChunkEncoding::kBg4, bad, 40'000, &out);
    if (!s.ok()) {
      EXPECT_THAT(s, HasCode(StatusCode::kCorruption));
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);  // zstd has no checksum here: AES-GCM authenticates; some flips still decode
}

// --- Delta encoding (specs/format.md §6.1) ---------------------------------


ChunkId IdOf(std::uint8_t b) {
  ChunkId id;
  id.fill(b);
  return id;
}

struct DeltaCase {
  Bytes base = Bf16Weights(100'000, 5);
  Bytes child = NudgedBf16(base, 0.0005f, 6);
  ChunkId base_id = IdOf(0x17);
  Bytes delta;
  DeltaCase() {
    ChunkEncoder enc;
    EXPECT_TRUE(enc.EncodeDelta(child, base, base_id, &delta));
  }
  Status Decode(ByteSpan encoded, ByteSpan base_plain, Bytes* out, std::size_t size = 0) const {
    ChunkDecoder dec;
    out->assign(size ? size : child.size(), 0xAA);
    return dec.DecodeDelta(encoded, base_id, base_plain, *out);
  }
};

TEST(DeltaCodecTest, RoundTripIsExact) {
  DeltaCase c;
  Bytes back;
  ASSERT_THAT(c.Decode(c.delta, c.base, &back), IsOk());
  EXPECT_EQ(back, c.child);
}

TEST(DeltaCodecTest, DenseFineTuneDeltaIsMuchSmallerThanBg2) {
  DeltaCase c;
  Bytes bg2;
  ChunkEncoder enc;
  ASSERT_EQ(enc.Encode(c.child, true, &bg2), ChunkEncoding::kBg2);
  // Measured 0.38 of the plaintext against bg2's 0.68 (bench/README.md).
  EXPECT_LT(c.delta.size(), c.child.size() / 2);
  EXPECT_LT(c.delta.size() * 3, bg2.size() * 2);
}

TEST(DeltaCodecTest, IdenticalChunkDeltaIsTiny) {
  DeltaCase c;
  ChunkEncoder enc;
  Bytes delta;
  ASSERT_TRUE(enc.EncodeDelta(c.base, c.base, c.base_id, &delta));
  EXPECT_LT(delta.size(), 200u);
  Bytes back;
  ASSERT_THAT(c.Decode(delta, c.base, &back, c.base.size()), IsOk());
  EXPECT_EQ(back, c.base);
}

TEST(DeltaCodecTest, WrapAroundDifferencesRoundTrip) {
  // Extreme bit patterns: differences of ±0x8000 and sign flips.
  Bytes base = {0x00, 0x00, 0xff, 0xff, 0x00, 0x80, 0xff, 0x7f, 0x12, 0x34};
  Bytes child = {0x00, 0x80, 0x00, 0x00, 0xff, 0x7f, 0x00, 0x80, 0x12, 0x34};
  ChunkEncoder enc;
  Bytes delta;
  ASSERT_TRUE(enc.EncodeDelta(child, base, IdOf(1), &delta));
  ChunkDecoder dec;
  Bytes back(child.size());
  ASSERT_THAT(dec.DecodeDelta(delta, IdOf(1), base, back), IsOk());
  EXPECT_EQ(back, child);
}

TEST(DeltaCodecTest, EncoderRefusesOddOrMismatchedSizes) {
  ChunkEncoder enc;
  Bytes delta;
  EXPECT_FALSE(enc.EncodeDelta(Bytes(11), Bytes(11), IdOf(1), &delta));
  EXPECT_FALSE(enc.EncodeDelta(Bytes(10), Bytes(12), IdOf(1), &delta));
  EXPECT_FALSE(enc.EncodeDelta(Bytes(), Bytes(), IdOf(1), &delta));
}

TEST(DeltaCodecTest, PlainDecodeRefusesDelta) {
  DeltaCase c;
  Bytes out;
  EXPECT_THAT(DecodeInto(ChunkEncoding::kDelta, c.delta, c.child.size(), &out),
              HasCodeAndMessage(StatusCode::kCorruption, "without its base"));
}

TEST(DeltaCodecTest, RefusesAnotherBaseId) {
  DeltaCase c;
  ChunkDecoder dec;
  Bytes out(c.child.size());
  EXPECT_THAT(dec.DecodeDelta(c.delta, IdOf(0x18), c.base, out),
              HasCodeAndMessage(StatusCode::kCorruption, "encoded against base 1717171717171717"));
}

TEST(DeltaCodecTest, RefusesBaseOfAnotherSize) {
  DeltaCase c;
  Bytes shorter(c.base.begin(), c.base.end() - 2), out;
  EXPECT_THAT(c.Decode(c.delta, shorter, &out), HasCodeAndMessage(StatusCode::kCorruption, "another shape or alignment"));
}

TEST(DeltaCodecTest, RefusesOddSize) {
  DeltaCase c;
  Bytes out;
  Bytes base(c.base.begin(), c.base.begin() + 11);
  EXPECT_THAT(c.Decode(c.delta, base, &out, 11), HasCodeAndMessage(StatusCode::kCorruption, "whole 16-bit elements"));
}

TEST(DeltaCodecTest, RefusesTruncationAnywhere) {
  DeltaCase c;
  Bytes out;
  for (std::size_t n : {std::size_t(0), std::size_t(20), kDeltaHeaderSize, kDeltaHeaderSize + 5, c.delta.size() / 2, c.delta.size() - 1}) {
    EXPECT_THAT(c.Decode(ByteSpan(c.delta.data(), n), c.base, &out), HasCode(StatusCode::kCorruption)) << n;
  }
}

TEST(DeltaCodecTest, RefusesTrailingBytes) {
  DeltaCase c;
  Bytes longer = c.delta;
  longer.push_back(0);
  Bytes out;
  EXPECT_THAT(c.Decode(longer, c.base, &out), HasCode(StatusCode::kCorruption));
}

TEST(DeltaCodecTest, RefusesHighFrameLengthPastTheEnd) {
  DeltaCase c;
  Bytes bad = c.delta;
  StoreLe32(bad.data() + kChunkIdSize, std::uint32_t(bad.size()));
  Bytes out;
  EXPECT_THAT(c.Decode(bad, c.base, &out), HasCodeAndMessage(StatusCode::kCorruption, "runs past"));
}

TEST(DeltaCodecTest, RefusesStreamsOfAnotherDeclaredSize) {
  DeltaCase c;
  // A delta made for a chunk twice as long declares streams of the wrong size.
  Bytes big_base = Bf16Weights(200'000, 5), big_child = NudgedBf16(big_base, 0.0005f, 6), big;
  ChunkEncoder enc;
  ASSERT_TRUE(enc.EncodeDelta(big_child, big_base, c.base_id, &big));
  Bytes out;
  EXPECT_THAT(c.Decode(big, c.base, &out), HasCodeAndMessage(StatusCode::kCorruption, "declares"));
}

// --- Records ---------------------------------------------------------------

class RecordTest : public ::testing::Test {
 protected:
  RecordTest()
      : key_(LineageKey::FromBytes(Bytes(32, 0x11)).value()),
        plain_(Bf16Weights(4096, 13)),
        id_(key_.ChunkIdOf(plain_)) {
    ChunkEncoder enc;
    encoding_ = enc.Encode(plain_, true, &encoded_);
    SealRecord(key_, id_, encoding_, plain_.size(), encoded_, &record_);
  }

  Status OpenWith(ByteSpan chunk_key, const ChunkId& id, ChunkEncoding e, std::uint64_t size, ByteSpan record) {
    Bytes out;
    Status s = OpenRecord(chunk_key, id, e, size, record, &out);
    if (s.ok()) {
      EXPECT_EQ(out, encoded_);
    } else {
      // No unauthenticated plaintext escapes.
      EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](std::uint8_t b) { return b == 0; }));
    }
    return s;
  }
  Status OpenFlipped(std::size_t index) {
    Bytes bad = record_;
    bad[index] ^= 0x01;
    return OpenWith(key_.ChunkKey(id_).Expose(), id_, encoding_, plain_.size(), bad);
  }

  LineageKey key_;
  Bytes plain_;
  ChunkId id_;
  ChunkEncoding encoding_;
  Bytes encoded_;
  Bytes record_;
};

TEST_F(RecordTest, RoundTrip) {
  ASSERT_EQ(encoding_, ChunkEncoding::kBg2);
  EXPECT_EQ(record_.size(), encoded_.size() + kRecordOverhead);
  EXPECT_THAT(OpenWith(key_.ChunkKey(id_).Expose(), id_, encoding_, plain_.size(), record_), IsOk());
}

TEST_F(RecordTest, CiphertextIsNotTheEncodedBytes) {
  ByteSpan body = ByteSpan(record_).subspan(crypto::kAesGcmNonceSize, encoded_.size());
  EXPECT_NE(Bytes(body.begin(), body.end()), encoded_);
}

TEST_F(RecordTest, WrongChunkKeyIsUnauthenticated) {
  ChunkId other = id_;
  other[0] ^= 1;
  EXPECT_THAT(OpenWith(key_.ChunkKey(other).Expose(), id_, encoding_, plain_.size(), record_),
              HasCode(StatusCode::kUnauthenticated));
}

TEST_F(RecordTest, OtherLineageKeyIsUnauthenticated) {
  LineageKey other = LineageKey::FromBytes(Bytes(32, 0x22)).value();
  EXPECT_THAT(OpenWith(other.ChunkKey(id_).Expose(), id_, encoding_, plain_.size(), record_),
              HasCode(StatusCode::kUnauthenticated));
}

TEST_F(RecordTest, FlippedNonceByteIsUnauthenticated) {
  EXPECT_THAT(OpenFlipped(0), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(OpenFlipped(crypto::kAesGcmNonceSize - 1), HasCode(StatusCode::kUnauthenticated));
}

TEST_F(RecordTest, FlippedCiphertextByteIsUnauthenticated) {
  EXPECT_THAT(OpenFlipped(crypto::kAesGcmNonceSize), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(OpenFlipped(record_.size() / 2), HasCode(StatusCode::kUnauthenticated));
}

TEST_F(RecordTest, FlippedTagByteIsUnauthenticated) {
  EXPECT_THAT(OpenFlipped(record_.size() - 1), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(OpenFlipped(record_.size() - crypto::kAesGcmTagSize), HasCode(StatusCode::kUnauthenticated));
}

TEST_F(RecordTest, WrongChunkIdIsUnauthenticated) {
  // The record moved to another chunk id, decrypted with the right key for
  // its original id: the AAD still binds the id.
  ChunkId other = id_;
  other[31] ^= 0x80;
  EXPECT_THAT(OpenWith(key_.ChunkKey(id_).Expose(), other, encoding_, plain_.size(), record_),
              HasCode(StatusCode::kUnauthenticated));
}

TEST_F(RecordTest, WrongEncodingIsUnauthenticated) {
  for (auto e : {ChunkEncoding::kRaw, ChunkEncoding::kZstd}) {
    EXPECT_THAT(OpenWith(key_.ChunkKey(id_).Expose(), id_, e, plain_.size(), record_),
                HasCode(StatusCode::kUnauthenticated))
        << EncodingName(e);
  }
}

TEST_F(RecordTest, WrongPlainSizeIsUnauthenticated) {
  const std::uint64_t n = plain_.size();
  for (std::uint64_t size : {n - 1, n + 1, n + (std::uint64_t(1) << 32)}) {
    EXPECT_THAT(OpenWith(key_.ChunkKey(id_).Expose(), id_, encoding_, size, record_),
                HasCode(StatusCode::kUnauthenticated))
        << size;
  }
}

TEST_F(RecordTest, TruncatedRecordIsRefused) {
  EXPECT_THAT(OpenWith(key_.ChunkKey(id_).Expose(), id_, encoding_, plain_.size(), ByteSpan(record_).first(record_.size() - 1)),
              HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(OpenWith(key_.ChunkKey(id_).Expose(), id_, encoding_, plain_.size(), ByteSpan(record_).first(kRecordOverhead - 1)),
              HasCodeAndMessage(StatusCode::kCorruption, "shorter than nonce and tag"));
}

TEST_F(RecordTest, ExtendedRecordIsUnauthenticated) {
  Bytes longer = record_;
  longer.push_back(0);
  EXPECT_THAT(OpenWith(key_.ChunkKey(id_).Expose(), id_, encoding_, plain_.size(), longer),
              HasCode(StatusCode::kUnauthenticated));
}

TEST_F(RecordTest, SealIsDeterministic) {
  Bytes again;
  SealRecord(key_, id_, encoding_, plain_.size(), encoded_, &again);
  EXPECT_EQ(again, record_);
}

TEST_F(RecordTest, DifferentEncodedBytesGiveDifferentNonce) {
  Bytes other_encoded = encoded_;
  other_encoded.back() ^= 1;
  Bytes other;
  SealRecord(key_, id_, encoding_, plain_.size(), other_encoded, &other);
  EXPECT_FALSE(std::equal(record_.begin(), record_.begin() + crypto::kAesGcmNonceSize, other.begin()));
}

TEST_F(RecordTest, DifferentEncodingGivesDifferentNonce) {
  Bytes other;
  SealRecord(key_, id_, ChunkEncoding::kRaw, plain_.size(), encoded_, &other);
  EXPECT_FALSE(std::equal(record_.begin(), record_.begin() + crypto::kAesGcmNonceSize, other.begin()));
}

TEST_F(RecordTest, OtherLineageGivesDifferentRecord) {
  LineageKey other_key = LineageKey::FromBytes(Bytes(32, 0x33)).value();
  Bytes other;
  SealRecord(other_key, id_, encoding_, plain_.size(), encoded_, &other);
  EXPECT_NE(other, record_);
}

TEST(ChunkIdTest, IdIsKeyed) {
  LineageKey a = LineageKey::FromBytes(Bytes(32, 1)).value();
  LineageKey b = LineageKey::FromBytes(Bytes(32, 2)).value();
  Bytes plain = Text(1000);
  EXPECT_EQ(a.ChunkIdOf(plain), a.ChunkIdOf(plain));
  EXPECT_NE(a.ChunkIdOf(plain), b.ChunkIdOf(plain));
  EXPECT_NE(a.ChunkIdOf(plain), crypto::Sha256::Hash(plain));
}

}  // namespace
}  // namespace arca::format
