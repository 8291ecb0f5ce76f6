#include "base/file_system.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/testing/status_matchers.h"

namespace arca {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::StartsWith;

Bytes B(std::string_view s) {
  ByteSpan b = AsBytes(s);
  return Bytes(b.begin(), b.end());
}

// Sets the process umask for one scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

// Each test gets a fresh mkdtemp directory, removed afterwards with
// std::filesystem (independent of the RemoveAll under test).
class FileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = JoinPath(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "arca-fs-test-XXXXXX");
    ASSERT_NE(::mkdtemp(templ.data()), nullptr) << templ;
    dir_ = templ;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    EXPECT_FALSE(ec) << ec.message();
  }

  std::string Path(const std::string& name) const { return JoinPath(dir_, name); }

  void WriteRaw(const std::string& path, std::string_view content) {
    std::ofstream f(path, std::ios::binary);
    f << content;
    ASSERT_TRUE(f.good()) << path;
  }

  std::string ReadRaw(const std::string& path) {
    auto data = ReadFileBounded(fs_, path, 1 << 20);
    EXPECT_THAT(data, IsOk()) << path;
    return data.ok() ? ToString(*data) : std::string();
  }

  std::uint32_t ModeOf(const std::string& path) {
    auto info = fs_.Stat(path);
    EXPECT_THAT(info, IsOk()) << path;
    return info.ok() ? info->mode : 0;
  }

  std::vector<std::string> Entries(const std::string& path) {
    auto names = fs_.ListDir(path);
    EXPECT_THAT(names, IsOk()) << path;
    return names.ok() ? *names : std::vector<std::string>{};
  }

  FileSystem& fs_ = FileSystem::Default();
  std::string dir_;
};

// A FileSystem that forwards to the default one, with knobs for faults.
class FaultyFileSystem : public FileSystem {
 public:
  explicit FaultyFileSystem(FileSystem& base) : base_(base) {}

  bool stat_says_missing = false;  // simulates a target appearing after Stat
  bool fail_sync = false;
  int reads = 0;                   // ReadAt calls on files it opened
  std::uint64_t fake_size = 0;     // when set, OpenRead reports this size

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, std::uint32_t mode,
                                                        bool exclusive) override {
    ARCA_ASSIGN_OR_RETURN(auto f, base_.NewWritableFile(path, mode, exclusive));
    return std::unique_ptr<WritableFile>(new File(std::move(f), this));
  }
  Result<std::unique_ptr<RandomAccessFile>> OpenRead(const std::string& path) override {
    ARCA_ASSIGN_OR_RETURN(auto f, base_.OpenRead(path));
    return std::unique_ptr<RandomAccessFile>(new Reader(std::move(f), this));
  }
  Result<FileInfo> Stat(const std::string& path) override {
    if (stat_says_missing) return NotFoundError(path);
    return base_.Stat(path);
  }
  Result<std::vector<std::string>> ListDir(const std::string& p) override { return base_.ListDir(p); }
  Status MakeDir(const std::string& p, std::uint32_t m) override { return base_.MakeDir(p, m); }
  Status Rename(const std::string& a, const std::string& b) override { return base_.Rename(a, b); }
  Status Link(const std::string& a, const std::string& b) override { return base_.Link(a, b); }
  Status SyncDir(const std::string& p) override { return base_.SyncDir(p); }
  Status Remove(const std::string& p) override { return base_.Remove(p); }
  Status RemoveAll(const std::string& p) override { return base_.RemoveAll(p); }

 private:
  class File final : public WritableFile {
   public:
    File(std::unique_ptr<WritableFile> f, FaultyFileSystem* fs) : f_(std::move(f)), fs_(fs) {}
    Status Append(ByteSpan data) override { return f_->Append(data); }
    Status Sync() override { return fs_->fail_sync ? UnavailableError("injected sync failure") : f_->Sync(); }
    Status Close() override { return f_->Close(); }

   private:
    std::unique_ptr<WritableFile> f_;
    FaultyFileSystem* fs_;
  };
  class Reader final : public RandomAccessFile {
   public:
    Reader(std::unique_ptr<RandomAccessFile> f, FaultyFileSystem* fs) : f_(std::move(f)), fs_(fs) {}
    Status ReadAt(std::uint64_t offset, std::span<std::uint8_t> out) const override {
      ++fs_->reads;
      return f_->ReadAt(offset, out);
    }
    std::uint64_t size() const override { return fs_->fake_size != 0 ? fs_->fake_size : f_->size(); }

   private:
    std::unique_ptr<RandomAccessFile> f_;
    FaultyFileSystem* fs_;
  };
  FileSystem& base_;
};

