#include "format/manifest.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "base/testing/status_matchers.h"

namespace arca::format {
namespace {

std::string FakeDigest(char c) { return "sha256:" + std::string(64, c); }

ChunkId FakeId(std::uint8_t b) {
  ChunkId id;
  id.fill(b);
  return id;
}

class ManifestTest : public ::testing::Test {
 protected:
  ManifestTest() : key_(LineageKey::FromBytes(Bytes(32, 0x42)).value()) {
    m_.name = "acme/med-llm";
    m_.version = "1.2";
    m_.lineage_id = key_.LineageId();
    m_.parent = FakeDigest('e');
    m_.chunking = {256, 1024, 4096};
    m_.packs = {PackRef{FakeDigest('a'), 10'000, false}, PackRef{FakeDigest('b'), 5'000, true}};
    m_.chunks = {
        ChunkRef{FakeId(1), 0, 0, 1024 + kRecordOverhead, 1024, ChunkEncoding::kRaw, {}},
        ChunkRef{FakeId(2), 0, 1024 + kRecordOverhead, 500, 2000, ChunkEncoding::kZstd, {}},
        ChunkRef{FakeId(3), 1, 0, 800, 1500, ChunkEncoding::kBg2, {}},
        ChunkRef{FakeId(4), 1, 800, 100, 300, ChunkEncoding::kZstd, {}},
    };
    FileEntry config;
    config.path = "config.json";
    config.size = 3024;
    config.mode = 0644;
    config.sha256 = std::string(64, '1');
    config.chunks = {0, 1};
    FileEntry weights;
    weights.path = "weights/model.safetensors";
    weights.size = 3300;
    weights.mode = 0600;
    weights.sha256 = std::string(64, '2');
    weights.chunks = {2, 3, 2};
    weights.tensor_format = TensorFileFormat::kSafetensors;
    TensorInfo t;
    t.name = "layer.0.weight";
    t.dtype = "BF16";
    t.shape = {10, 20};
    t.begin = 100;
    t.end = 500;
    t.parameters = 200;
    weights.tensors = {t};
    FileEntry empty;
    empty.path = "weights/empty.txt";
    empty.size = 0;
    empty.sha256 = std::string(64, '3');
    m_.files = {config, weights, empty};
    m_.mac = ComputeManifestMac(m_, key_).value();
  }

  std::string Serialized() const { return SerializeManifest(m_).value(); }
  Json AsJson() const { return Json::parse(Serialized()); }

  // ParseEdited applies `edit` to the JSON form of the manifest and parses it.
  Result<Manifest> ParseEdited(const std::function<void(Json&)>& edit, const ManifestLimits& limits = {}) const {
    Json j = AsJson();
    edit(j);
    return ParseManifest(AsBytes(j.dump()), limits);
  }

  // ExpectRefused: an edited manifest must fail to parse (shape/consistency)
  // or, if it still parses, fail its MAC.
  void ExpectRefused(const std::function<void(Json&)>& edit) const {
    auto parsed = ParseEdited(edit);
    if (!parsed.ok()) {
      StatusCode c = parsed.status().code();
      EXPECT_TRUE(c == StatusCode::kCorruption || c == StatusCode::kInvalidArgument) << parsed.status().ToString();
      return;
    }
    EXPECT_THAT(VerifyManifestKey(*parsed, key_),
                HasCodeAndMessage(StatusCode::kUnauthenticated, "manifest MAC does not verify"));
  }

  // ExpectMacFails: the edit keeps the manifest well-formed; only the MAC
  // can catch it.
  void ExpectMacFails(const std::function<void(Json&)>& edit) const {
    auto parsed = ParseEdited(edit);
    ASSERT_THAT(parsed, IsOk());
    EXPECT_THAT(VerifyManifestKey(*parsed, key_),
                HasCodeAndMessage(StatusCode::kUnauthenticated, "manifest MAC does not verify"));
  }

