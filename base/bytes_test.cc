#include "base/bytes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "base/testing/status_matchers.h"

namespace arca {
namespace {

Bytes B(std::string_view s) {
  ByteSpan b = AsBytes(s);
  return Bytes(b.begin(), b.end());
}

Bytes AllByteValues() {
  Bytes all(256);
  for (int i = 0; i < 256; ++i) all[i] = std::uint8_t(i);
  return all;
}

// --- hex --------------------------------------------------------------------

// RFC 4648 §10: BASE16 test vectors (we emit lower case, accept both).
TEST(HexTest, Rfc4648Section10Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},           {"f", "66"},         {"fo", "666F"},           {"foo", "666F6F"},
      {"foob", "666F6F62"}, {"fooba", "666F6F6261"}, {"foobar", "666F6F626172"},
  };
  for (const auto& [plain, hex] : vectors) {
    std::string lower(hex);
    for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(HexEncode(AsBytes(plain)), lower) << plain;
    auto decoded = HexDecode(hex);
    ASSERT_THAT(decoded, IsOk()) << hex;
    EXPECT_EQ(*decoded, B(plain)) << hex;
  }
}

TEST(HexTest, RoundTripsAllByteValues) {
  Bytes all = AllByteValues();
  std::string hex = HexEncode(all);
  EXPECT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(504), "fcfdfeff");
  auto back = HexDecode(hex);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, all);
}

TEST(HexTest, AcceptsUpperAndMixedCase) {
  auto r = HexDecode("DeadBEEF");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(*r, (Bytes{0xde, 0xad, 0xbe, 0xef}));
}

TEST(HexTest, EmptyDecodesToEmpty) {
  auto r = HexDecode("");
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->empty());
}

TEST(HexTest, RejectsOddLength) {
  EXPECT_THAT(HexDecode("abc"), HasCodeAndMessage(StatusCode::kInvalidArgument, "odd length 3"));
  EXPECT_THAT(HexDecode("a"), HasCodeAndMessage(StatusCode::kInvalidArgument, "odd length 1"));
}

TEST(HexTest, BadCharacterInHighNibbleNamesOffset) {
  EXPECT_THAT(HexDecode("00g0"), HasCodeAndMessage(StatusCode::kInvalidArgument, "at offset 2"));
}

TEST(HexTest, BadCharacterInLowNibbleNamesOffset) {
  EXPECT_THAT(HexDecode("000g"), HasCodeAndMessage(StatusCode::kInvalidArgument, "at offset 3"));
}

TEST(HexTest, BadCharacterAtStartNamesOffsetZero) {
  EXPECT_THAT(HexDecode("x0"), HasCodeAndMessage(StatusCode::kInvalidArgument, "at offset 0"));
}

TEST(HexTest, RejectsWhitespaceAndPrefix) {
  EXPECT_THAT(HexDecode("00 1"), HasCodeAndMessage(StatusCode::kInvalidArgument, "at offset 2"));
  EXPECT_THAT(HexDecode("0x00"), HasCodeAndMessage(StatusCode::kInvalidArgument, "at offset 1"));
}

TEST(HexTest, RejectsNonAsciiByte) {
  EXPECT_THAT(HexDecode("0\xc3"), HasCodeAndMessage(StatusCode::kInvalidArgument, "at offset 1"));
  EXPECT_THAT(HexDecode(std::string_view("\0" "0", 2)), HasCodeAndMessage(StatusCode::kInvalidArgument, "at offset 0"));
}

// --- base64 -----------------------------------------------------------------

// RFC 4648 §10: BASE64 test vectors.
constexpr std::pair<const char*, const char*> kBase64Vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

TEST(Base64Test, Rfc4648Section10Encode) {
  for (const auto& [plain, encoded] : kBase64Vectors) EXPECT_EQ(Base64Encode(AsBytes(plain)), encoded) << plain;
}

TEST(Base64Test, Rfc4648Section10Decode) {
  for (const auto& [plain, encoded] : kBase64Vectors) {
    auto r = Base64Decode(encoded);
    ASSERT_THAT(r, IsOk()) << encoded;
    EXPECT_EQ(*r, B(plain)) << encoded;
  }
}

TEST(Base64Test, Rfc4648Section10DecodeWithoutPadding) {
  const std::pair<const char*, const char*> unpadded[] = {
      {"f", "Zg"}, {"fo", "Zm8"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}};
  for (const auto& [plain, encoded] : unpadded) {
    auto r = Base64Decode(encoded);
    ASSERT_THAT(r, IsOk()) << encoded;
    EXPECT_EQ(*r, B(plain)) << encoded;
  }
}