// --- WriteFileAtomic -----------------------------------------------------------

TEST_F(FileSystemTest, WriteFileAtomicWritesContent) {
  std::string p = Path("index.json");
  ASSERT_THAT(WriteFileAtomic(fs_, p, AsBytes("{}"), 0644), IsOk());
  EXPECT_EQ(ReadRaw(p), "{}");
  EXPECT_THAT(Entries(dir_), ElementsAre("index.json"));
}

TEST_F(FileSystemTest, WriteFileAtomicWritesEmptyFile) {
  std::string p = Path("empty");
  ASSERT_THAT(WriteFileAtomic(fs_, p, ByteSpan(), 0600), IsOk());
  EXPECT_EQ(ReadRaw(p), "");
}

TEST_F(FileSystemTest, WriteFileAtomicSetsMode0600UnderUmask022) {
  ScopedUmask mask(022);
  std::string p = Path("key");
  ASSERT_THAT(WriteFileAtomic(fs_, p, AsBytes("secret"), 0600), IsOk());
  EXPECT_EQ(ModeOf(p), 0600u);
}

TEST_F(FileSystemTest, WriteFileAtomicSetsExactModeDespiteUmask) {
  // The umask would turn 0664 into 0644; the seam sets what was asked for.
  ScopedUmask mask(022);
  std::string p = Path("shared");
  ASSERT_THAT(WriteFileAtomic(fs_, p, AsBytes("x"), 0664), IsOk());
  EXPECT_EQ(ModeOf(p), 0664u);
}

TEST_F(FileSystemTest, WriteFileAtomicSetsExactModeUnderRestrictiveUmask) {
  ScopedUmask mask(077);
  std::string p = Path("public");
  ASSERT_THAT(WriteFileAtomic(fs_, p, AsBytes("x"), 0644), IsOk());
  EXPECT_EQ(ModeOf(p), 0644u);
}

TEST_F(FileSystemTest, WriteFileAtomicExclusiveSetsMode) {
  ScopedUmask mask(022);
  std::string p = Path("key");
  ASSERT_THAT(WriteFileAtomic(fs_, p, AsBytes("secret"), 0600, /*exclusive=*/true), IsOk());
  EXPECT_EQ(ModeOf(p), 0600u);
  EXPECT_EQ(ReadRaw(p), "secret");
  EXPECT_THAT(Entries(dir_), ElementsAre("key"));
}

TEST_F(FileSystemTest, WriteFileAtomicReplacesExistingByDefault) {
  std::string p = Path("f");
  ASSERT_THAT(WriteFileAtomic(fs_, p, AsBytes("old content"), 0644), IsOk());
  ASSERT_THAT(WriteFileAtomic(fs_, p, AsBytes("new"), 0600), IsOk());
  EXPECT_EQ(ReadRaw(p), "new");
  EXPECT_EQ(ModeOf(p), 0600u);
  EXPECT_THAT(Entries(dir_), ElementsAre("f"));
}

TEST_F(FileSystemTest, WriteFileAtomicExclusiveRefusesToOverwrite) {
  std::string p = Path("f");
  WriteRaw(p, "original");
  EXPECT_THAT(WriteFileAtomic(fs_, p, AsBytes("replacement"), 0600, /*exclusive=*/true),
              HasCodeAndMessage(StatusCode::kAlreadyExists, p));
  EXPECT_EQ(ReadRaw(p), "original");
  EXPECT_THAT(Entries(dir_), ElementsAre("f"));  // no temporary left behind
}