  LineageKey key_;
  Manifest m_;
};

// --- Round trip and canonical form ----------------------------------------

TEST_F(ManifestTest, RoundTripPreservesEveryField) {
  auto parsed = ParseManifest(AsBytes(Serialized()));
  ASSERT_THAT(parsed, IsOk());
  const Manifest& p = *parsed;
  EXPECT_EQ(p.name, m_.name);
  EXPECT_EQ(p.version, m_.version);
  EXPECT_EQ(p.lineage_id, m_.lineage_id);
  EXPECT_EQ(p.parent, m_.parent);
  EXPECT_EQ(p.chunking.min_size, 256u);
  EXPECT_EQ(p.chunking.avg_size, 1024u);
  EXPECT_EQ(p.chunking.max_size, 4096u);
  ASSERT_EQ(p.packs.size(), 2u);
  EXPECT_EQ(p.packs[0].digest, FakeDigest('a'));
  EXPECT_FALSE(p.packs[0].from_parent);
  EXPECT_TRUE(p.packs[1].from_parent);
  ASSERT_EQ(p.chunks.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(p.chunks[i].id, m_.chunks[i].id);
    EXPECT_EQ(p.chunks[i].pack, m_.chunks[i].pack);
    EXPECT_EQ(p.chunks[i].offset, m_.chunks[i].offset);
    EXPECT_EQ(p.chunks[i].length, m_.chunks[i].length);
    EXPECT_EQ(p.chunks[i].size, m_.chunks[i].size);
    EXPECT_EQ(p.chunks[i].encoding, m_.chunks[i].encoding);
  }
  ASSERT_EQ(p.files.size(), 3u);
  EXPECT_EQ(p.files[1].path, "weights/model.safetensors");
  EXPECT_EQ(p.files[1].mode, 0600u);
  EXPECT_EQ(p.files[1].chunks, (std::vector<std::uint32_t>{2, 3, 2}));
  ASSERT_TRUE(p.files[1].tensor_format.has_value());
  ASSERT_EQ(p.files[1].tensors.size(), 1u);
  EXPECT_EQ(p.files[1].tensors[0].name, "layer.0.weight");
  EXPECT_EQ(p.files[1].tensors[0].shape, (std::vector<std::uint64_t>{10, 20}));
  EXPECT_EQ(p.files[1].tensors[0].parameters, 200u);
  EXPECT_FALSE(p.files[0].tensor_format.has_value());
  EXPECT_EQ(p.mac, m_.mac);
  EXPECT_THAT(VerifyManifestKey(p, key_), IsOk());
  EXPECT_EQ(SerializeManifest(p).value(), Serialized());
}

TEST_F(ManifestTest, SerializationIsCanonicalJson) {
  const std::string s = Serialized();
  EXPECT_EQ(CanonicalJson(Json::parse(s)).value(), s);
  EXPECT_EQ(s.find('\n'), std::string::npos);
  EXPECT_EQ(s.rfind("{\"chunking\":", 0), 0u) << "keys must be sorted";
}

TEST_F(ManifestTest, MacInputOmitsMac) {
  const std::string without = SerializeManifest(m_, /*include_mac=*/false).value();
  EXPECT_EQ(without.find("\"mac\""), std::string::npos);
  EXPECT_NE(Serialized().find("\"mac\":\"" + m_.mac + "\""), std::string::npos);
}

TEST_F(ManifestTest, NonCanonicalInputParsesButReserializesCanonically) {
  const std::string pretty = AsJson().dump(2);
  auto parsed = ParseManifest(AsBytes(pretty));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(SerializeManifest(*parsed).value(), Serialized());
}

TEST_F(ManifestTest, ManifestWithoutParentRoundTrips) {
  m_.parent.reset();
  m_.mac = ComputeManifestMac(m_, key_).value();
  auto parsed = ParseManifest(AsBytes(Serialized()));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_FALSE(parsed->parent.has_value());
  EXPECT_THAT(VerifyManifestKey(*parsed, key_), IsOk());
}

// --- Shape refusals ---------------------------------------------------------

TEST_F(ManifestTest, RejectsNonObject) {
  EXPECT_THAT(ParseManifest(AsBytes("[]")), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseManifest(AsBytes("")), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseManifest(AsBytes("{")), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, RejectsUnknownTopLevelField) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["extra"] = 1; }), HasCodeAndMessage(StatusCode::kInvalidArgument, "extra"));
}

