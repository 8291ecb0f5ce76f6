#include "base/file_system.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/crypto.h"

namespace arca {

Status ErrnoStatus(const std::string& what, const std::string& path, int err) {
  std::string msg = what + " " + path + ": " + std::strerror(err);
  switch (err) {
    case ENOENT: return NotFoundError(msg);
    case EEXIST: return AlreadyExistsError(msg);
    case EACCES:
    case EPERM: return PermissionDeniedError(msg);
    case ENOSPC:
    case EDQUOT: return ResourceExhaustedError(msg);
    case ELOOP: return InvalidArgumentError(msg + " (refusing to follow a symlink)");
    case EBUSY:
    case EAGAIN:
    case EINTR: return UnavailableError(msg);
    default: return InternalError(msg);
  }
}

namespace {


class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Append(ByteSpan data) override {
    const std::uint8_t* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("writing", path_, errno);
      }
      p += n;
      left -= std::size_t(n);
    }
    return Status::Ok();
  }
  Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoStatus("syncing", path_, errno);
    return Status::Ok();
  }
  Status Close() override {
    int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && ::close(fd) != 0) return ErrnoStatus("closing", path_, errno);
    return Status::Ok();
  }

 private:
  int fd_;
  std::string path_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(int fd, std::string path, std::uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }
  Status ReadAt(std::uint64_t offset, std::span<std::uint8_t> out) const override {
    std::size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, off_t(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("reading", path_, errno);
      }
      if (n == 0) {
        return CorruptionError(path_ + " ends at byte " + std::to_string(offset + done) + ", expected at least " +
                               std::to_string(offset + out.size()));
      }
      done += std::size_t(n);
    }
    return Status::Ok();
  }
  std::uint64_t size() const override { return size_; }

 private:
  int fd_;
  std::string path_;
  std::uint64_t size_;
};

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, std::uint32_t mode,
                                                        bool exclusive) override {
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (exclusive ? O_EXCL : O_TRUNC);
    int fd = ::open(path.c_str(), flags, mode);
    if (fd < 0) return ErrnoStatus("creating", path, errno);
    // open(2) applies the umask; set the exact mode we were asked for.
    if (::fchmod(fd, mode) != 0) {
      int err = errno;
      ::close(fd);
      return ErrnoStatus("chmod", path, err);
    }
    return std::unique_ptr<WritableFile>(new PosixWritableFile(fd, path));
  }

  Result<std::unique_ptr<WritableFile>> OpenAppend(const std::string& path, std::uint32_t mode) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) return ErrnoStatus("opening for append", path, errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(fd, path));
  }

  Result<std::unique_ptr<RandomAccessFile>> OpenRead(const std::string& path) override {
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer before the
    // regular-file check below can refuse it. It does not affect regular files.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return ErrnoStatus("opening", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return InvalidArgumentError(path + " is not a regular file");
    }
    return std::unique_ptr<RandomAccessFile>(new PosixRandomAccessFile(fd, path, std::uint64_t(st.st_size)));
  }

  Result<FileInfo> Stat(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return ErrnoStatus("stat", path, errno);
    FileInfo info;
    info.size = std::uint64_t(st.st_size);
    info.mode = st.st_mode & 07777;
    if (S_ISREG(st.st_mode)) info.type = FileType::kRegular;
    else if (S_ISDIR(st.st_mode)) info.type = FileType::kDirectory;
    else if (S_ISLNK(st.st_mode)) info.type = FileType::kSymlink;
    else info.type = FileType::kOther;
    return info;
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return ErrnoStatus("listing", path, errno);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }

  Status MakeDir(const std::string& path, std::uint32_t mode) override {
    if (::mkdir(path.c_str(), mode) != 0) return ErrnoStatus("creating directory", path, errno);
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("renaming to " + to + ":", from, errno);
    return Status::Ok();
  }

  Status Link(const std::string& from, const std::string& to) override {
    if (::link(from.c_str(), to.c_str()) != 0) return ErrnoStatus("linking to " + to + ":", from, errno);
    return Status::Ok();
  }

  Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("opening directory", path, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return ErrnoStatus("syncing directory", path, err);
    return Status::Ok();
  }

  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("removing", path, errno);
    return Status::Ok();
  }

  Status RemoveAll(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::Ok();
      return ErrnoStatus("stat", path, errno);
    }
    if (S_ISDIR(st.st_mode)) {
      ARCA_ASSIGN_OR_RETURN(auto names, ListDir(path));
      for (const auto& n : names) ARCA_RETURN_IF_ERROR(RemoveAll(JoinPath(path, n)));
      if (::rmdir(path.c_str()) != 0) return ErrnoStatus("removing directory", path, errno);
      return Status::Ok();
    }
    return Remove(path);
  }
};