TEST_F(FileSystemTest, WriteFileAtomicExclusiveRefusesDanglingSymlink) {
  std::string p = Path("link");
  ASSERT_EQ(::symlink(Path("nowhere").c_str(), p.c_str()), 0);
  EXPECT_THAT(WriteFileAtomic(fs_, p, AsBytes("x"), 0600, /*exclusive=*/true), HasCode(StatusCode::kAlreadyExists));
  EXPECT_THAT(Entries(dir_), ElementsAre("link"));
}

// The Stat pre-check can lose a race; link(2) must still refuse, and the
// temporary must be cleaned up.
TEST_F(FileSystemTest, WriteFileAtomicExclusiveLosingRaceDoesNotOverwriteOrLeaveTemp) {
  std::string p = Path("f");
  WriteRaw(p, "winner");
  FaultyFileSystem faulty(fs_);
  faulty.stat_says_missing = true;
  EXPECT_THAT(WriteFileAtomic(faulty, p, AsBytes("loser"), 0600, /*exclusive=*/true),
              HasCode(StatusCode::kAlreadyExists));
  EXPECT_EQ(ReadRaw(p), "winner");
  EXPECT_THAT(Entries(dir_), ElementsAre("f"));
}

TEST_F(FileSystemTest, WriteFileAtomicFailedSyncLeavesTargetAndNoTemp) {
  std::string p = Path("f");
  WriteRaw(p, "old");
  FaultyFileSystem faulty(fs_);
  faulty.fail_sync = true;
  EXPECT_THAT(WriteFileAtomic(faulty, p, AsBytes("new"), 0600), HasCode(StatusCode::kUnavailable));
  EXPECT_EQ(ReadRaw(p), "old");
  EXPECT_THAT(Entries(dir_), ElementsAre("f"));
}

TEST_F(FileSystemTest, WriteFileAtomicReplacesSymlinkWithoutWritingThroughIt) {
  std::string target = Path("target");
  std::string link = Path("link");
  WriteRaw(target, "keep me");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  ASSERT_THAT(WriteFileAtomic(fs_, link, AsBytes("new"), 0600), IsOk());
  EXPECT_EQ(ReadRaw(target), "keep me");
  auto info = fs_.Stat(link);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->type, FileType::kRegular);
}

TEST_F(FileSystemTest, WriteFileAtomicIntoMissingDirectoryFails) {
  EXPECT_THAT(WriteFileAtomic(fs_, Path("no/such/f"), AsBytes("x"), 0600), HasCode(StatusCode::kNotFound));
}

// --- NewWritableFile -----------------------------------------------------------

TEST_F(FileSystemTest, NewWritableFileExclusiveRefusesExisting) {
  std::string p = Path("f");
  WriteRaw(p, "x");
  EXPECT_THAT(fs_.NewWritableFile(p, 0600, /*exclusive=*/true), HasCode(StatusCode::kAlreadyExists));
  EXPECT_EQ(ReadRaw(p), "x");
}

TEST_F(FileSystemTest, NewWritableFileTruncatesWhenNotExclusive) {
  std::string p = Path("f");
  WriteRaw(p, "long old content");
  auto f = fs_.NewWritableFile(p, 0600, /*exclusive=*/false);
  ASSERT_THAT(f, IsOk());
  ASSERT_THAT((*f)->Append(AsBytes("ab")), IsOk());
  ASSERT_THAT((*f)->Append(AsBytes("cd")), IsOk());
  ASSERT_THAT((*f)->Sync(), IsOk());
  ASSERT_THAT((*f)->Close(), IsOk());
  EXPECT_EQ(ReadRaw(p), "abcd");
}

TEST_F(FileSystemTest, NewWritableFileRefusesToWriteThroughSymlink) {
  std::string target = Path("target");
  std::string link = Path("link");
  WriteRaw(target, "keep me");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_THAT(fs_.NewWritableFile(link, 0600, /*exclusive=*/false), HasCode(StatusCode::kInvalidArgument));
  EXPECT_EQ(ReadRaw(target), "keep me");
}