TEST_F(ManifestTest, RejectsUnknownNestedFields) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunking"]["x"] = 1; }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["packs"][0]["x"] = 1; }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][0]["x"] = 1; }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][0]["x"] = 1; }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][1]["tensors"]["x"] = 1; }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][1]["tensors"]["list"][0]["x"] = 1; }),
              HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, RejectsDuplicateKey) {
  std::string s = Serialized();
  s.insert(1, "\"name\":\"evil/model\",");
  EXPECT_THAT(ParseManifest(AsBytes(s)), HasCodeAndMessage(StatusCode::kInvalidArgument, "duplicate key"));
}

TEST_F(ManifestTest, RejectsMissingMac) {
  EXPECT_THAT(ParseEdited([](Json& j) { j.erase("mac"); }), HasCodeAndMessage(StatusCode::kInvalidArgument, "mac"));
}

TEST_F(ManifestTest, RejectsMalformedMac) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["mac"] = std::string(64, 'A'); }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["mac"] = std::string(62, 'a'); }), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, RejectsWrongMediaType) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["mediaType"] = "application/vnd.oci.image.manifest.v1+json"; }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "mediaType"));
  EXPECT_THAT(ParseEdited([](Json& j) { j.erase("mediaType"); }), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, RejectsWrongFormatVersion) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["formatVersion"] = 2; }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "formatVersion 2 is not supported"));
  EXPECT_THAT(ParseEdited([](Json& j) { j["formatVersion"] = 0; }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["formatVersion"] = "1"; }), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, RejectsBadName) {
  for (const char* name : {"", "model", "Acme/model", "acme//model", "acme/model/", "/acme/model", "acme/-model",
                           "acme/mo del", "acme/../model"}) {
    EXPECT_THAT(ParseEdited([&](Json& j) { j["name"] = name; }), HasCodeAndMessage(StatusCode::kInvalidArgument, "name"))
        << name;
  }
  EXPECT_THAT(ParseEdited([](Json& j) { j["name"] = "a/" + std::string(254, 'b'); }), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, AcceptsGoodNames) {
  for (const char* name : {"a/b", "acme/med-llm", "org.x/team_1/model-2.5"}) EXPECT_THAT(ValidateName(name), IsOk()) << name;
}

TEST_F(ManifestTest, RejectsBadVersion) {
  for (const char* v : {"", ".1", "-1", "1.2/3", "1 2", "v1:2"}) {
    EXPECT_THAT(ParseEdited([&](Json& j) { j["version"] = v; }), HasCodeAndMessage(StatusCode::kInvalidArgument, "version"))
        << v;
  }
  EXPECT_THAT(ParseEdited([](Json& j) { j["version"] = std::string(129, 'a'); }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateVersion(std::string(128, 'a')), IsOk());
  EXPECT_THAT(ValidateVersion("_1.2-rc.3"), IsOk());
}

TEST_F(ManifestTest, RejectsBadLineageId) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["lineageId"] = std::string(31, 'a'); }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["lineageId"] = std::string(32, 'G'); }), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, RejectsBadParent) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["parent"] = "sha512:" + std::string(64, 'a'); }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "parent"));
  EXPECT_THAT(ParseEdited([](Json& j) { j["parent"] = nullptr; }), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, RejectsBadChunking) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunking"]["algorithm"] = "fastcdc"; }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "algorithm"));
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunking"]["avgSize"] = 1000; }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "manifest.chunking"));
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunking"]["maxSize"] = 1ull << 40; }), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, RejectsBadPackDigest) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["packs"][0]["digest"] = "sha256:../../etc/passwd"; }),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["packs"][0]["digest"] = "sha256:" + std::string(64, 'A'); }),
              HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, RejectsDuplicatePack) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["packs"][1]["digest"] = FakeDigest('a'); }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "repeats pack"));
}