TEST(Base64Test, RoundTripsAllByteValuesAndLengths) {
  Bytes all = AllByteValues();
  for (std::size_t n = 0; n <= all.size(); ++n) {
    Bytes prefix(all.begin(), all.begin() + std::ptrdiff_t(n));
    auto r = Base64Decode(Base64Encode(prefix));
    ASSERT_THAT(r, IsOk()) << n;
    EXPECT_EQ(*r, prefix) << n;
  }
}

// 0xfb 0xff encodes to "+/8=" (standard) and "-_8=" (URL-safe, §5).
TEST(Base64Test, EncodeUsesStandardAlphabet) { EXPECT_EQ(Base64Encode(Bytes{0xfb, 0xff}), "+/8="); }

TEST(Base64Test, AcceptsUrlSafeAlphabet) {
  auto r = Base64Decode("-_8=");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(*r, (Bytes{0xfb, 0xff}));
}

TEST(Base64Test, AcceptsUrlSafeAlphabetWithoutPadding) {
  auto r = Base64Decode("-_8");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(*r, (Bytes{0xfb, 0xff}));
}

TEST(Base64Test, RejectsMixedAlphabets) {
  EXPECT_THAT(Base64Decode("+_8="), HasCodeAndMessage(StatusCode::kInvalidArgument, "mixes standard and URL-safe"));
  EXPECT_THAT(Base64Decode("-/8="), HasCodeAndMessage(StatusCode::kInvalidArgument, "at offset 1"));
}

TEST(Base64Test, RejectsMixedAlphabetsAcrossGroups) {
  EXPECT_THAT(Base64Decode("+AAA-AAA"), HasCodeAndMessage(StatusCode::kInvalidArgument, "at offset 4"));
}

