#include "runtime/configfs_tsm.h"

#include "base/file_system.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/crypto.h"

namespace arca::runtime {
namespace {

constexpr std::size_t kMaxBlobBytes = 1 << 20;
constexpr int kAttempts = 3;


class PosixTsmFs final : public TsmFs {
 public:
  Status MakeDir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0700) != 0) return ErrnoStatus("creating", path, errno);
    return Status::Ok();
  }
  Status RemoveDir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0) return ErrnoStatus("removing", path, errno);
    return Status::Ok();
  }
  Status Write(const std::string& path, ByteSpan data) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return ErrnoStatus("opening", path, errno);
    ssize_t n = ::write(fd, data.data(), data.size());
    int err = errno;
    bool closed = ::close(fd) == 0;
    if (n < 0) return ErrnoStatus("writing", path, err);
    if (std::size_t(n) != data.size()) return InternalError("writing " + path + ": short write");
    if (!closed) return ErrnoStatus("closing", path, errno);
    return Status::Ok();
  }
  Result<Bytes> Read(const std::string& path, std::size_t max_bytes) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return ErrnoStatus("opening", path, errno);
    Bytes out;
    std::uint8_t buf[8192];
    while (true) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        ::close(fd);
        return ErrnoStatus("reading", path, err);
      }
      if (n == 0) break;
      if (out.size() + std::size_t(n) > max_bytes) {
        ::close(fd);
        return ResourceExhaustedError("reading " + path + ": larger than " + std::to_string(max_bytes) + " bytes");
      }
      out.insert(out.end(), buf, buf + n);
    }
    ::close(fd);
    return out;
  }
};

std::string Trim(ByteSpan b) {
  std::string s = ToString(b);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<std::uint64_t> ReadGeneration(TsmFs& fs, const std::string& entry) {
  ARCA_ASSIGN_OR_RETURN(Bytes g, fs.Read(entry + "/generation", 64));
  std::string s = Trim(g);
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgumentError("configfs-tsm " + entry + "/generation: expected a decimal counter, got \"" +
                                s.substr(0, 24) + "\"");
  }
  return std::stoull(s);
}

Result<TsmReport> CollectOnce(TsmFs& fs, const std::string& entry, ByteSpan inblob, std::string_view want_provider) {
  TsmReport r;
  ARCA_ASSIGN_OR_RETURN(Bytes provider, fs.Read(entry + "/provider", 256));
  r.provider = Trim(provider);
  if (r.provider != want_provider) {
    return FailedPreconditionError("configfs-tsm provider: expected " + std::string(want_provider) + ", got \"" +
                                   r.provider.substr(0, 40) + "\"");
  }
  ARCA_RETURN_IF_ERROR(fs.Write(entry + "/inblob", inblob));
  ARCA_ASSIGN_OR_RETURN(std::uint64_t before, ReadGeneration(fs, entry));
  ARCA_ASSIGN_OR_RETURN(r.outblob, fs.Read(entry + "/outblob", kMaxBlobBytes));
  auto aux = fs.Read(entry + "/auxblob", kMaxBlobBytes);
  if (aux.ok()) {
    r.auxblob = std::move(*aux);
  } else if (aux.status().code() != StatusCode::kNotFound) {
    return aux.status();
  }
  ARCA_ASSIGN_OR_RETURN(r.generation, ReadGeneration(fs, entry));
  // A fresh entry counts one write (our inblob); anything else means another
  // process wrote to it, and outblob may answer its inblob.
  if (before != 1 || r.generation != before) {
    return UnavailableError("configfs-tsm generation: expected 1 before and after reading outblob, got " +
                            std::to_string(before) + " and " + std::to_string(r.generation) +
                            " (another writer used the entry)");
  }
  if (r.outblob.empty()) return UnavailableError("configfs-tsm outblob: empty");
  return r;
}

}  // namespace

TsmFs& TsmFs::Posix() {
  static PosixTsmFs fs;
  return fs;
}

Result<TsmReport> CollectTsmReport(TsmFs& fs, const std::string& configfs_root, ByteSpan inblob,
                                   std::string_view want_provider) {
  if (inblob.size() > 64) {
    return InvalidArgumentError("configfs-tsm inblob: expected at most 64 bytes, got " + std::to_string(inblob.size()));
  }
  const std::string dir = configfs_root + "/tsm/report";
  Status last;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::uint8_t rnd[8];
    crypto::RandomBytes(rnd);
    const std::string entry = dir + "/arca-" + HexEncode(rnd);
    Status made = fs.MakeDir(entry);
    if (made.code() == StatusCode::kNotFound) {
      return FailedPreconditionError("configfs-tsm: " + dir +
                                     " does not exist (not a confidential guest, kernel without CONFIG_TSM_REPORTS, "
                                     "or configfs not mounted)");
    }
    ARCA_RETURN_IF_ERROR(made);
    auto r = CollectOnce(fs, entry, inblob, want_provider);
    Status removed = fs.RemoveDir(entry);
    if (r.ok()) {
      ARCA_RETURN_IF_ERROR(removed);
      return r;
    }
    if (r.status().code() != StatusCode::kUnavailable) return r.status();
    last = r.status();
  }
  return last.WithContext("configfs-tsm: " + std::to_string(kAttempts) + " attempts");
}

}  // namespace arca::runtime