TEST_F(ManifestTest, RejectsFromParentFalse) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["packs"][0]["fromParent"] = false; }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "fromParent"));
}

TEST_F(ManifestTest, RejectsDuplicateChunkId) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][1]["id"] = j["chunks"][0]["id"]; }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "repeats chunk id"));
}

TEST_F(ManifestTest, RejectsMalformedChunkId) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][0]["id"] = std::string(63, 'a'); }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "manifest.chunks[0].id"));
}

TEST_F(ManifestTest, RejectsChunkPackIndexOutOfRange) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][3]["pack"] = 2; }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "manifest.chunks[3].pack"));
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][3]["pack"] = -1; }), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, RejectsChunkWithoutPacks) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["packs"] = Json::array(); }),
              HasCodeAndMessage(StatusCode::kCorruption, "lists none"));
}

TEST_F(ManifestTest, RejectsRecordOutsidePack) {
  // Pack 1 is 5000 bytes: a record at 4950 of length 100 runs past its end.
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][3]["offset"] = 4950; }),
              HasCodeAndMessage(StatusCode::kCorruption, "lies outside pack"));
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][3]["offset"] = 5001; }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["packs"][1]["size"] = 899; }),
              HasCodeAndMessage(StatusCode::kCorruption, "lies outside pack"));
}

TEST_F(ManifestTest, RejectsRecordLongerThanPlaintextAllows) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][3]["length"] = 300 + kRecordOverhead + 1; }),
              HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, RejectsRecordShorterThanOverhead) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][3]["length"] = kRecordOverhead - 1; }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "nonce and tag"));
}

TEST_F(ManifestTest, RejectsRawLengthMismatch) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][0]["length"] = 1024 + kRecordOverhead - 1; }),
              HasCodeAndMessage(StatusCode::kCorruption, "raw but its record length"));
}

TEST_F(ManifestTest, RejectsZeroOrOversizeChunk) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][3]["size"] = 0; }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][3]["size"] = 4097; }), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, RejectsUnknownEncoding) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][1]["encoding"] = "lz4"; }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "lz4"));
}

TEST_F(ManifestTest, RejectsFileChunkIndexOutOfRange) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][0]["chunks"][1] = 4; }),
              HasCodeAndMessage(StatusCode::kCorruption, "manifest.files[0].chunks[1] does not name a chunk"));
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][0]["chunks"][1] = -1; }), HasCode(StatusCode::kCorruption));
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][0]["chunks"][1] = 1.0; }), HasCode(StatusCode::kCorruption));
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][0]["chunks"][1] = 1ull << 32; }), HasCode(StatusCode::kCorruption));
}

TEST_F(ManifestTest, RejectsFileSizeNotSumOfChunks) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][0]["size"] = 3025; }),
              HasCodeAndMessage(StatusCode::kCorruption, "is 3025 bytes but its chunks add up to 3024"));
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][2]["size"] = 1; }), HasCode(StatusCode::kCorruption));
}

TEST_F(ManifestTest, RejectsDuplicatePath) {
  EXPECT_THAT(ParseEdited([](Json& j) {
                j["files"][2]["path"] = "config.json";
              }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "repeats path \"config.json\""));
}

TEST_F(ManifestTest, RejectsFileAndDirectoryConflict) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][0]["path"] = "weights"; }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "both file \"weights\""));
  EXPECT_THAT(ParseEdited([](Json& j) {
                j["files"][0]["path"] = "a";
                j["files"][2]["path"] = "a/b/c";
              }),
              HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, AcceptsSiblingsSharingAPrefix) {
  // "a", "a-b" and "a.b/c" share a prefix with "a" but are not below it.
  auto parsed = ParseEdited([](Json& j) {
    j["files"][0]["path"] = "a";
    j["files"][1]["path"] = "a-b";
    j["files"][2]["path"] = "a.b/c";
  });
  EXPECT_THAT(parsed, IsOk());
}

