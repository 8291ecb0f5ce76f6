#include "base/json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "base/file_system.h"
#include "base/testing/status_matchers.h"

namespace arca {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Parses `text` and canonicalizes it; the test fails if parsing fails.
std::string Canon(std::string_view text) {
  auto parsed = ParseJson(text, "test.json");
  EXPECT_THAT(parsed, IsOk()) << text;
  if (!parsed.ok()) return "<parse error>";
  auto out = CanonicalJson(*parsed);
  EXPECT_THAT(out, IsOk()) << text;
  return out.ok() ? *out : "<canonical error>";
}

std::string Nested(int depth, std::string_view inner = "") {
  return std::string(std::size_t(depth), '[') + std::string(inner) + std::string(std::size_t(depth), ']');
}

std::string NestedObjects(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += "{\"a\":";
  s += "1";
  for (int i = 0; i < depth; ++i) s += "}";
  return s;
}

// --- CanonicalJson: RFC 8785 vectors -----------------------------------------

std::string VectorDir() {
  const char* env = std::getenv("ARCA_SOURCE_DIR");
  return JoinPath(env != nullptr ? env : ARCA_SOURCE_DIR, "tests/vectors/jcs");
}

std::string ReadVector(const std::string& name) {
  auto data = ReadFileBounded(FileSystem::Default(), JoinPath(VectorDir(), name), 1 << 16);
  EXPECT_THAT(data, IsOk()) << name;
  return data.ok() ? ToString(*data) : std::string();
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Replays tests/vectors/jcs/ (see its README): every file must be part of a
// complete vector, so nothing is silently skipped.
TEST(JcsVectorsTest, AllVectorsPass) {
  auto names = FileSystem::Default().ListDir(VectorDir());
  ASSERT_THAT(names, IsOk());
  std::map<std::string, int> pairs;  // stem -> bit 1 input, bit 2 canonical
  int checked = 0;
  for (const std::string& name : *names) {
    if (name == "README.md") continue;
    if (EndsWith(name, ".input.json")) {
      pairs[name.substr(0, name.size() - 11)] |= 1;
    } else if (EndsWith(name, ".canonical.json")) {
      pairs[name.substr(0, name.size() - 15)] |= 2;
    } else if (EndsWith(name, ".refused.json")) {
      auto parsed = ParseJson(ReadVector(name), name);
      ASSERT_THAT(parsed, IsOk()) << name;
      EXPECT_THAT(CanonicalJson(*parsed), HasCode(StatusCode::kInvalidArgument)) << name;
      ++checked;
    } else {
      ADD_FAILURE() << "unrecognized file in tests/vectors/jcs: " << name;
    }
  }
  for (const auto& [stem, bits] : pairs) {
    ASSERT_EQ(bits, 3) << stem << " needs both .input.json and .canonical.json";
    std::string expected = ReadVector(stem + ".canonical.json");
    if (EndsWith(expected, "\n")) expected.pop_back();
    std::string input = ReadVector(stem + ".input.json");
    EXPECT_EQ(Canon(input), expected) << stem;
    // Canonical text is a fixed point.
    EXPECT_EQ(Canon(expected), expected) << stem;
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

// The same §3.2.3 vector inline, so a failure here reads without the files.
TEST(CanonicalJsonTest, Rfc8785Section323SortsByUtf16CodeUnits) {
  const char* input =
      R"({"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One",)"
      R"("\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"})";
  EXPECT_EQ(Canon(input),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
            "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\",\"\xe2\x82\xac\":\"Euro Sign\","
            "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\",\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

// A supplementary character (surrogates D800-DBFF) sorts before U+E000-U+FFFF
// by UTF-16, although it is after them by code point and by UTF-8 bytes.
TEST(CanonicalJsonTest, SupplementaryCharacterSortsBeforeHighBmp) {
  EXPECT_EQ(Canon(R"({"\uffff":1,"\ud83d\ude00":2,"\ue000":3})"),
            "{\"\xf0\x9f\x98\x80\":2,\"\xee\x80\x80\":3,\"\xef\xbf\xbf\":1}");
}

TEST(CanonicalJsonTest, SortsKeysBytewiseForAscii) {
  EXPECT_EQ(Canon(R"({"b":1,"a":2,"B":3,"aa":4,"":5,"A":6})"), R"({"":5,"A":6,"B":3,"a":2,"aa":4,"b":1})");
}

// --- CanonicalJson: structure -------------------------------------------------

TEST(CanonicalJsonTest, SortsNestedObjectsAtEveryLevel) {
  EXPECT_EQ(Canon(R"({"b":[{"z":1,"a":2}],"a":{"d":true,"c":null}})"),
            R"({"a":{"c":null,"d":true},"b":[{"a":2,"z":1}]})");
}

TEST(CanonicalJsonTest, KeepsArrayOrder) { EXPECT_EQ(Canon("[3, 1, 2]"), "[3,1,2]"); }

TEST(CanonicalJsonTest, RemovesWhitespace) {
  EXPECT_EQ(Canon(" {\n\t\"a\" : [ 1 , 2 ] ,\r\n \"b\" : { } , \"c\" : [ ] } "), R"({"a":[1,2],"b":{},"c":[]})");
}

TEST(CanonicalJsonTest, Literals) {
  EXPECT_EQ(Canon("[null,true,false]"), "[null,true,false]");
  EXPECT_EQ(Canon("null"), "null");
}

TEST(CanonicalJsonTest, EmptyContainers) {
  EXPECT_EQ(Canon("{}"), "{}");
  EXPECT_EQ(Canon("[]"), "[]");
  EXPECT_EQ(Canon("[[],{}]"), "[[],{}]");
}

TEST(CanonicalJsonTest, IsIdempotent) {
  std::string once = Canon(R"({"z":[1,{"y":"\u00e9","x":-3}],"a":"\u001f"})");
  EXPECT_EQ(Canon(once), once);
}

// --- CanonicalJson: strings ---------------------------------------------------

TEST(CanonicalJsonTest, EscapesControlCharactersWithShortFormsWhereDefined) {
  EXPECT_EQ(Canon(R"(["\u0008\u0009\u000a\u000c\u000d"])"), R"(["\b\t\n\f\r"])");
}

TEST(CanonicalJsonTest, EscapesOtherControlCharactersAsLowerCaseU00xx) {
  EXPECT_EQ(Canon(R"(["\u0000\u0001\u000B\u000e\u001F"])"), R"(["\u0000\u0001\u000b\u000e\u001f"])");
}

TEST(CanonicalJsonTest, EscapesEveryControlCharacter) {
  for (int c = 0; c < 0x20; ++c) {
    Json v = std::string(1, char(c));
    auto out = CanonicalJson(v);
    ASSERT_THAT(out, IsOk());
    ASSERT_GE(out->size(), 4u) << c;
    EXPECT_EQ((*out)[1], '\\') << c;
    auto back = ParseJson(*out, "roundtrip");
    ASSERT_THAT(back, IsOk()) << c;
    EXPECT_EQ(*back, v) << c;
  }
}

TEST(CanonicalJsonTest, EscapesQuoteAndBackslashOnly) {
  EXPECT_EQ(Canon(R"(["\"\\\/"])"), R"(["\"\\/"])");
}

TEST(CanonicalJsonTest, DeleteAndNonAsciiAreLiteral) {
  EXPECT_EQ(Canon(R"(["\u007f\u00e9\u20ac\ud83d\ude00"])"), "[\"\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]");
}

TEST(CanonicalJsonTest, UnescapesNeedlessEscapes) { EXPECT_EQ(Canon(R"(["\u0041\u0062"])"), R"(["Ab"])"); }

TEST(CanonicalJsonTest, EscapesKeysLikeValues) { EXPECT_EQ(Canon(R"({"a\nb":"\t"})"), R"({"a\nb":"\t"})"); }

// --- CanonicalJson: numbers ---------------------------------------------------

TEST(CanonicalJsonTest, Integers) {
  EXPECT_EQ(Canon("[0,1,-1,42,-42,1000000]"), "[0,1,-1,42,-42,1000000]");
}

TEST(CanonicalJsonTest, NegativeZeroIsZero) { EXPECT_EQ(Canon("-0"), "0"); }

TEST(CanonicalJsonTest, AcceptsPlusMinusTwoToThe53) {
  EXPECT_EQ(Canon("9007199254740992"), "9007199254740992");
  EXPECT_EQ(Canon("-9007199254740992"), "-9007199254740992");
  EXPECT_EQ(Canon("9007199254740991"), "9007199254740991");
}

TEST(CanonicalJsonTest, RefusesIntegerAboveTwoToThe53) {
  auto v = ParseJson("9007199254740993", "t");
  ASSERT_THAT(v, IsOk());
  EXPECT_THAT(CanonicalJson(*v), HasCodeAndMessage(StatusCode::kInvalidArgument, "2^53"));
}

TEST(CanonicalJsonTest, RefusesIntegerBelowMinusTwoToThe53) {
  auto v = ParseJson("-9007199254740993", "t");
  ASSERT_THAT(v, IsOk());
  EXPECT_THAT(CanonicalJson(*v), HasCodeAndMessage(StatusCode::kInvalidArgument, "2^53"));
}

TEST(CanonicalJsonTest, RefusesUint64Max) {
  EXPECT_THAT(CanonicalJson(Json(std::uint64_t(UINT64_MAX))), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(CanonicalJson(Json(std::int64_t(INT64_MIN))), HasCode(StatusCode::kInvalidArgument));
}

TEST(CanonicalJsonTest, RefusesIntegerTooBigForInt64) {
  // nlohmann falls back to double for these; either way they are refused.
  auto v = ParseJson("[18446744073709551616, -9223372036854775809]", "t");
  ASSERT_THAT(v, IsOk());
  EXPECT_THAT(CanonicalJson((*v)[0]), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(CanonicalJson((*v)[1]), HasCode(StatusCode::kInvalidArgument));
}

TEST(CanonicalJsonTest, RefusesFloats) {
  for (const char* text : {"1.5", "1.0", "1e2", "1E-2", "-0.0", "0.1"}) {
    auto v = ParseJson(text, "t");
    ASSERT_THAT(v, IsOk()) << text;
    EXPECT_THAT(CanonicalJson(*v), HasCodeAndMessage(StatusCode::kInvalidArgument, "non-integer")) << text;
  }
}

TEST(CanonicalJsonTest, RefusesFloatNestedDeep) {
  auto v = ParseJson(R"({"a":[1,{"b":[2.5]}]})", "t");
  ASSERT_THAT(v, IsOk());
  EXPECT_THAT(CanonicalJson(*v), HasCode(StatusCode::kInvalidArgument));
}

TEST(CanonicalJsonTest, RefusesBinaryValues) {
  EXPECT_THAT(CanonicalJson(Json::binary({1, 2})), HasCode(StatusCode::kInvalidArgument));
}

// --- ParseJson: limits --------------------------------------------------------

TEST(ParseJsonTest, AcceptsExactlyMaxBytes) {
  JsonLimits limits;
  limits.max_bytes = 7;
  EXPECT_THAT(ParseJson(R"({"a":1})", "t", limits), IsOk());
}

TEST(ParseJsonTest, RefusesOverMaxBytes) {
  JsonLimits limits;
  limits.max_bytes = 6;
  EXPECT_THAT(ParseJson(R"({"a":1})", "index.json", limits),
              HasCodeAndMessage(StatusCode::kResourceExhausted, "index.json is 7 bytes, over the limit of 6"));
}

TEST(ParseJsonTest, RefusesOverMaxBytesBeforeParsing) {
  // Not even valid JSON: the size check comes first.
  JsonLimits limits;
  limits.max_bytes = 2;
  EXPECT_THAT(ParseJson("{{{", "t", limits), HasCode(StatusCode::kResourceExhausted));
}

TEST(ParseJsonTest, AcceptsNestingAtMaxDepth) {
  JsonLimits limits;
  limits.max_depth = 4;
  EXPECT_THAT(ParseJson(Nested(4), "t", limits), IsOk());
  EXPECT_THAT(ParseJson(Nested(4, "1"), "t", limits), IsOk());
  EXPECT_THAT(ParseJson(NestedObjects(4), "t", limits), IsOk());
}

TEST(ParseJsonTest, RefusesArrayNestingOverMaxDepth) {
  JsonLimits limits;
  limits.max_depth = 4;
  EXPECT_THAT(ParseJson(Nested(5, "1"), "t", limits), HasCodeAndMessage(StatusCode::kResourceExhausted, "deeper than 4"));
}

// Found by this test: an empty innermost container used to slip one level past
// the limit, because only the values inside a container were depth-checked.
TEST(ParseJsonTest, RefusesEmptyInnermostContainerOverMaxDepth) {
  JsonLimits limits;
  limits.max_depth = 4;
  EXPECT_THAT(ParseJson(Nested(5), "t", limits), HasCode(StatusCode::kResourceExhausted));
  EXPECT_THAT(ParseJson("[[[[{}]]]]", "t", limits), HasCode(StatusCode::kResourceExhausted));
}

TEST(ParseJsonTest, RefusesObjectNestingOverMaxDepth) {
  JsonLimits limits;
  limits.max_depth = 4;
  EXPECT_THAT(ParseJson(NestedObjects(5), "t", limits), HasCode(StatusCode::kResourceExhausted));
}

TEST(ParseJsonTest, DefaultDepthLimitIs32) {
  EXPECT_THAT(ParseJson(Nested(32, "0"), "t"), IsOk());
  EXPECT_THAT(ParseJson(Nested(33, "0"), "t"), HasCode(StatusCode::kResourceExhausted));
}

TEST(ParseJsonTest, RefusesVeryDeepNestingWithoutCrashing) {
  EXPECT_THAT(ParseJson(Nested(100000), "t"), HasCode(StatusCode::kResourceExhausted));
  EXPECT_THAT(ParseJson(std::string(100000, '['), "t"), HasCode(StatusCode::kResourceExhausted));
}

TEST(ParseJsonTest, ScalarsAtTopLevelHaveDepthZero) {
  JsonLimits limits;
  limits.max_depth = 0;
  EXPECT_THAT(ParseJson("1", "t", limits), IsOk());
  EXPECT_THAT(ParseJson("[]", "t", limits), HasCode(StatusCode::kResourceExhausted));
}

// --- ParseJson: duplicate keys ------------------------------------------------

TEST(ParseJsonTest, RefusesDuplicateTopLevelKey) {
  EXPECT_THAT(ParseJson(R"({"a":1,"b":2,"a":3})", "index.json"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "index.json: duplicate key \"a\""));
}

TEST(ParseJsonTest, RefusesDuplicateNestedKey) {
  EXPECT_THAT(ParseJson(R"({"x":{"sig":1,"sig":2}})", "t"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "duplicate key \"sig\""));
}

TEST(ParseJsonTest, RefusesDuplicateKeyInObjectInsideArray) {
  EXPECT_THAT(ParseJson(R"([{"k":1},{"k":1,"k":1}])", "t"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "duplicate key \"k\""));
}

TEST(ParseJsonTest, RefusesDuplicateKeyAfterClosingNestedObject) {
  EXPECT_THAT(ParseJson(R"({"a":{"b":1},"a":2})", "t"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "duplicate key \"a\""));
}

TEST(ParseJsonTest, RefusesDuplicateKeySpelledWithEscapes) {
  EXPECT_THAT(ParseJson(R"({"a":1,"\u0061":2})", "t"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "duplicate key \"a\""));
}

TEST(ParseJsonTest, SameKeyInDifferentObjectsIsFine) {
  EXPECT_THAT(ParseJson(R"({"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]})", "t"), IsOk());
}

// --- ParseJson: syntax and encoding -------------------------------------------

// The position is nlohmann's 1-based byte count: byte 8 is the '}' at offset 7.
TEST(ParseJsonTest, SyntaxErrorNamesDocumentAndBytePosition) {
  EXPECT_THAT(ParseJson(R"({"a":1,})", "index.json"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "index.json: JSON syntax error at byte 8"));
  EXPECT_THAT(ParseJson("[1 2]", "t"), HasCodeAndMessage(StatusCode::kInvalidArgument, "at byte 4"));
}

// Found by this test: the message used to quote nlohmann's "last read" token,
// i.e. bytes of the document, which may be a token or a key.
TEST(ParseJsonTest, SyntaxErrorDoesNotEchoDocumentBytes) {
  auto r = ParseJson(R"({"token":"s3cr3t-VALUE)", "credentials.json");
  EXPECT_THAT(r, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("s3cr3t")));
  auto r2 = ParseJson(R"({"token":"s3cr3t-VALUE" x})", "credentials.json");
  EXPECT_THAT(r2, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(r2.status().message(), Not(HasSubstr("s3cr3t")));
}

TEST(ParseJsonTest, RefusesEmptyInput) {
  EXPECT_THAT(ParseJson("", "t"), HasCodeAndMessage(StatusCode::kInvalidArgument, "syntax error"));
  EXPECT_THAT(ParseJson("   ", "t"), HasCode(StatusCode::kInvalidArgument));
}

TEST(ParseJsonTest, RefusesTrailingGarbage) {
  EXPECT_THAT(ParseJson("{} x", "t"), HasCodeAndMessage(StatusCode::kInvalidArgument, "at byte 4"));
  EXPECT_THAT(ParseJson("{}{}", "t"), HasCode(StatusCode::kInvalidArgument));
}

TEST(ParseJsonTest, RefusesComments) {
  EXPECT_THAT(ParseJson("{/* c */}", "t"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseJson("{} // c", "t"), HasCode(StatusCode::kInvalidArgument));
}

TEST(ParseJsonTest, RefusesNonJsonLiterals) {
  for (const char* text : {"NaN", "Infinity", "-Infinity", "'a'", "01", "+1", "0x10", "True", "[1,]", "{a:1}"}) {
    EXPECT_THAT(ParseJson(text, "t"), HasCode(StatusCode::kInvalidArgument)) << text;
  }
}

TEST(ParseJsonTest, RefusesRawControlCharacterInString) {
  EXPECT_THAT(ParseJson("[\"a\nb\"]", "t"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseJson(std::string_view("[\"a\0b\"]", 6), "t"), HasCode(StatusCode::kInvalidArgument));
}

TEST(ParseJsonTest, RefusesInvalidUtf8Byte) {
  EXPECT_THAT(ParseJson("[\"\xff\"]", "t"), HasCodeAndMessage(StatusCode::kInvalidArgument, "at byte 3"));
}

TEST(ParseJsonTest, RefusesOverlongUtf8) {
  EXPECT_THAT(ParseJson("[\"\xc0\xaf\"]", "t"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseJson("[\"\xe0\x80\xaf\"]", "t"), HasCode(StatusCode::kInvalidArgument));
}

TEST(ParseJsonTest, RefusesUtf8EncodedSurrogate) {
  EXPECT_THAT(ParseJson("[\"\xed\xa0\x80\"]", "t"), HasCode(StatusCode::kInvalidArgument));
}

TEST(ParseJsonTest, RefusesUtf8AboveMaxCodePoint) {
  EXPECT_THAT(ParseJson("[\"\xf4\x90\x80\x80\"]", "t"), HasCode(StatusCode::kInvalidArgument));
}

TEST(ParseJsonTest, RefusesTruncatedUtf8) {
  EXPECT_THAT(ParseJson("[\"\xe2\x82\"]", "t"), HasCode(StatusCode::kInvalidArgument));
}

TEST(ParseJsonTest, RefusesInvalidUtf8InKey) {
  EXPECT_THAT(ParseJson("{\"\xc3\":1}", "t"), HasCode(StatusCode::kInvalidArgument));
}

TEST(ParseJsonTest, RefusesLoneSurrogateEscape) {
  EXPECT_THAT(ParseJson(R"(["\ud800"])", "t"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseJson(R"(["\ude00"])", "t"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseJson(R"(["\ud83d\u0041"])", "t"), HasCode(StatusCode::kInvalidArgument));
}

TEST(ParseJsonTest, AcceptsValidMultibyteUtf8) {
  auto r = ParseJson("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"]", "t");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ((*r)[0].get<std::string>(), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
}

TEST(ParseJsonTest, ParsesTypes) {
  auto r = ParseJson(R"({"s":"x","u":5,"n":-5,"b":true,"z":null,"a":[],"o":{}})", "t");
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE((*r)["s"].is_string());
  EXPECT_TRUE((*r)["u"].is_number_unsigned());
  EXPECT_TRUE((*r)["n"].is_number_integer());
  EXPECT_TRUE((*r)["b"].is_boolean());
  EXPECT_TRUE((*r)["z"].is_null());
  EXPECT_TRUE((*r)["a"].is_array());
  EXPECT_TRUE((*r)["o"].is_object());
}

// --- typed accessors ----------------------------------------------------------

Json Doc() {
  auto r = ParseJson(
      R"({"name":"llama","size":4096,"neg":-1,"big":18446744073709551615,"f":1.5,"list":[1],"obj":{"k":1},"nul":null})",
      "t");
  EXPECT_THAT(r, IsOk());
  return r.ok() ? *r : Json();
}

TEST(RequireStringTest, ReturnsValue) {
  auto r = RequireString(Doc(), "name", "manifest");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(*r, "llama");
}

TEST(RequireStringTest, MissingFieldNamesPath) {
  EXPECT_THAT(RequireString(Doc(), "absent", "manifest"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "manifest.absent must be a string"));
}

TEST(RequireStringTest, WrongType) {
  EXPECT_THAT(RequireString(Doc(), "size", "manifest"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "manifest.size must be a string"));
  EXPECT_THAT(RequireString(Doc(), "nul", "manifest"), HasCode(StatusCode::kInvalidArgument));
}

TEST(RequireStringTest, NonObjectIsAnErrorNotAnException) {
  EXPECT_THAT(RequireString(Json::array({"name"}), "name", "m"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(RequireString(Json("name"), "name", "m"), HasCode(StatusCode::kInvalidArgument));
}

TEST(RequireUintTest, ReturnsValue) {
  auto r = RequireUint(Doc(), "size", "manifest");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(*r, 4096u);
}

TEST(RequireUintTest, AcceptsUint64Max) {
  auto r = RequireUint(Doc(), "big", "manifest");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(*r, UINT64_MAX);
}

TEST(RequireUintTest, AcceptsValueEqualToMax) {
  auto r = RequireUint(Doc(), "size", "manifest", 4096);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(*r, 4096u);
}

TEST(RequireUintTest, RefusesAboveMax) {
  EXPECT_THAT(RequireUint(Doc(), "size", "manifest", 4095),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "manifest.size is 4096, above the maximum 4095"));
}

TEST(RequireUintTest, RefusesNegative) {
  EXPECT_THAT(RequireUint(Doc(), "neg", "manifest"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "manifest.neg must not be negative"));
}

TEST(RequireUintTest, RefusesFloat) {
  EXPECT_THAT(RequireUint(Doc(), "f", "manifest"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "manifest.f must be an integer"));
}

TEST(RequireUintTest, RefusesString) {
  EXPECT_THAT(RequireUint(Doc(), "name", "manifest"), HasCode(StatusCode::kInvalidArgument));
}

TEST(RequireUintTest, RefusesMissing) {
  EXPECT_THAT(RequireUint(Doc(), "absent", "manifest"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "manifest.absent must be an integer"));
}

TEST(RequireUintTest, RefusesBoolean) {
  EXPECT_THAT(RequireUint(Json{{"b", true}}, "b", "m"), HasCode(StatusCode::kInvalidArgument));
}

TEST(RequireArrayTest, ReturnsPointerIntoDocument) {
  Json doc = Doc();
  auto r = RequireArray(doc, "list", "manifest");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(*r, &doc["list"]);
}

TEST(RequireArrayTest, RefusesObject) {
  EXPECT_THAT(RequireArray(Doc(), "obj", "manifest"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "manifest.obj must be an array"));
}

TEST(RequireArrayTest, RefusesMissing) {
  EXPECT_THAT(RequireArray(Doc(), "absent", "manifest"), HasCode(StatusCode::kInvalidArgument));
}

TEST(RequireObjectTest, ReturnsPointerIntoDocument) {
  Json doc = Doc();
  auto r = RequireObject(doc, "obj", "manifest");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(*r, &doc["obj"]);
}

TEST(RequireObjectTest, RefusesArray) {
  EXPECT_THAT(RequireObject(Doc(), "list", "manifest"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "manifest.list must be an object"));
}

TEST(RequireObjectTest, RefusesNull) {
  EXPECT_THAT(RequireObject(Doc(), "nul", "manifest"), HasCode(StatusCode::kInvalidArgument));
}

TEST(RejectUnknownFieldsTest, AcceptsKnownSubset) {
  EXPECT_THAT(RejectUnknownFields(Json{{"a", 1}}, {"a", "b"}, "m"), IsOk());
  EXPECT_THAT(RejectUnknownFields(Json::object(), {}, "m"), IsOk());
}

TEST(RejectUnknownFieldsTest, NamesUnknownField) {
  EXPECT_THAT(RejectUnknownFields(Json{{"a", 1}, {"extra", 2}}, {"a"}, "manifest"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "manifest has unknown field \"extra\""));
}

TEST(RejectUnknownFieldsTest, IsCaseSensitive) {
  EXPECT_THAT(RejectUnknownFields(Json{{"A", 1}}, {"a"}, "m"), HasCode(StatusCode::kInvalidArgument));
}

// Found by this test: iterating a non-object and calling key() threw
// nlohmann's invalid_iterator out of base/.
TEST(RejectUnknownFieldsTest, NonObjectIsAnErrorNotAnException) {
  EXPECT_THAT(RejectUnknownFields(Json::array({1}), {"a"}, "manifest"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "manifest must be an object"));
  EXPECT_THAT(RejectUnknownFields(Json(5), {"a"}, "manifest"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(RejectUnknownFields(Json(), {"a"}, "manifest"), HasCode(StatusCode::kInvalidArgument));
}

}  // namespace

TEST(ParseJsonTest, RefusesNulByteAndWhatFollows) {
  // nlohmann alone would stop at the NUL and return {}: a parser differential.
  const std::string text("{}\0{\"w\":1}", 10);
  EXPECT_THAT(ParseJson(text, "doc"), HasCodeAndMessage(StatusCode::kInvalidArgument, "NUL byte at offset 2"));
}

TEST(ParseJsonTest, RefusesNulInsideString) {
  const std::string text("{\"a\":\"x\0y\"}", 12);
  EXPECT_THAT(ParseJson(text, "doc"), HasCode(StatusCode::kInvalidArgument));
}

TEST(ParseJsonTest, RefusesLeadingByteOrderMark) {
  EXPECT_THAT(ParseJson("\xEF\xBB\xBF{}", "doc"), HasCodeAndMessage(StatusCode::kInvalidArgument, "byte order mark"));
}

}  // namespace arca