class MemoryFile final : public RandomAccessFile {
 public:
  MemoryFile(Bytes data, std::string name) : data_(std::move(data)), name_(std::move(name)) {}
  Status ReadAt(std::uint64_t offset, std::span<std::uint8_t> out) const override {
    if (offset > data_.size() || out.size() > data_.size() - offset) {
      return CorruptionError(name_ + " ends at byte " + std::to_string(data_.size()) + ", expected at least " +
                             std::to_string(offset + out.size()));
    }
    std::copy_n(data_.begin() + std::ptrdiff_t(offset), out.size(), out.begin());
    return Status::Ok();
  }
  std::uint64_t size() const override { return data_.size(); }

 private:
  Bytes data_;
  std::string name_;
};

}  // namespace

std::unique_ptr<RandomAccessFile> NewMemoryFile(Bytes data, std::string name) {
  return std::make_unique<MemoryFile>(std::move(data), std::move(name));
}

FileSystem& FileSystem::Default() {
  static PosixFileSystem fs;
  return fs;
}

Result<Bytes> ReadFileBounded(FileSystem& fs, const std::string& path, std::uint64_t max_bytes) {
  ARCA_ASSIGN_OR_RETURN(auto file, fs.OpenRead(path));
  if (file->size() > max_bytes) {
    return ResourceExhaustedError(path + " is " + std::to_string(file->size()) + " bytes, over the limit of " +
                                  std::to_string(max_bytes));
  }
  Bytes data(file->size());
  ARCA_RETURN_IF_ERROR(file->ReadAt(0, data));
  return data;
}

Result<SecretBytes> ReadSecretFileBounded(FileSystem& fs, const std::string& path, std::uint64_t max_bytes) {
  ARCA_ASSIGN_OR_RETURN(auto file, fs.OpenRead(path));
  if (file->size() > max_bytes) {
    return ResourceExhaustedError(path + " is " + std::to_string(file->size()) + " bytes, over the limit of " +
                                  std::to_string(max_bytes));
  }
  SecretBytes data(file->size());
  ARCA_RETURN_IF_ERROR(file->ReadAt(0, data.ExposeMutable()));
  return data;
}

Result<std::unique_ptr<WritableFile>> FileSystem::OpenAppend(const std::string& path, std::uint32_t) {
  return FailedPreconditionError("this file system cannot append to " + path);
}

Status WriteFileAtomic(FileSystem& fs, const std::string& path, ByteSpan data, std::uint32_t mode,
                       bool exclusive) {
  if (exclusive) {
    auto st = fs.Stat(path);
    if (st.ok()) return AlreadyExistsError(path + " already exists; refusing to overwrite it");
  }
  std::string tmp = TempSiblingName(path);
  Status s = [&]() -> Status {
    ARCA_ASSIGN_OR_RETURN(auto f, fs.NewWritableFile(tmp, mode, /*exclusive=*/true));
    ARCA_RETURN_IF_ERROR(f->Append(data));
    ARCA_RETURN_IF_ERROR(f->Sync());
    ARCA_RETURN_IF_ERROR(f->Close());
    if (exclusive) {
      // link(2) fails if the target appeared meanwhile: no silent overwrite.
      ARCA_RETURN_IF_ERROR(fs.Link(tmp, path));
      ARCA_RETURN_IF_ERROR(fs.Remove(tmp));
    } else {
      ARCA_RETURN_IF_ERROR(fs.Rename(tmp, path));
    }
    return fs.SyncDir(DirName(path));
  }();
  if (!s.ok()) (void)fs.Remove(tmp);
  return s;
}

std::string JoinPath(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (a.back() == '/') return a + b;
  return a + "/" + b;
}

std::string DirName(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

std::string BaseName(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}

std::string TempSiblingName(const std::string& path) {
  std::uint8_t r[6];
  crypto::RandomBytes(r);
  return JoinPath(DirName(path), "." + BaseName(path) + ".tmp-" + HexEncode(r));
}

}  // namespace arca