TEST_F(ManifestTest, RejectsHostilePaths) {
  const std::string hostile[] = {"/abs", "../x", "a/../b", "a//b", "./a", "a\\b", std::string("a\x01" "b"),
                                 "a\nb", std::string("a\x7f"), "a/", ".", "..", "", "a/.", std::string(256, 'x'),
                                 std::string(4097, 'x')};
  for (const auto& path : hostile) {
    EXPECT_THAT(ParseEdited([&](Json& j) { j["files"][0]["path"] = path; }),
                HasCodeAndMessage(StatusCode::kInvalidArgument, "manifest.files[0]"))
        << path;
    EXPECT_THAT(ValidateRelativePath(path), HasCode(StatusCode::kInvalidArgument)) << path;
  }
}

TEST_F(ManifestTest, RejectsPathWithNul) {
  const std::string path("a\0b", 3);
  EXPECT_THAT(ValidateRelativePath(path), HasCodeAndMessage(StatusCode::kInvalidArgument, "control character"));
  EXPECT_THAT(ParseEdited([&](Json& j) { j["files"][0]["path"] = path; }), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, RejectsBadModeAndDigest) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][0]["mode"] = 01777; }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][0]["sha256"] = std::string(64, 'g'); }),
              HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, RejectsBadTensorTable) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][1]["tensors"]["format"] = "pickle"; }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "pickle"));
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][1]["tensors"]["list"][0]["end"] = 3301; }),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][1]["tensors"]["list"][0]["begin"] = 501; }),
              HasCodeAndMessage(StatusCode::kCorruption, "reversed or overlaps"));
  EXPECT_THAT(ParseEdited([](Json& j) {
                auto& list = j["files"][1]["tensors"]["list"];
                list.push_back(list[0]);
              }),
              HasCodeAndMessage(StatusCode::kCorruption, "reversed or overlaps"));
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][1]["tensors"]["list"][0]["shape"] = Json::array({1ull << 40, 1ull << 40}); }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "overflows"));
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][1]["tensors"]["list"][0]["shape"] = Json::array({-1}); }),
              HasCode(StatusCode::kInvalidArgument));
}

TEST_F(ManifestTest, RejectsShapeDimensionAbove2To53) {
  // A zero dimension keeps the product small, so only a per-dimension bound
  // stops a value that canonical JSON (RFC 8785) cannot represent: the
  // manifest would parse but never re-serialize or verify.
  EXPECT_THAT(ParseEdited([](Json& j) {
                j["files"][1]["tensors"]["list"][0]["shape"] = Json::array({0, (1ull << 53) + 1});
              }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "2^53"));
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][1]["tensors"]["list"][0]["shape"] = Json::array({0, 1ull << 53}); }),
              IsOk());
}

TEST_F(ManifestTest, RejectsOversizeManifest) {
  ManifestLimits limits;
  limits.max_bytes = Serialized().size() - 1;
  EXPECT_THAT(ParseManifest(AsBytes(Serialized()), limits), HasCode(StatusCode::kResourceExhausted));
}

TEST_F(ManifestTest, RejectsTooManyEntries) {
  ManifestLimits limits;
  limits.max_files = 2;
  EXPECT_THAT(ParseManifest(AsBytes(Serialized()), limits), HasCodeAndMessage(StatusCode::kResourceExhausted, "files"));
  limits = {};
  limits.max_chunks = 3;
  EXPECT_THAT(ParseManifest(AsBytes(Serialized()), limits), HasCodeAndMessage(StatusCode::kResourceExhausted, "chunks"));
  limits = {};
  limits.max_packs = 1;
  EXPECT_THAT(ParseManifest(AsBytes(Serialized()), limits), HasCodeAndMessage(StatusCode::kResourceExhausted, "packs"));
  limits = {};
  limits.max_chunks = 4;  // 4 unique chunks, but 5 references from files
  EXPECT_THAT(ParseManifest(AsBytes(Serialized()), limits), HasCode(StatusCode::kResourceExhausted));
}