TEST(Base64Test, RejectsPaddingThatDoesNotCompleteAGroup) {
  EXPECT_THAT(Base64Decode("Zg="), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(Base64Decode("Zm8=="), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(Base64Decode("Zm9v="), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(Base64Decode("Zm9v=="), HasCode(StatusCode::kInvalidArgument));
}

TEST(Base64Test, RejectsTooMuchPadding) {
  EXPECT_THAT(Base64Decode("Zg==="), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(Base64Decode("Zm9v===="), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(Base64Decode("===="), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(Base64Decode("=="), HasCode(StatusCode::kInvalidArgument));
}

TEST(Base64Test, RejectsPaddingInTheMiddle) {
  EXPECT_THAT(Base64Decode("Zg==Zg=="), HasCodeAndMessage(StatusCode::kInvalidArgument, "at offset 2"));
  EXPECT_THAT(Base64Decode("Zm=v"), HasCodeAndMessage(StatusCode::kInvalidArgument, "at offset 2"));
}

TEST(Base64Test, RejectsImpossibleLength) {
  EXPECT_THAT(Base64Decode("Z"), HasCodeAndMessage(StatusCode::kInvalidArgument, "impossible length"));
  EXPECT_THAT(Base64Decode("Zm9vY"), HasCodeAndMessage(StatusCode::kInvalidArgument, "impossible length"));
}

// RFC 4648 §3.5: pad bits must be zero, or two encodings decode alike.
TEST(Base64Test, RejectsNonZeroTrailingBitsAfterOneByte) {
  // "Zg==" is "f"; "Zh==" differs only in the 4 discarded bits.
  EXPECT_THAT(Base64Decode("Zh=="), HasCodeAndMessage(StatusCode::kInvalidArgument, "trailing bits"));
  EXPECT_THAT(Base64Decode("Zh"), HasCodeAndMessage(StatusCode::kInvalidArgument, "trailing bits"));
}

TEST(Base64Test, RejectsNonZeroTrailingBitsAfterTwoBytes) {
  // "Zm8=" is "fo"; "Zm9=" differs only in the 2 discarded bits.
  EXPECT_THAT(Base64Decode("Zm9="), HasCodeAndMessage(StatusCode::kInvalidArgument, "trailing bits"));
  EXPECT_THAT(Base64Decode("Zm9"), HasCodeAndMessage(StatusCode::kInvalidArgument, "trailing bits"));
}

TEST(Base64Test, RejectsWhitespace) {
  EXPECT_THAT(Base64Decode("Zm9v YmF"), HasCodeAndMessage(StatusCode::kInvalidArgument, "at offset 4"));
  EXPECT_THAT(Base64Decode("Zm9v\nYmF"), HasCodeAndMessage(StatusCode::kInvalidArgument, "at offset 4"));
  EXPECT_THAT(Base64Decode(" Zm9"), HasCodeAndMessage(StatusCode::kInvalidArgument, "at offset 0"));
  EXPECT_THAT(Base64Decode("Zm9v YmFy"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(Base64Decode("Zm9vYmFy\r\n"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(Base64Decode("Zm9v\t"), HasCode(StatusCode::kInvalidArgument));
}

TEST(Base64Test, RejectsNonAlphabetCharacter) {
  EXPECT_THAT(Base64Decode("Zm9*"), HasCodeAndMessage(StatusCode::kInvalidArgument, "at offset 3"));
  EXPECT_THAT(Base64Decode("Zm9\xc3\xa9"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(Base64Decode(std::string_view("Zm9v\0AAA", 8)), HasCodeAndMessage(StatusCode::kInvalidArgument, "at offset 4"));
}

// --- ConstantTimeEquals -----------------------------------------------------

TEST(ConstantTimeEqualsTest, Equal) {
  EXPECT_TRUE(ConstantTimeEquals(B("tag-0123456789"), B("tag-0123456789")));
}

TEST(ConstantTimeEqualsTest, UnequalInLastByte) { EXPECT_FALSE(ConstantTimeEquals(B("abcd"), B("abce"))); }

TEST(ConstantTimeEqualsTest, UnequalInFirstByte) { EXPECT_FALSE(ConstantTimeEquals(B("abcd"), B("xbcd"))); }

TEST(ConstantTimeEqualsTest, DifferentLengthsAreUnequal) {
  EXPECT_FALSE(ConstantTimeEquals(B("abc"), B("abcd")));
  EXPECT_FALSE(ConstantTimeEquals(B("abcd"), B("abc")));
}

TEST(ConstantTimeEqualsTest, EmptyEqualsEmpty) {
  EXPECT_TRUE(ConstantTimeEquals(ByteSpan(), ByteSpan()));
  Bytes empty;
  EXPECT_TRUE(ConstantTimeEquals(empty, B("")));
}

TEST(ConstantTimeEqualsTest, EmptyDiffersFromNonEmpty) {
  EXPECT_FALSE(ConstantTimeEquals(ByteSpan(), B("a")));
  EXPECT_FALSE(ConstantTimeEquals(B("a"), ByteSpan()));
}

TEST(ConstantTimeEqualsTest, ZeroBytesAreCompared) {
  // A strcmp-style compare would stop at the first NUL.
  EXPECT_FALSE(ConstantTimeEquals(Bytes{0, 1}, Bytes{0, 2}));
  EXPECT_TRUE(ConstantTimeEquals(Bytes{0, 0}, Bytes{0, 0}));
}

// --- little-endian helpers --------------------------------------------------

TEST(LittleEndianTest, RoundTrip64) {
  std::uint8_t buf[8];
  StoreLe64(buf, 0x0102030405060708ull);
  EXPECT_EQ(buf[0], 0x08);
  EXPECT_EQ(buf[7], 0x01);
  EXPECT_EQ(LoadLe64(buf), 0x0102030405060708ull);
}

TEST(LittleEndianTest, RoundTrip32) {
  std::uint8_t buf[4];
  StoreLe32(buf, 0xa1b2c3d4u);
  EXPECT_EQ(buf[0], 0xd4);
  EXPECT_EQ(buf[3], 0xa1);
  EXPECT_EQ(LoadLe32(buf), 0xa1b2c3d4u);
}

TEST(AsBytesTest, ToStringRoundTrip) {
  std::string s("a\0b", 3);
  EXPECT_EQ(ToString(AsBytes(s)), s);
}


TEST(IsLowerHexTest, AcceptsExactLengthLowerCaseOnly) {
  EXPECT_TRUE(IsLowerHex("00ff", 4));
  EXPECT_TRUE(IsLowerHex("", 0));
  EXPECT_FALSE(IsLowerHex("00FF", 4));   // upper case has a second spelling
  EXPECT_FALSE(IsLowerHex("00ff", 3));   // wrong length
  EXPECT_FALSE(IsLowerHex("00fg", 4));   // not hex
}

}  // namespace
}  // namespace arca