TEST_F(FileSystemTest, CloseTwiceIsHarmless) {
  auto f = fs_.NewWritableFile(Path("f"), 0600, true);
  ASSERT_THAT(f, IsOk());
  EXPECT_THAT((*f)->Close(), IsOk());
  EXPECT_THAT((*f)->Close(), IsOk());
}

// --- ReadFileBounded / OpenRead ------------------------------------------------

TEST_F(FileSystemTest, ReadFileBoundedReadsWholeFile) {
  std::string p = Path("f");
  WriteRaw(p, std::string("a\0b", 3));
  auto data = ReadFileBounded(fs_, p, 3);
  ASSERT_THAT(data, IsOk());
  EXPECT_EQ(*data, (Bytes{'a', 0, 'b'}));
}

TEST_F(FileSystemTest, ReadFileBoundedReadsEmptyFile) {
  std::string p = Path("f");
  WriteRaw(p, "");
  auto data = ReadFileBounded(fs_, p, 0);
  ASSERT_THAT(data, IsOk());
  EXPECT_THAT(*data, IsEmpty());
}

TEST_F(FileSystemTest, ReadFileBoundedRefusesOversize) {
  std::string p = Path("f");
  WriteRaw(p, "four");
  EXPECT_THAT(ReadFileBounded(fs_, p, 3),
              HasCodeAndMessage(StatusCode::kResourceExhausted, "is 4 bytes, over the limit of 3"));
}

TEST_F(FileSystemTest, ReadFileBoundedRefusesOversizeBeforeReading) {
  std::string p = Path("f");
  WriteRaw(p, "tiny");
  FaultyFileSystem faulty(fs_);
  faulty.fake_size = std::uint64_t(1) << 60;  // allocating this would abort the test
  EXPECT_THAT(ReadFileBounded(faulty, p, 1 << 20), HasCode(StatusCode::kResourceExhausted));
  EXPECT_EQ(faulty.reads, 0);
}

TEST_F(FileSystemTest, ReadFileBoundedMissingIsNotFound) {
  EXPECT_THAT(ReadFileBounded(fs_, Path("absent"), 10), HasCode(StatusCode::kNotFound));
}