TEST_F(ManifestTest, RejectsTooDeepJson) {
  Json deep = 1;
  for (int i = 0; i < 20; ++i) deep = Json::array({deep});
  EXPECT_THAT(ParseEdited([&](Json& j) { j["extra"] = deep; }),
              HasCodeAndMessage(StatusCode::kResourceExhausted, "nesting deeper"));
  // Deep nesting where a value is expected is refused before type checks.
  EXPECT_THAT(ParseEdited([&](Json& j) { j["files"][1]["tensors"]["list"][0]["shape"] = Json::array({deep}); }),
              HasCode(StatusCode::kResourceExhausted));
}

TEST_F(ManifestTest, RejectsWrongTypes) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["packs"] = Json::object(); }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][0] = 1; }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][0] = "x"; }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][0]["size"] = -1; }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][0]["size"] = 3024.0; }), HasCode(StatusCode::kInvalidArgument));
}

// --- Keys and MAC -----------------------------------------------------------

// --- Delta chunks (§6.1) -----------------------------------------------------

// WithDeltaChain makes chunks 4.. a chain of `hops` deltas ending at chunk 2
// (a whole bg2 chunk of 1500 bytes), the last one used by the weights file.
void AddDeltaChain(Manifest& m, std::size_t hops) {
  std::uint32_t prev = 2;
  for (std::size_t i = 0; i < hops; ++i) {
    ChunkRef d{FakeId(std::uint8_t(10 + i)), 1, 1000 + 100 * i, 90, 1500, ChunkEncoding::kDelta, {}};
    d.base = prev;
    prev = std::uint32_t(m.chunks.size());
    m.chunks.push_back(d);
  }
  m.files[1].chunks = {prev, 3, prev};
}

TEST_F(ManifestTest, DeltaChunkRoundTripsWithItsBase) {
  AddDeltaChain(m_, 1);
  std::string text = SerializeManifest(m_).value();
  EXPECT_NE(text.find("\"base\":2"), std::string::npos);
  auto back = ParseManifest(AsBytes(text));
  ASSERT_THAT(back, IsOk());
  ASSERT_TRUE(back->chunks[4].base.has_value());
  EXPECT_EQ(*back->chunks[4].base, 2u);
  EXPECT_EQ(back->chunks[4].encoding, ChunkEncoding::kDelta);
}

TEST_F(ManifestTest, AcceptsChainOfMaxLength) {
  AddDeltaChain(m_, kMaxDeltaChain);
  EXPECT_THAT(ParseManifest(AsBytes(SerializeManifest(m_).value())), IsOk());
  EXPECT_EQ(DeltaChain(m_, std::uint32_t(m_.chunks.size() - 1)).size(), kMaxDeltaChain + 1);
}

TEST_F(ManifestTest, RejectsChainLongerThanMax) {
  AddDeltaChain(m_, kMaxDeltaChain + 1);
  EXPECT_THAT(ParseManifest(AsBytes(SerializeManifest(m_).value())),
              HasCodeAndMessage(StatusCode::kCorruption, "delta chain longer than 4 hops"));
}

TEST_F(ManifestTest, RejectsDeltaCycle) {
  AddDeltaChain(m_, 2);
  m_.chunks[4].base = 5;  // 5 -> 4 -> 5 ...
  EXPECT_THAT(ParseManifest(AsBytes(SerializeManifest(m_).value())),
              HasCodeAndMessage(StatusCode::kCorruption, "delta chain longer"));
  m_.chunks[4].base = 4;
  EXPECT_THAT(ParseManifest(AsBytes(SerializeManifest(m_).value())), HasCodeAndMessage(StatusCode::kCorruption, "its own delta base"));
}

