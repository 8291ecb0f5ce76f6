// ProtectedMemorySink with OpenToSink on a sealed synthetic model: content
// equals `arca open`'s (format::Open), the memfds are sealed and locked and
// excluded from dumps, the model is mapped only from memfds, and a damaged
// pack or a wrong key leaves no memfd behind.
#include "runtime/protected_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <cstring>
#include <functional>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "base/testing/status_matchers.h"
#include "base/testing/temp_dir.h"
#include "format/package.h"
#include "format/testing/synthetic_weights.h"

namespace arca::runtime {
namespace {

namespace stdfs = std::filesystem;
using ::testing::HasSubstr;

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, ByteSpan data) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
}

// MemfdCount counts this process's open fds that are Arca memfds.
int MemfdCount() {
  int n = 0;
  for (const auto& e : stdfs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = stdfs::read_symlink(e.path(), ec);
    if (!ec && target.string().find("memfd:arca:") != std::string::npos) ++n;
  }
  return n;
}

class ProtectedMemoryTest : public ::testing::Test {
 protected:
  ProtectedMemoryTest() : key_(format::LineageKey::FromBytes(Bytes(32, 0x5a)).value()) {
    model_ = tmp_.path() + "/model";
    stdfs::create_directories(model_ + "/sub");
    WriteFile(model_ + "/weights.bin", format::test_data::Bf16Weights(300 * 1024, 7));
    WriteFile(model_ + "/sub/config.json", AsBytes(std::string("{\"hidden\": 256}\n")));
    WriteFile(model_ + "/empty", {});
    format::SealOptions so;
    so.name = "acme/tiny";
    so.version = "1";
    so.chunking = format::ChunkingParams{4096, 16384, 65536};
    so.pack_target_bytes = 128 * 1024;
    so.threads = 2;
    pkg_ = tmp_.path() + "/pkg";
    auto r = format::Seal(FileSystem::Default(), model_, pkg_, key_, so);
    EXPECT_THAT(r, IsOk());
  }

  format::LoadedPackage Load() { return format::LoadPackage(FileSystem::Default(), format::PackageRef{pkg_, ""}).value(); }

  format::ChunkKeyFn Keys(const format::LineageKey& key) {
    return [&key](const format::ChunkId& id) -> Result<SecretBytes> { return key.ChunkKey(id); };
  }

  Result<std::vector<ProtectedFile>> LoadProtected(const format::LineageKey& key, ProtectedMemorySink& sink) {
    format::LoadedPackage pkg = Load();
    auto r = format::OpenToSink(pkg, pkg.manifest_blob.digest, Keys(key), sink, format::OpenOptions{2, {}});
    if (!r.ok()) return r.status();
    return sink.Seal();
  }

  testing_util::TempDir tmp_;
  format::LineageKey key_;
  std::string model_;
  std::string pkg_;
};

TEST_F(ProtectedMemoryTest, ContentEqualsArcaOpen) {
  ProtectedMemorySink sink;
  auto files = LoadProtected(key_, sink);
  ASSERT_THAT(files, IsOk());
  std::string out = tmp_.path() + "/opened";
  ASSERT_THAT(format::Open(FileSystem::Default(), format::PackageRef{pkg_, ""}, key_, out), IsOk());
  ASSERT_EQ(files->size(), 3u);
  for (const auto& f : *files) {
    std::string want = ReadText(out + "/" + f.path());
    EXPECT_EQ(f.size(), want.size()) << f.path();
    // Through the path handed to engines, and through the locked mapping.
    EXPECT_EQ(ReadText(f.ProcPath()), want) << f.path();
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.data().data()), f.data().size()), want) << f.path();
    EXPECT_EQ(f.ProcPath(), "/proc/self/fd/" + std::to_string(f.fd()));
    EXPECT_EQ(::fcntl(f.fd(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC) << "memfds stay close-on-exec in the runtime";
  }
  EXPECT_TRUE(sink.warnings().empty());
}

TEST_F(ProtectedMemoryTest, SealsHold) {
  ProtectedMemorySink sink;
  auto files = LoadProtected(key_, sink);
  ASSERT_THAT(files, IsOk());
  for (const auto& f : *files) {
    int seals = ::fcntl(f.fd(), F_GET_SEALS);
    EXPECT_EQ(seals & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL),
              F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)
        << f.path();
    // Through a new writable open of the path, as an engine could try.
    int w = ::open(f.ProcPath().c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(w, 0) << f.path();
    EXPECT_EQ(::pwrite(w, "x", 1, 0), -1) << f.path();
    EXPECT_EQ(errno, EPERM);
    EXPECT_EQ(::write(w, "x", 1), -1);
    EXPECT_NE(::ftruncate(w, off_t(f.size() + 1)), 0) << "grow";
    if (f.size() > 0) {
      EXPECT_NE(::ftruncate(w, off_t(f.size() - 1)), 0) << "shrink";
      EXPECT_EQ(::mmap(nullptr, f.size(), PROT_READ | PROT_WRITE, MAP_SHARED, w, 0), MAP_FAILED) << "writable mapping";
    }
    EXPECT_NE(::fcntl(w, F_ADD_SEALS, 0), 0) << "F_SEAL_SEAL";
    ::close(w);
  }
}

