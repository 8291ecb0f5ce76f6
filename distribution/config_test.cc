#include "distribution/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/testing/status_matchers.h"
#include "base/testing/temp_dir.h"
#include "signer/key_source.h"

namespace arca::distribution {
namespace {

using ::arca::HasCode;
using ::arca::IsOk;

Paths TestPaths(const std::string& base) { return Paths{base + "/config/arca", base + "/cache/arca", base + "/data/arca"}; }

TEST(Credentials, StoredWithMode0600AndReadBack) {
  testing_util::TempDir t;
  FileSystem& fs = FileSystem::Default();
  Paths p = TestPaths(t.path());
  ASSERT_THAT(StoreCredential(fs, p, "127.0.0.1:5000", "tok-1"), IsOk());
  ASSERT_THAT(StoreCredential(fs, p, "reg.example", "tok-2"), IsOk());
  ASSERT_THAT(StoreCredential(fs, p, "127.0.0.1:5000", "tok-3"), IsOk());
  auto st = fs.Stat(p.credentials_file());
  ASSERT_THAT(st, IsOk());
  EXPECT_EQ(st->mode & 0777, 0600u);
  auto c = LoadCredentials(fs, p);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->size(), 2u);
  EXPECT_EQ(c->at("127.0.0.1:5000"), "tok-3");
  EXPECT_EQ(c->at("reg.example"), "tok-2");
}

TEST(Credentials, GroupReadableFileRefused) {
  testing_util::TempDir t;
  Paths p = TestPaths(t.path());
  ASSERT_THAT(StoreCredential(FileSystem::Default(), p, "h:1", "tok"), IsOk());
  ASSERT_EQ(::chmod(p.credentials_file().c_str(), 0640), 0);
  auto c = LoadCredentials(FileSystem::Default(), p);
  ASSERT_THAT(c, HasCode(StatusCode::kPermissionDenied));
  EXPECT_EQ(c.status().message().find("tok"), std::string::npos) << "the error must not show the token";
}

TEST(Credentials, BadTokensAndDocumentsRefused) {
  testing_util::TempDir t;
  Paths p = TestPaths(t.path());
  EXPECT_THAT(StoreCredential(FileSystem::Default(), p, "h:1", ""), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(StoreCredential(FileSystem::Default(), p, "h:1", "a b"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseCredentials(AsBytes(R"({"h":1})")), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseCredentials(AsBytes(R"(["h"])")), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseCredentials(AsBytes(R"({"h":"a","h":"b"})")), HasCode(StatusCode::kInvalidArgument));
}

class TrustTest : public ::testing::Test {
 protected:
  Result<std::string> MakeRoot(const std::string& ns, bool sign) {
    auto key = crypto::PrivateKey::Generate(crypto::KeyType::kEd25519);
    if (!key.ok()) return key.status();
    signer::SignedRoot r;
    r.root.namespace_name = ns;
    r.root.threshold = 1;
    r.root.keys.emplace(key->public_key().KeyId(), key->public_key());
    auto s = signer::MakeKeySigner(std::move(*key));
    if (sign) ARCA_RETURN_IF_ERROR(signer::SignRoot(*s, r));
    return signer::SerializeRoot(r);
  }
  testing_util::TempDir t_;
  Paths p_ = TestPaths(t_.path());
};

TEST_F(TrustTest, AddListRemove) {
  auto root = MakeRoot("acme", true);
  ASSERT_THAT(root, IsOk());
  auto added = AddTrustedRoot(FileSystem::Default(), p_, "acme", AsBytes(*root), 1000, false);
  ASSERT_THAT(added, IsOk());
  auto loaded = LoadTrustedRoot(FileSystem::Default(), p_, "acme");
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->root.root.namespace_name, "acme");
  auto all = ListTrustedRoots(FileSystem::Default(), p_);
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->size(), 1u);
  // The same root again is fine; a different one needs replace.
  EXPECT_THAT(AddTrustedRoot(FileSystem::Default(), p_, "acme", AsBytes(*root), 1000, false), IsOk());
  auto other = MakeRoot("acme", true);
  EXPECT_THAT(AddTrustedRoot(FileSystem::Default(), p_, "acme", AsBytes(*other), 1000, false), HasCode(StatusCode::kAlreadyExists));
  EXPECT_THAT(AddTrustedRoot(FileSystem::Default(), p_, "acme", AsBytes(*other), 1000, true), IsOk());
  ASSERT_THAT(RemoveTrustedRoot(FileSystem::Default(), p_, "acme"), IsOk());
  EXPECT_THAT(LoadTrustedRoot(FileSystem::Default(), p_, "acme"), HasCode(StatusCode::kFailedPrecondition));
  EXPECT_THAT(RemoveTrustedRoot(FileSystem::Default(), p_, "acme"), HasCode(StatusCode::kNotFound));
}

TEST_F(TrustTest, UnsignedRootRefused) {
  auto root = MakeRoot("acme", false);
  ASSERT_THAT(root, IsOk());
  EXPECT_THAT(AddTrustedRoot(FileSystem::Default(), p_, "acme", AsBytes(*root), 1000, false), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(LoadTrustedRoot(FileSystem::Default(), p_, "acme"), HasCode(StatusCode::kFailedPrecondition));
}

TEST_F(TrustTest, NamespaceMismatchRefused) {
  auto root = MakeRoot("evil", true);
  ASSERT_THAT(root, IsOk());
  EXPECT_THAT(AddTrustedRoot(FileSystem::Default(), p_, "acme", AsBytes(*root), 1000, false), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(AddTrustedRoot(FileSystem::Default(), p_, "../x", AsBytes(*root), 1000, false), HasCode(StatusCode::kInvalidArgument));
}

TEST(UploadRecord, RoundTripAndKeyedByBlob) {
  testing_util::TempDir t;
  Paths p = TestPaths(t.path());
  std::string d = "sha256:" + std::string(64, 'a');
  UploadRecord r{"h:1", "acme/m", d, "http://h:1/v2/acme/m/blobs/uploads/x?_state=y", 42};
  ASSERT_THAT(SaveUploadRecord(FileSystem::Default(), p, r), IsOk());
  auto got = LoadUploadRecord(FileSystem::Default(), p, "h:1", "acme/m", d);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->location, r.location);
  EXPECT_EQ(got->offset, 42u);
  EXPECT_FALSE(LoadUploadRecord(FileSystem::Default(), p, "h:2", "acme/m", d).has_value());
  EXPECT_THAT(ParseUploadRecord(AsBytes(R"({"registry":"h","repository":"a/b","digest":"sha256:00","location":"http://x","offset":0})")),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseUploadRecord(AsBytes(std::string(R"({"registry":"h","repository":"a/b","digest":")") + d +
                                        R"(","location":"file:///etc/passwd","offset":0})")),
              HasCode(StatusCode::kInvalidArgument));
  ForgetUploadRecord(FileSystem::Default(), p, r);
  EXPECT_FALSE(LoadUploadRecord(FileSystem::Default(), p, "h:1", "acme/m", d).has_value());
}

}  // namespace
}  // namespace arca::distribution