TEST_F(ManifestTest, RejectsDeltaWithoutBaseAndBaseWithoutDelta) {
  AddDeltaChain(m_, 1);
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][4].erase("base"); }),
              HasCodeAndMessage(StatusCode::kCorruption, "delta chunk without a base"));
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][3]["base"] = 2; }),
              HasCodeAndMessage(StatusCode::kCorruption, "has a base but is not a delta chunk"));
}

TEST_F(ManifestTest, RejectsBaseOutOfRangeOrOfAnotherSize) {
  AddDeltaChain(m_, 1);
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][4]["base"] = 5; }), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEdited([](Json& j) { j["chunks"][4]["base"] = 3; }),
              HasCodeAndMessage(StatusCode::kCorruption, "needs a base of the same, even size"));
}

TEST_F(ManifestTest, ChunkIdsToReleaseFollowsBases) {
  AddDeltaChain(m_, 2);  // files use 0, 1 (config), 6 (-> 5 -> 2) and 3
  std::vector<ChunkId> ids = ChunkIdsToRelease(m_);
  std::vector<ChunkId> want = {FakeId(1), FakeId(2), FakeId(3), FakeId(4), FakeId(10), FakeId(11)};
  EXPECT_EQ(ids, want);
  // An unused chunk is not released.
  m_.files[1].chunks = {3, 3};
  m_.files[1].size = 600;
  want = {FakeId(1), FakeId(2), FakeId(4)};
  EXPECT_EQ(ChunkIdsToRelease(m_), want);
}

TEST_F(ManifestTest, WrongLineageKeyIsUnauthenticated) {
  LineageKey other = LineageKey::FromBytes(Bytes(32, 0x43)).value();
  auto parsed = ParseManifest(AsBytes(Serialized()));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_THAT(VerifyManifestKey(*parsed, other), HasCodeAndMessage(StatusCode::kUnauthenticated, "wrong lineage key"));
}

TEST_F(ManifestTest, WrongKeyMessageDoesNotLeakTheKey) {
  LineageKey other = LineageKey::FromBytes(Bytes(32, 0x43)).value();
  Status s = VerifyManifestKey(m_, other);
  EXPECT_EQ(s.message().find(HexEncode(Bytes(32, 0x43))), std::string::npos);
  EXPECT_EQ(s.message().find(HexEncode(Bytes(32, 0x42))), std::string::npos);
}

TEST_F(ManifestTest, LineageIdSwappedToOtherKeyFailsMac) {
  // An attacker relabels the manifest with the victim key's id: the MAC
  // still fails.
  LineageKey other = LineageKey::FromBytes(Bytes(32, 0x43)).value();
  Manifest m = m_;
  m.lineage_id = other.LineageId();
  EXPECT_THAT(VerifyManifestKey(m, other), HasCodeAndMessage(StatusCode::kUnauthenticated, "manifest MAC does not verify"));
}

TEST_F(ManifestTest, ChangedMacFails) {
  ExpectMacFails([](Json& j) {
    std::string mac = j["mac"];
    mac[0] = mac[0] == '0' ? '1' : '0';
    j["mac"] = mac;
  });
}

TEST_F(ManifestTest, ReorderedChunksFailMac) {
  ExpectMacFails([](Json& j) { std::swap(j["files"][1]["chunks"][0], j["files"][1]["chunks"][1]); });
}

TEST_F(ManifestTest, DroppedChunkIsRefused) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][1]["chunks"].erase(1); }), HasCode(StatusCode::kCorruption));
  // With the size adjusted to match, the MAC catches it.
  ExpectMacFails([](Json& j) {
    j["files"][1]["chunks"].erase(1);
    j["files"][1]["size"] = 3000;
  });
}

TEST_F(ManifestTest, DuplicatedChunkIsRefused) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][0]["chunks"].push_back(1); }), HasCode(StatusCode::kCorruption));
  ExpectMacFails([](Json& j) {
    j["files"][0]["chunks"].push_back(1);
    j["files"][0]["size"] = 5024;
  });
}