// The model is mapped only from memfds (never a file on disk), each mapping
// locked ("lo") and excluded from core dumps ("dd") per /proc/self/smaps.
TEST_F(ProtectedMemoryTest, MappingsAreMemfdLockedAndNotDumped) {
  ProtectedMemorySink sink;
  auto files = LoadProtected(key_, sink);
  ASSERT_THAT(files, IsOk());
  std::string smaps = ReadText("/proc/self/smaps");
  std::string maps = ReadText("/proc/self/maps");
  EXPECT_THAT(maps, ::testing::Not(HasSubstr(tmp_.path()))) << "a package or model file is mapped";
  for (const auto& f : *files) {
    if (f.size() == 0) continue;
    char addr[32];
    std::snprintf(addr, sizeof addr, "%lx-", reinterpret_cast<unsigned long>(f.data().data()));
    std::size_t at = smaps.find("\n" + std::string(addr));
    ASSERT_NE(at, std::string::npos) << f.path();
    std::size_t eol = smaps.find('\n', at + 1);
    std::string header = smaps.substr(at + 1, eol - at - 1);
    EXPECT_THAT(header, HasSubstr("/memfd:arca:" + f.path())) << header;
    std::size_t flags = smaps.find("VmFlags:", at);
    std::string vmflags = smaps.substr(flags, smaps.find('\n', flags) - flags);
    EXPECT_THAT(vmflags, HasSubstr(" dd")) << f.path() << ": " << vmflags;
    EXPECT_THAT(vmflags, HasSubstr(" lo")) << f.path() << ": " << vmflags;
    EXPECT_THAT(vmflags, ::testing::Not(HasSubstr(" wr"))) << "the sealed mapping is read-only";
    EXPECT_TRUE(f.locked());
  }
}

TEST_F(ProtectedMemoryTest, ChangedPackByteIsRefusedNamingTheChunkAndNoMemfdSurvives) {
  format::LoadedPackage pkg = Load();
  std::string pack = pkg_ + "/blobs/sha256/" + pkg.manifest.packs[0].digest.substr(7);
  std::string bytes = ReadText(pack);
  bytes[bytes.size() / 3] ^= 0x40;
  WriteFile(pack, AsBytes(bytes));
  const int before = MemfdCount();
  {
    ProtectedMemorySink sink;
    // The pack's own digest is not re-checked by OpenBlob (size only), so
    // the record's tag is what catches the change.
    auto r = LoadProtected(key_, sink);
    EXPECT_THAT(r, HasCodeAndMessage(StatusCode::kUnauthenticated, "record does not authenticate"));
    EXPECT_THAT(r, HasCodeAndMessage(StatusCode::kUnauthenticated, "chunk "));
    EXPECT_EQ(MemfdCount(), before) << "a memfd survived the failed open";
  }
  EXPECT_EQ(MemfdCount(), before);
}

TEST_F(ProtectedMemoryTest, WrongKeyIsRefusedAndNoMemfdSurvives) {
  auto other = format::LineageKey::FromBytes(Bytes(32, 0xa5)).value();
  const int before = MemfdCount();
  ProtectedMemorySink sink;
  auto r = LoadProtected(other, sink);
  EXPECT_THAT(r, HasCodeAndMessage(StatusCode::kUnauthenticated, "record does not authenticate"));
  EXPECT_THAT(r, HasCodeAndMessage(StatusCode::kUnauthenticated, "chunk "));
  EXPECT_EQ(MemfdCount(), before);
}

TEST_F(ProtectedMemoryTest, ReleasingFilesClosesTheMemfds) {
  const int before = MemfdCount();
  {
    ProtectedMemorySink sink;
    auto files = LoadProtected(key_, sink);
    ASSERT_THAT(files, IsOk());
    EXPECT_EQ(MemfdCount(), before + 3);
  }
  EXPECT_EQ(MemfdCount(), before);
}

TEST_F(ProtectedMemoryTest, SinkRefusesMisuse) {
  ProtectedMemorySink sink;
  format::FileEntry f;
  f.path = "a.bin";
  f.size = 4;
  EXPECT_THAT(sink.Append(AsBytes(std::string("x"))), HasCode(StatusCode::kFailedPrecondition));
  ASSERT_THAT(sink.BeginFile(f), IsOk());
  EXPECT_THAT(sink.BeginFile(f), HasCode(StatusCode::kFailedPrecondition));
  EXPECT_THAT(sink.Append(AsBytes(std::string("abc"))), IsOk());
  EXPECT_THAT(sink.EndFile(f), HasCodeAndMessage(StatusCode::kCorruption, "got 3 of 4 bytes"));
  EXPECT_THAT(sink.Seal(), HasCode(StatusCode::kFailedPrecondition));
  EXPECT_THAT(sink.Append(AsBytes(std::string("de"))), HasCodeAndMessage(StatusCode::kCorruption, "more than its 4 bytes"));
  sink.Abort();
  EXPECT_EQ(MemfdCount(), 0);
}

