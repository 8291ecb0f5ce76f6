#include "distribution/store.h"

#include <gtest/gtest.h>

#include "base/testing/status_matchers.h"
#include "base/testing/temp_dir.h"
#include "format/manifest.h"

namespace arca::distribution {
namespace {

using ::arca::HasCode;
using ::arca::IsOk;

// Installs a one-layer image manifest into the store and returns its descriptor.
format::Descriptor InstallPackage(Store& s, const std::string& layer_text) {
  auto config = s.PutBlob(AsBytes("{}"), format::kOciEmptyMediaType);
  auto layer = s.PutBlob(AsBytes(layer_text), format::kPackMediaType);
  EXPECT_THAT(config, IsOk());
  EXPECT_THAT(layer, IsOk());
  format::OciManifest m;
  m.artifact_type = std::string(format::kArtifactType);
  m.config = *config;
  m.layers = {*layer};
  auto md = s.PutBlob(AsBytes(format::SerializeOciManifest(m)), format::kOciManifestMediaType);
  EXPECT_THAT(md, IsOk());
  return *md;
}

TEST(Store, CreatesAnOciLayoutReadersOpen) {
  testing_util::TempDir t;
  std::string dir = t.path() + "/store";
  EXPECT_THAT(Store::Open(FileSystem::Default(), dir, false), HasCode(StatusCode::kNotFound));
  auto s = Store::Open(FileSystem::Default(), dir, true);
  ASSERT_THAT(s, IsOk());
  format::Descriptor md = InstallPackage(*s, "pack-one");
  ASSERT_THAT(s->SetEntry("acme/m:1.0", md, format::kArtifactType, "h:1/acme/m:1.0@" + md.digest), IsOk());
  auto r = format::OciLayoutReader::Open(FileSystem::Default(), dir, "acme/m:1.0");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->manifest_descriptor().digest, md.digest);
  auto entries = s->List();
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].ref_name, "acme/m:1.0");
  EXPECT_TRUE((*entries)[0].complete);
  EXPECT_EQ((*entries)[0].total_bytes, md.size + 2 + 8);
  EXPECT_EQ((*entries)[0].source, "h:1/acme/m:1.0@" + md.digest);
}

TEST(Store, RefusesANonEmptyForeignDirectory) {
  testing_util::TempDir t;
  ASSERT_THAT(WriteFileAtomic(FileSystem::Default(), t.path() + "/notes.txt", AsBytes("x"), 0644), IsOk());
  EXPECT_THAT(Store::Open(FileSystem::Default(), t.path(), true), HasCode(StatusCode::kInvalidArgument));
}

TEST(Store, SetEntryReplacesSameNameRemoveEntryDeletes) {
  testing_util::TempDir t;
  auto s = Store::Open(FileSystem::Default(), t.path() + "/s", true);
  ASSERT_THAT(s, IsOk());
  format::Descriptor a = InstallPackage(*s, "pack-a");
  format::Descriptor b = InstallPackage(*s, "pack-b");
  ASSERT_THAT(s->SetEntry("acme/m:1.0", a, format::kArtifactType, ""), IsOk());
  ASSERT_THAT(s->SetEntry("acme/m:2.0", a, format::kArtifactType, ""), IsOk());
  ASSERT_THAT(s->SetEntry("acme/m:1.0", b, format::kArtifactType, ""), IsOk());
  auto e = s->List();
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[0].ref_name, "acme/m:1.0");
  EXPECT_EQ((*e)[0].manifest.digest, b.digest);
  ASSERT_THAT(s->RemoveEntry("acme/m:2.0"), IsOk());
  auto missing = s->RemoveEntry("acme/m:2.0");
  EXPECT_THAT(missing, HasCode(StatusCode::kNotFound));
  EXPECT_NE(missing.message().find("acme/m:1.0"), std::string::npos) << "names the refs present";
  EXPECT_EQ(s->List()->size(), 1u);
}

TEST(Store, GcDeletesOnlyUnreferencedBlobsAndTemporaries) {
  testing_util::TempDir t;
  auto s = Store::Open(FileSystem::Default(), t.path() + "/s", true);
  ASSERT_THAT(s, IsOk());
  format::Descriptor a = InstallPackage(*s, "pack-a");
  format::Descriptor b = InstallPackage(*s, "pack-bb");
  ASSERT_THAT(s->SetEntry("acme/m:1.0", a, format::kArtifactType, ""), IsOk());
  ASSERT_THAT(s->SetEntry("acme/m:2.0", b, format::kArtifactType, ""), IsOk());
  ASSERT_THAT(WriteFileAtomic(FileSystem::Default(), s->TempDir() + "/x.partial", AsBytes("12345"), 0644), IsOk());
  auto g = s->Gc();
  ASSERT_THAT(g, IsOk());
  EXPECT_EQ(g->blobs_deleted, 0u);
  EXPECT_EQ(g->temp_files_deleted, 1u);
  ASSERT_THAT(s->RemoveEntry("acme/m:2.0"), IsOk());
  g = s->Gc();
  ASSERT_THAT(g, IsOk());
  EXPECT_EQ(g->blobs_deleted, 2u);  // b's manifest and its pack; the shared config stays
  EXPECT_EQ(g->bytes_freed, b.size + 7);
  EXPECT_EQ(g->blobs_kept, 3u);
  auto r = format::OciLayoutReader::Open(FileSystem::Default(), s->dir(), "acme/m:1.0");
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->ReadBlob(r->manifest().layers[0], 100), IsOk());
}

TEST(Store, GcRefusesWhenAManifestIsUnreadable) {
  testing_util::TempDir t;
  auto s = Store::Open(FileSystem::Default(), t.path() + "/s", true);
  ASSERT_THAT(s, IsOk());
  format::Descriptor a = InstallPackage(*s, "pack-a");
  format::Descriptor b = InstallPackage(*s, "pack-b");
  ASSERT_THAT(s->SetEntry("acme/m:1.0", a, format::kArtifactType, ""), IsOk());
  ASSERT_THAT(FileSystem::Default().Remove(s->BlobPath(a.digest)), IsOk());
  EXPECT_THAT(s->Gc(), HasCode(StatusCode::kFailedPrecondition));
  EXPECT_TRUE(s->HasBlob(b)) << "nothing may be deleted when liveness cannot be proven";
}

TEST(Store, GcWaitsForNoPull) {
  testing_util::TempDir t;
  auto s = Store::Open(FileSystem::Default(), t.path() + "/s", true);
  ASSERT_THAT(s, IsOk());
  auto lock = s->LockForPull();
  ASSERT_THAT(lock, IsOk());
  EXPECT_THAT(s->Gc(), HasCode(StatusCode::kUnavailable));
}

TEST(ResolveStoreRef, SplitsAtTheLayoutDirectory) {
  testing_util::TempDir t;
  auto s = Store::Open(FileSystem::Default(), t.path() + "/s", true);
  ASSERT_THAT(s, IsOk());
  auto r = ResolveStoreRef(FileSystem::Default(), t.path() + "/s:acme/m:1.0");
  EXPECT_EQ(r.dir, t.path() + "/s");
  EXPECT_EQ(r.ref, "acme/m:1.0");
  auto plain = ResolveStoreRef(FileSystem::Default(), t.path() + "/nope:1.0");
  EXPECT_EQ(plain.dir, t.path() + "/nope");
  EXPECT_EQ(plain.ref, "1.0");
}

}  // namespace
}  // namespace arca::distribution