TEST_F(ManifestTest, TruncatedChunkListIsRefused) {
  EXPECT_THAT(ParseEdited([](Json& j) { j["files"][0]["chunks"] = Json::array(); }), HasCode(StatusCode::kCorruption));
  ExpectMacFails([](Json& j) {
    j["files"][0]["chunks"] = Json::array();
    j["files"][0]["size"] = 0;
  });
}

TEST_F(ManifestTest, ChunkSwappedBetweenFilesFailsMac) {
  ExpectMacFails([](Json& j) {
    j["files"][0]["chunks"] = Json::array({2, 1});
    j["files"][0]["size"] = 3500;
    j["files"][1]["chunks"] = Json::array({0, 3, 2});
    j["files"][1]["size"] = 2824;
  });
}

TEST_F(ManifestTest, EveryFieldIsCoveredByTheMac) {
  const std::vector<std::pair<const char*, std::function<void(Json&)>>> edits = {
      {"name", [](Json& j) { j["name"] = "acme/other"; }},
      {"version", [](Json& j) { j["version"] = "1.3"; }},
      {"parent", [](Json& j) { j["parent"] = FakeDigest('f'); }},
      {"parent dropped", [](Json& j) { j.erase("parent"); }},
      {"chunking", [](Json& j) { j["chunking"]["maxSize"] = 8192; }},
      {"pack digest", [](Json& j) { j["packs"][0]["digest"] = FakeDigest('c'); }},
      {"pack size", [](Json& j) { j["packs"][0]["size"] = 10'001; }},
      {"fromParent added", [](Json& j) { j["packs"][0]["fromParent"] = true; }},
      {"fromParent dropped", [](Json& j) { j["packs"][1].erase("fromParent"); }},
      {"chunk id", [](Json& j) { j["chunks"][1]["id"] = std::string(64, '9'); }},
      {"chunk pack", [](Json& j) { j["chunks"][1]["pack"] = 1; }},
      {"chunk offset", [](Json& j) { j["chunks"][1]["offset"] = 1053; }},
      {"chunk length", [](Json& j) { j["chunks"][1]["length"] = 501; }},
      {"chunk encoding", [](Json& j) { j["chunks"][1]["encoding"] = "bg2"; }},
      {"chunks reordered", [](Json& j) { std::swap(j["chunks"][2], j["chunks"][3]); }},
      {"file path", [](Json& j) { j["files"][0]["path"] = "config2.json"; }},
      {"file mode", [](Json& j) { j["files"][0]["mode"] = 0755; }},
      {"file sha256", [](Json& j) { j["files"][0]["sha256"] = std::string(64, '4'); }},
      {"files reordered", [](Json& j) { std::swap(j["files"][0], j["files"][2]); }},
      {"file dropped", [](Json& j) { j["files"].erase(2); }},
      {"tensor name", [](Json& j) { j["files"][1]["tensors"]["list"][0]["name"] = "x"; }},
      {"tensor dtype", [](Json& j) { j["files"][1]["tensors"]["list"][0]["dtype"] = "F16"; }},
      {"tensor shape", [](Json& j) { j["files"][1]["tensors"]["list"][0]["shape"] = Json::array({20, 10}); }},
      {"tensor range", [](Json& j) { j["files"][1]["tensors"]["list"][0]["end"] = 499; }},
      {"tensors dropped", [](Json& j) { j["files"][1].erase("tensors"); }},
  };
  for (const auto& [what, edit] : edits) {
    SCOPED_TRACE(what);
    ExpectRefused(edit);
  }
}

TEST_F(ManifestTest, MacDependsOnKey) {
  LineageKey other = LineageKey::FromBytes(Bytes(32, 0x43)).value();
  EXPECT_NE(ComputeManifestMac(m_, other).value(), m_.mac);
  EXPECT_EQ(ComputeManifestMac(m_, key_).value(), m_.mac);
}

}  // namespace
}  // namespace arca::format