TEST_F(ProtectedMemoryTest, PreparedFilesMustAllBeWrittenInOrder) {
  const int before = MemfdCount();
  ProtectedMemorySink sink;
  format::FileEntry a, b;
  a.path = "a.bin";
  a.size = 3;
  b.path = "b.bin";
  b.size = 5;
  ASSERT_THAT(sink.PrepareFiles({a, b}), IsOk());
  EXPECT_EQ(MemfdCount(), before + 2);
  EXPECT_EQ(sink.FileMemory(1).size(), 5u);
  EXPECT_TRUE(sink.FileMemory(2).empty());
  EXPECT_THAT(sink.BeginFile(b), HasCodeAndMessage(StatusCode::kFailedPrecondition, "b.bin was not prepared at this position"));
  ASSERT_THAT(sink.BeginFile(a), IsOk());
  std::span<std::uint8_t> mem = sink.FileMemory(0);
  std::memcpy(mem.data(), "xyz", 3);
  ASSERT_THAT(sink.Append(mem), IsOk());  // in place: nothing to copy
  ASSERT_THAT(sink.EndFile(a), IsOk());
  EXPECT_THAT(sink.Seal(), HasCodeAndMessage(StatusCode::kFailedPrecondition, "1 prepared files were never written"));
  sink.Abort();
  EXPECT_EQ(MemfdCount(), before);
}

TEST_F(ProtectedMemoryTest, SizeLimitIsEnforced) {
  ProtectedMemoryOptions o;
  o.max_total_bytes = 1000;
  ProtectedMemorySink sink(o);
  format::FileEntry f;
  f.path = "big.bin";
  f.size = 1001;
  EXPECT_THAT(sink.BeginFile(f), HasCodeAndMessage(StatusCode::kResourceExhausted, "big.bin"));
}

// DropIpcLock removes CAP_IPC_LOCK from this process (tests run as root,
// for whom mlock ignores RLIMIT_MEMLOCK).
bool DropIpcLock() {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2]{};
  if (::syscall(SYS_capget, &h, d) != 0) return false;
  d[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
  return ::syscall(SYS_capset, &h, d) == 0;
}

// RunInChild runs `body` in a forked child (it changes process-wide limits)
// and returns its exit code.
int RunInChild(const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST(ProtectedMemoryLimitTest, RaisesTheSoftMemlockLimitBeforeGivingUp) {
  EXPECT_EQ(RunInChild([] {
              struct rlimit rl{};
              ::getrlimit(RLIMIT_MEMLOCK, &rl);
              const rlim_t hard = rl.rlim_max;
              if (hard != RLIM_INFINITY && hard < (64u << 10)) return 20;  // the test needs a hard limit to raise to
              rl.rlim_cur = 0;
              if (!DropIpcLock() || ::setrlimit(RLIMIT_MEMLOCK, &rl) != 0) return 10;
              std::vector<std::string> warnings;
              ProtectedMemorySink sink(ProtectedMemoryOptions{[&](const std::string& w) { warnings.push_back(w); }});
              format::FileEntry f;
              f.path = "w.bin";
              f.size = 16 << 10;
              if (!sink.BeginFile(f).ok()) return 11;
              if (!warnings.empty()) return 12;
              ::getrlimit(RLIMIT_MEMLOCK, &rl);
              return rl.rlim_cur == hard ? 0 : 13;
            }),
            0);
}

TEST(ProtectedMemoryLimitTest, WarnsWhenMemoryCannotBeLocked) {
  EXPECT_EQ(RunInChild([] {
              struct rlimit rl{0, 0};
              if (!DropIpcLock() || ::setrlimit(RLIMIT_MEMLOCK, &rl) != 0) return 10;
              std::vector<std::string> warnings;
              ProtectedMemorySink sink(ProtectedMemoryOptions{[&](const std::string& w) { warnings.push_back(w); }});
              format::FileEntry f;
              f.path = "w.bin";
              f.size = 1 << 20;
              if (!sink.BeginFile(f).ok()) return 11;  // still loads: a warning, not an error
              std::string data(f.size, 'x');
              if (!sink.Append(AsBytes(data)).ok() || !sink.EndFile(f).ok()) return 12;
              auto files = sink.Seal();
              if (!files.ok() || files->size() != 1 || (*files)[0].locked()) return 13;
              if (warnings.size() != 1) return 14;  // once, not per mapping
              const std::string& w = warnings[0];
              if (w.find("cannot lock w.bin") == std::string::npos || w.find("RLIMIT_MEMLOCK is 0 bytes") == std::string::npos ||
                  w.find("may be swapped out") == std::string::npos) {
                return 15;
              }
              return sink.warnings() == warnings ? 0 : 16;
            }),
            0);
}

// HardenProcess runs in a child: it changes the process it runs in.
TEST(HardenProcessTest, MakesTheProcessNonDumpable) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::prctl(PR_GET_DUMPABLE) != 1) ::_exit(2);
    if (!HardenProcess().ok()) ::_exit(3);
    ::_exit(::prctl(PR_GET_DUMPABLE) == 0 ? 0 : 4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace arca::runtime
