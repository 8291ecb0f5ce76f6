// The committed format v1 vector (tests/vectors/format/README.md): open it,
// re-seal it bit-identically, and check the published values.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "base/file_system.h"
#include "format/lineage_key.h"
#include "format/package.h"

namespace arca::format {
namespace {

const std::string kDir = std::string(ARCA_SOURCE_DIR) + "/tests/vectors/format";

std::string TempDir() {
  char tmpl[] = "/tmp/arca-vector-test.XXXXXX";
  return ::mkdtemp(tmpl);
}

Bytes Read(const std::string& path) { return std::move(ReadFileBounded(FileSystem::Default(), path, 1 << 24)).value(); }

// Lists regular files below `dir`, relative, sorted.
void List(const std::string& dir, const std::string& rel, std::vector<std::string>* out) {
  auto& fs = FileSystem::Default();
  auto names = fs.ListDir(dir);  // keep the Result alive through the loop
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  for (const auto& n : *names) {
    std::string p = JoinPath(dir, n), r = rel.empty() ? n : rel + "/" + n;
    if (fs.Stat(p)->type == FileType::kDirectory) List(p, r, out);
    else out->push_back(r);
  }
}

TEST(FormatVector, PublishedValues) {
  auto key = LineageKey::Load(FileSystem::Default(), kDir + "/lineage.key");
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->LineageId(), "0d2168b5c10c8567bd60c20ba905033e");
  auto pkg = LoadPackage(FileSystem::Default(), {kDir + "/package", ""});
  ASSERT_TRUE(pkg.ok()) << pkg.status().ToString();
  EXPECT_EQ(pkg->manifest_blob.digest, "sha256:fcd543a889a3d2b05d1075f2c76e4fc7f0924a333095a8f89e562c7deea15402");
  const Manifest& m = pkg->manifest;
  EXPECT_EQ(m.chunks.size(), 15u);
  EXPECT_EQ(m.packs.size(), 2u);
  EXPECT_EQ(HexEncode(m.chunks[0].id), "bf4d2f03f1a642b9636289d2b1402222767de86507e1111875fe30f776fda98d");
  EXPECT_EQ(m.chunks[0].length, 72u);
  // The chunk id is the keyed hash of the plaintext: recompute it.
  EXPECT_EQ(HexEncode(key->ChunkIdOf(Read(kDir + "/model/config.json"))), HexEncode(m.chunks[0].id));
  EXPECT_TRUE(VerifyManifestKey(m, *key).ok());
}

TEST(FormatVector, OpensToTheModel) {
  auto key = LineageKey::Load(FileSystem::Default(), kDir + "/lineage.key");
  ASSERT_TRUE(key.ok());
  std::string tmp = TempDir();
  auto r = Open(FileSystem::Default(), {kDir + "/package", "1.0"}, *key, tmp + "/out");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> want, got;
  List(kDir + "/model", "", &want);
  List(tmp + "/out", "", &got);
  ASSERT_EQ(want, got);
  for (const auto& f : want) EXPECT_EQ(Read(kDir + "/model/" + f), Read(tmp + "/out/" + f)) << f;
  ASSERT_TRUE(FileSystem::Default().RemoveAll(tmp).ok());
}

TEST(FormatVector, ResealsBitIdentically) {
  auto key = LineageKey::Load(FileSystem::Default(), kDir + "/lineage.key");
  ASSERT_TRUE(key.ok());
  std::string tmp = TempDir();
  SealOptions o;
  o.name = "acme/vector";
  o.version = "1.0";
  o.chunking = {16 << 10, 64 << 10, 256 << 10};
  o.pack_target_bytes = 256 << 10;
  auto r = Seal(FileSystem::Default(), kDir + "/model", tmp + "/package", *key, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> want, got;
  List(kDir + "/package", "", &want);
  List(tmp + "/package", "", &got);
  ASSERT_EQ(want, got);
  for (const auto& f : want) EXPECT_EQ(Read(kDir + "/package/" + f), Read(tmp + "/package/" + f)) << f;
  ASSERT_TRUE(FileSystem::Default().RemoveAll(tmp).ok());
}

}  // namespace
}  // namespace arca::format
