#include "format/lineage_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>

#include "base/testing/status_matchers.h"

namespace arca::format {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class LineageKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/arca-lineage-key-test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { ASSERT_TRUE(FileSystem::Default().RemoveAll(dir_).ok()); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  void Write(const std::string& name, const std::string& text) {
    ASSERT_TRUE(WriteFileAtomic(FileSystem::Default(), Path(name), AsBytes(text), 0600).ok());
  }
  std::string dir_;
};

TEST_F(LineageKeyFileTest, SaveNewWritesMode0600AndLoadsBack) {
  LineageKey key = LineageKey::Generate();
  ASSERT_THAT(key.SaveNew(FileSystem::Default(), Path("k")), IsOk());
  struct stat st;
  ASSERT_EQ(::stat(Path("k").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = LineageKey::Load(FileSystem::Default(), Path("k"));
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->LineageId(), key.LineageId());
  ChunkId id{};
  EXPECT_EQ(loaded->ChunkKey(id).Expose().size(), 32u);
  EXPECT_TRUE(ConstantTimeEquals(loaded->ChunkKey(id).Expose(), key.ChunkKey(id).Expose()));
}

TEST_F(LineageKeyFileTest, SaveNewRefusesToOverwrite) {
  Write("k", "keep me");
  EXPECT_THAT(LineageKey::Generate().SaveNew(FileSystem::Default(), Path("k")), HasCode(StatusCode::kAlreadyExists));
  auto data = ReadFileBounded(FileSystem::Default(), Path("k"), 64);
  ASSERT_THAT(data, IsOk());
  EXPECT_EQ(ToString(*data), "keep me");
}

TEST_F(LineageKeyFileTest, RefusesWrongTag) {
  Write("k", "arca-lineage-key-v2 " + std::string(64, 'a') + "\n");
  EXPECT_THAT(LineageKey::Load(FileSystem::Default(), Path("k")),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "is not an Arca lineage key file"));
}

TEST_F(LineageKeyFileTest, RefusesShortKey) {
  Write("k", "arca-lineage-key-v1 " + std::string(62, 'a') + "\n");
  EXPECT_THAT(LineageKey::Load(FileSystem::Default(), Path("k")), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(LineageKeyFileTest, RefusesTrailingBytes) {
  Write("k", "arca-lineage-key-v1 " + std::string(64, 'a') + "\nextra\n");
  EXPECT_THAT(LineageKey::Load(FileSystem::Default(), Path("k")), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(LineageKeyFileTest, RefusesNonHexWithoutEchoingTheKey) {
  const std::string secret = std::string(63, '7') + "z";
  Write("k", "arca-lineage-key-v1 " + secret + "\n");
  auto r = LineageKey::Load(FileSystem::Default(), Path("k"));
  EXPECT_THAT(r, HasCodeAndMessage(StatusCode::kInvalidArgument, "not valid hex"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("7777777777")));
}

TEST_F(LineageKeyFileTest, RefusesOversizedFileBeforeReading) {
  Write("k", std::string(4096, 'a'));
  EXPECT_THAT(LineageKey::Load(FileSystem::Default(), Path("k")), HasCode(StatusCode::kResourceExhausted));
}

TEST_F(LineageKeyFileTest, MissingFileIsNotFound) {
  EXPECT_THAT(LineageKey::Load(FileSystem::Default(), Path("absent")), HasCode(StatusCode::kNotFound));
}

TEST(LineageKeyTest, FromBytesRefusesWrongLength) {
  Bytes short_key(31, 1);
  EXPECT_THAT(LineageKey::FromBytes(short_key), HasCode(StatusCode::kInvalidArgument));
}

TEST(LineageKeyTest, DistinctKeysGiveDistinctIdsAndChunkKeys) {
  Bytes a(32, 1), b(32, 2);
  auto ka = LineageKey::FromBytes(a), kb = LineageKey::FromBytes(b);
  ASSERT_THAT(ka, IsOk());
  ASSERT_THAT(kb, IsOk());
  EXPECT_NE(ka->LineageId(), kb->LineageId());
  ChunkId id = ka->ChunkIdOf(AsBytes("same plaintext"));
  EXPECT_NE(HexEncode(id), HexEncode(kb->ChunkIdOf(AsBytes("same plaintext"))));
  EXPECT_FALSE(ConstantTimeEquals(ka->ChunkKey(id).Expose(), kb->ChunkKey(id).Expose()));
}

}  // namespace
}  // namespace arca::format