TEST_F(FileSystemTest, OpenReadRefusesSymlink) {
  std::string target = Path("target");
  std::string link = Path("link");
  WriteRaw(target, "x");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_THAT(fs_.OpenRead(link), HasCodeAndMessage(StatusCode::kInvalidArgument, "symlink"));
  EXPECT_THAT(ReadFileBounded(fs_, link, 10), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(FileSystemTest, OpenReadRefusesDanglingSymlink) {
  std::string link = Path("link");
  ASSERT_EQ(::symlink(Path("nowhere").c_str(), link.c_str()), 0);
  EXPECT_THAT(fs_.OpenRead(link), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(FileSystemTest, OpenReadRefusesDirectory) {
  EXPECT_THAT(fs_.OpenRead(dir_), HasCodeAndMessage(StatusCode::kInvalidArgument, "not a regular file"));
}

TEST_F(FileSystemTest, OpenReadRefusesDevice) {
  EXPECT_THAT(fs_.OpenRead("/dev/null"), HasCodeAndMessage(StatusCode::kInvalidArgument, "not a regular file"));
}

// Found by this test: open(2) of a FIFO without O_NONBLOCK waits for a writer,
// so a FIFO planted where a file was expected hung the reader forever.
TEST_F(FileSystemTest, OpenReadRefusesFifoWithoutBlocking) {
  std::string fifo = Path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::atomic<bool> done{false};
  std::atomic<bool> had_to_unblock{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 500 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!done) {
      had_to_unblock = true;
      int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);  // releases the blocked reader
      if (fd >= 0) ::close(fd);
    }
  });
  auto r = fs_.OpenRead(fifo);
  done = true;
  watchdog.join();
  EXPECT_FALSE(had_to_unblock) << "OpenRead blocked on a FIFO";
  EXPECT_THAT(r, HasCodeAndMessage(StatusCode::kInvalidArgument, "not a regular file"));
}

TEST_F(FileSystemTest, ReadAtPastEndIsCorruption) {
  std::string p = Path("f");
  WriteRaw(p, "0123456789");
  auto f = fs_.OpenRead(p);
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ((*f)->size(), 10u);
  std::uint8_t buf[4];
  ASSERT_THAT((*f)->ReadAt(6, buf), IsOk());
  EXPECT_EQ(ToString(buf), "6789");
  EXPECT_THAT((*f)->ReadAt(7, buf), HasCodeAndMessage(StatusCode::kCorruption, "ends at byte 10"));
  EXPECT_THAT((*f)->ReadAt(100, buf), HasCode(StatusCode::kCorruption));
}

TEST_F(FileSystemTest, ReadAtEmptySpanAtEndIsOk) {
  std::string p = Path("f");
  WriteRaw(p, "abc");
  auto f = fs_.OpenRead(p);
  ASSERT_THAT(f, IsOk());
  EXPECT_THAT((*f)->ReadAt(3, std::span<std::uint8_t>()), IsOk());
}

// --- Stat / ListDir / MakeDir / Rename / Link / Remove -------------------------

TEST_F(FileSystemTest, StatDescribesTypesWithoutFollowingSymlinks) {
  WriteRaw(Path("file"), "12345");
  ASSERT_EQ(::chmod(Path("file").c_str(), 0640), 0);
  ASSERT_EQ(::symlink(Path("file").c_str(), Path("link").c_str()), 0);
  auto file = fs_.Stat(Path("file"));
  ASSERT_THAT(file, IsOk());
  EXPECT_EQ(file->type, FileType::kRegular);
  EXPECT_EQ(file->size, 5u);
  EXPECT_EQ(file->mode, 0640u);
  auto link = fs_.Stat(Path("link"));
  ASSERT_THAT(link, IsOk());
  EXPECT_EQ(link->type, FileType::kSymlink);
  auto dir = fs_.Stat(dir_);
  ASSERT_THAT(dir, IsOk());
  EXPECT_EQ(dir->type, FileType::kDirectory);
  auto dev = fs_.Stat("/dev/null");
  ASSERT_THAT(dev, IsOk());
  EXPECT_EQ(dev->type, FileType::kOther);
}

TEST_F(FileSystemTest, StatMissingIsNotFound) {
  EXPECT_THAT(fs_.Stat(Path("absent")), HasCode(StatusCode::kNotFound));
}

TEST_F(FileSystemTest, ListDirIsSortedWithoutDotEntries) {
  WriteRaw(Path("b"), "");
  WriteRaw(Path("a"), "");
  WriteRaw(Path("B"), "");
  ASSERT_THAT(fs_.MakeDir(Path("c"), 0700), IsOk());
  EXPECT_THAT(Entries(dir_), ElementsAre("B", "a", "b", "c"));
}

TEST_F(FileSystemTest, ListDirMissingIsNotFound) {
  EXPECT_THAT(fs_.ListDir(Path("absent")), HasCode(StatusCode::kNotFound));
}

TEST_F(FileSystemTest, MakeDirExistingIsAlreadyExists) {
  ASSERT_THAT(fs_.MakeDir(Path("d"), 0700), IsOk());
  EXPECT_THAT(fs_.MakeDir(Path("d"), 0700), HasCode(StatusCode::kAlreadyExists));
}

TEST_F(FileSystemTest, RenameReplacesTarget) {
  WriteRaw(Path("from"), "new");
  WriteRaw(Path("to"), "old");
  ASSERT_THAT(fs_.Rename(Path("from"), Path("to")), IsOk());
  EXPECT_EQ(ReadRaw(Path("to")), "new");
  EXPECT_THAT(Entries(dir_), ElementsAre("to"));
}

TEST_F(FileSystemTest, LinkRefusesExistingTarget) {
  WriteRaw(Path("a"), "a");
  WriteRaw(Path("b"), "b");
  EXPECT_THAT(fs_.Link(Path("a"), Path("b")), HasCode(StatusCode::kAlreadyExists));
  ASSERT_THAT(fs_.Link(Path("a"), Path("c")), IsOk());
  EXPECT_EQ(ReadRaw(Path("c")), "a");
}

TEST_F(FileSystemTest, RemoveMissingIsNotFound) {
  EXPECT_THAT(fs_.Remove(Path("absent")), HasCode(StatusCode::kNotFound));
}

TEST_F(FileSystemTest, SyncDirWorksOnDirectory) {
  EXPECT_THAT(fs_.SyncDir(dir_), IsOk());
  EXPECT_THAT(fs_.SyncDir(Path("absent")), HasCode(StatusCode::kNotFound));
}

// --- RemoveAll -----------------------------------------------------------------

TEST_F(FileSystemTest, RemoveAllRemovesTree) {
  std::string root = Path("root");
  ASSERT_THAT(fs_.MakeDir(root, 0700), IsOk());
  ASSERT_THAT(fs_.MakeDir(JoinPath(root, "sub"), 0700), IsOk());
  ASSERT_THAT(fs_.MakeDir(JoinPath(root, "sub/deeper"), 0700), IsOk());
  WriteRaw(JoinPath(root, "sub/deeper/f"), "x");
  WriteRaw(JoinPath(root, ".hidden"), "x");
  ASSERT_THAT(fs_.RemoveAll(root), IsOk());
  EXPECT_THAT(fs_.Stat(root), HasCode(StatusCode::kNotFound));
}

TEST_F(FileSystemTest, RemoveAllDoesNotFollowSymlinksOutOfTheTree) {
  std::string outside = Path("outside");
  ASSERT_THAT(fs_.MakeDir(outside, 0700), IsOk());
  WriteRaw(JoinPath(outside, "precious"), "keep");
  WriteRaw(Path("outside-file"), "keep too");

  std::string root = Path("root");
  ASSERT_THAT(fs_.MakeDir(root, 0700), IsOk());
  ASSERT_THAT(fs_.MakeDir(JoinPath(root, "sub"), 0700), IsOk());
  ASSERT_EQ(::symlink(outside.c_str(), JoinPath(root, "dir-link").c_str()), 0);
  ASSERT_EQ(::symlink(Path("outside-file").c_str(), JoinPath(root, "sub/file-link").c_str()), 0);
  ASSERT_EQ(::symlink("../../outside", JoinPath(root, "sub/relative-link").c_str()), 0);

  ASSERT_THAT(fs_.RemoveAll(root), IsOk());
  EXPECT_THAT(fs_.Stat(root), HasCode(StatusCode::kNotFound));
  EXPECT_EQ(ReadRaw(JoinPath(outside, "precious")), "keep");
  EXPECT_EQ(ReadRaw(Path("outside-file")), "keep too");
}

TEST_F(FileSystemTest, RemoveAllOnSymlinkRemovesOnlyTheLink) {
  std::string outside = Path("outside");
  ASSERT_THAT(fs_.MakeDir(outside, 0700), IsOk());
  WriteRaw(JoinPath(outside, "precious"), "keep");
  ASSERT_EQ(::symlink(outside.c_str(), Path("link").c_str()), 0);
  ASSERT_THAT(fs_.RemoveAll(Path("link")), IsOk());
  EXPECT_THAT(Entries(dir_), ElementsAre("outside"));
  EXPECT_EQ(ReadRaw(JoinPath(outside, "precious")), "keep");
}

TEST_F(FileSystemTest, RemoveAllMissingIsOk) { EXPECT_THAT(fs_.RemoveAll(Path("absent")), IsOk()); }

TEST_F(FileSystemTest, RemoveAllRemovesPlainFile) {
  WriteRaw(Path("f"), "x");
  ASSERT_THAT(fs_.RemoveAll(Path("f")), IsOk());
  EXPECT_THAT(Entries(dir_), IsEmpty());
}

// --- TempSiblingName -----------------------------------------------------------

TEST(TempSiblingNameTest, IsHiddenSiblingInSameDirectory) {
  std::string t = TempSiblingName("/reg/pkg/index.json");
  EXPECT_EQ(DirName(t), "/reg/pkg");
  EXPECT_THAT(BaseName(t), StartsWith(".index.json.tmp-"));
  EXPECT_EQ(BaseName(t).size(), std::string(".index.json.tmp-").size() + 12);
}

TEST(TempSiblingNameTest, IsRandom) { EXPECT_NE(TempSiblingName("a/b"), TempSiblingName("a/b")); }

TEST(TempSiblingNameTest, RelativeBareName) { EXPECT_EQ(DirName(TempSiblingName("f")), "."); }

// --- NewMemoryFile -------------------------------------------------------------

TEST(MemoryFileTest, ReadsWithinBounds) {
  auto f = NewMemoryFile(B("0123456789"), "mem");
  EXPECT_EQ(f->size(), 10u);
  std::uint8_t buf[3];
  ASSERT_THAT(f->ReadAt(0, buf), IsOk());
  EXPECT_EQ(ToString(buf), "012");
  ASSERT_THAT(f->ReadAt(7, buf), IsOk());
  EXPECT_EQ(ToString(buf), "789");
}

TEST(MemoryFileTest, ReadPastEndIsCorruptionNamingFile) {
  auto f = NewMemoryFile(B("0123456789"), "chunk-7");
  std::uint8_t buf[3];
  EXPECT_THAT(f->ReadAt(8, buf),
              HasCodeAndMessage(StatusCode::kCorruption, "chunk-7 ends at byte 10, expected at least 11"));
}

TEST(MemoryFileTest, OffsetPastEndIsCorruption) {
  auto f = NewMemoryFile(B("abc"));
  std::uint8_t buf[1];
  EXPECT_THAT(f->ReadAt(4, buf), HasCode(StatusCode::kCorruption));
  EXPECT_THAT(f->ReadAt(4, std::span<std::uint8_t>()), HasCode(StatusCode::kCorruption));
}

TEST(MemoryFileTest, EmptyReadAtEndIsOk) {
  auto f = NewMemoryFile(B("abc"));
  EXPECT_THAT(f->ReadAt(3, std::span<std::uint8_t>()), IsOk());
}

TEST(MemoryFileTest, HugeOffsetDoesNotOverflow) {
  auto f = NewMemoryFile(B("abc"));
  std::uint8_t buf[2];
  EXPECT_THAT(f->ReadAt(UINT64_MAX, buf), HasCode(StatusCode::kCorruption));
  EXPECT_THAT(f->ReadAt(UINT64_MAX - 1, buf), HasCode(StatusCode::kCorruption));
}

TEST(MemoryFileTest, EmptyFile) {
  auto f = NewMemoryFile(Bytes());
  EXPECT_EQ(f->size(), 0u);
  EXPECT_THAT(f->ReadAt(0, std::span<std::uint8_t>()), IsOk());
  std::uint8_t buf[1];
  EXPECT_THAT(f->ReadAt(0, buf), HasCode(StatusCode::kCorruption));
}

// --- path helpers --------------------------------------------------------------

TEST(JoinPathTest, Joins) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("/", "b"), "/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
  EXPECT_EQ(JoinPath("a/b", "c/d"), "a/b/c/d");
}

TEST(DirNameTest, Cases) {
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("/a"), "/");
  EXPECT_EQ(DirName("/a/b"), "/a");
  EXPECT_EQ(DirName("file"), ".");
  EXPECT_EQ(DirName(""), ".");
  EXPECT_EQ(DirName("/"), "/");
}

TEST(BaseNameTest, Cases) {
  EXPECT_EQ(BaseName("a/b/c"), "c");
  EXPECT_EQ(BaseName("/a"), "a");
  EXPECT_EQ(BaseName("file"), "file");
  EXPECT_EQ(BaseName(""), "");
}

TEST(PathHelpersTest, DirNameJoinBaseNameRoundTrip) {
  for (const char* p : {"a/b", "/x/y/z", "/top"}) EXPECT_EQ(JoinPath(DirName(p), BaseName(p)), p) << p;
}

}  // namespace
}  // namespace arca
