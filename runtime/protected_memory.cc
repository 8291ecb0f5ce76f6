#include "runtime/protected_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include <openssl/crypto.h>

namespace arca::runtime {
namespace {

// Debian 12's kernel headers predate MFD_NOEXEC_SEAL (Linux 6.3); newer
// kernels warn about memfds created without MFD_EXEC or MFD_NOEXEC_SEAL.
constexpr unsigned kMfdNoexecSeal = 0x0008U;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

int CreateMemfd(const std::string& path) {
  // The name shows in /proc/PID/maps and fd links as "/memfd:arca:<name>
  // (deleted)"; it is the package path, never content.
  std::string name = "arca:" + path;
  if (name.size() > 249) name.resize(249);
  int fd = ::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING | kMfdNoexecSeal);
  if (fd < 0 && errno == EINVAL) fd = ::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  return fd;
}

}  // namespace

Status HardenProcess() {
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return InternalError(Errno("prctl(PR_SET_DUMPABLE, 0)"));
  struct rlimit rl;
  if (::getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)::setrlimit(RLIMIT_MEMLOCK, &rl);
  }
  return Status::Ok();
}

// --- ProtectedFile -----------------------------------------------------------

ProtectedFile::ProtectedFile(ProtectedFile&& o) noexcept
    : path_(std::move(o.path_)), size_(o.size_), fd_(std::exchange(o.fd_, -1)), map_(std::exchange(o.map_, nullptr)),
      locked_(o.locked_) {}

ProtectedFile& ProtectedFile::operator=(ProtectedFile&& o) noexcept {
  if (this != &o) {
    Release();
    path_ = std::move(o.path_);
    size_ = o.size_;
    fd_ = std::exchange(o.fd_, -1);
    map_ = std::exchange(o.map_, nullptr);
    locked_ = o.locked_;
  }
  return *this;
}

ProtectedFile::~ProtectedFile() { Release(); }

void ProtectedFile::Release() {
  if (map_ != nullptr) ::munmap(map_, std::size_t(size_));
  if (fd_ >= 0) ::close(fd_);
  map_ = nullptr;
  fd_ = -1;
}

// --- ProtectedMemorySink -----------------------------------------------------

ProtectedMemorySink::ProtectedMemorySink(ProtectedMemoryOptions options) : options_(std::move(options)) {
  if (!options_.warn) {
    options_.warn = [](const std::string& m) { std::fprintf(stderr, "arca-runtime: warning: %s\n", m.c_str()); };
  }
}

ProtectedMemorySink::~ProtectedMemorySink() { Abort(); }

void ProtectedMemorySink::Warn(const std::string& message) {
  warnings_.push_back(message);
  options_.warn(message);
}

// Lock calls the mlock system call directly: the sanitizers' runtimes
// intercept mlock(3) and return success without locking anything.
int Lock(void* addr, std::size_t size) { return int(::syscall(SYS_mlock, addr, size)); }

bool ProtectedMemorySink::LockRange(void* addr, std::size_t size, const std::string& what) {
  if (Lock(addr, size) == 0) return true;
  int err = errno;
  if (err == ENOMEM || err == EPERM || err == EAGAIN) {
    // Raise the soft limit to the hard one, then retry once.
    struct rlimit rl;
    if (::getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      if (::setrlimit(RLIMIT_MEMLOCK, &rl) == 0 && Lock(addr, size) == 0) return true;
    }
  }
  if (!warned_lock_) {
    warned_lock_ = true;
    struct rlimit rl{};
    (void)::getrlimit(RLIMIT_MEMLOCK, &rl);
    auto limit = [](rlim_t v) { return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v) + " bytes"; };
    Warn("cannot lock " + what + " (" + std::to_string(size) + " bytes) in memory: " + std::strerror(err) +
         "; RLIMIT_MEMLOCK is " + limit(rl.rlim_cur) + " (hard " + limit(rl.rlim_max) +
         "): model pages may be swapped out; raise the limit (ulimit -l, LimitMEMLOCK=) or grant CAP_IPC_LOCK");
  }
  return false;
}

void ProtectedMemorySink::Wipe(Pending& p) {
  if (p.map != nullptr) {
    OPENSSL_cleanse(p.map, std::size_t(p.size));
    ::munmap(p.map, std::size_t(p.size));
    p.map = nullptr;
  }
  if (p.fd >= 0) {
    ::close(p.fd);
    p.fd = -1;
  }
}

Result<ProtectedMemorySink::Pending> ProtectedMemorySink::Create(const format::FileEntry& file) {
  if (file.size > options_.max_total_bytes - total_bytes_) {
    return ResourceExhaustedError("protected memory: " + file.path + " (" + std::to_string(file.size) +
                                  " bytes) exceeds the limit of " + std::to_string(options_.max_total_bytes) + " bytes");
  }
  Pending p;
  p.path = file.path;
  p.size = file.size;
  p.fd = CreateMemfd(file.path);
  if (p.fd < 0) return InternalError(Errno("memfd_create for " + file.path));
  if (::ftruncate(p.fd, off_t(file.size)) != 0) {
    Status s = InternalError(Errno("sizing the memfd of " + file.path));
    Wipe(p);
    return s;
  }
  if (file.size > 0) {
    void* m = ::mmap(nullptr, std::size_t(file.size), PROT_READ | PROT_WRITE, MAP_SHARED, p.fd, 0);
    if (m == MAP_FAILED) {
      Status s = InternalError(Errno("mapping the memfd of " + file.path));
      Wipe(p);
      return s;
    }
    p.map = m;
    // Excluded from core dumps and from children before a byte is written.
    if (::madvise(m, std::size_t(file.size), MADV_DONTDUMP) != 0 || ::madvise(m, std::size_t(file.size), MADV_DONTFORK) != 0) {
      Status s = InternalError(Errno("madvise on the memfd of " + file.path));
      Wipe(p);
      return s;
    }
    // Huge pages where the kernel allows them for shmem (shmem_enabled=advise):
    // 512x fewer faults and page-table entries to set up and lock.
    (void)::madvise(m, std::size_t(file.size), MADV_HUGEPAGE);
    p.locked = LockRange(m, std::size_t(file.size), file.path);
  }
  total_bytes_ += file.size;
  return p;
}

Result<bool> ProtectedMemorySink::PrepareFiles(const std::vector<format::FileEntry>& files) {
  if (!files_.empty() || open_) return FailedPreconditionError("protected memory: PrepareFiles after files were begun");
  for (const auto& f : files) {
    auto p = Create(f);
    if (!p.ok()) {
      Abort();
      return p.status();
    }
    files_.push_back(std::move(*p));
  }
  prepared_ = true;
  next_ = 0;
  return true;
}

std::span<std::uint8_t> ProtectedMemorySink::FileMemory(std::size_t index) {
  if (!prepared_ || index >= files_.size() || files_[index].map == nullptr) return {};
  return {static_cast<std::uint8_t*>(files_[index].map), std::size_t(files_[index].size)};
}

Status ProtectedMemorySink::BeginFile(const format::FileEntry& file) {
  if (open_) return FailedPreconditionError("protected memory: " + file.path + " begins before the last file ended");
  if (prepared_) {
    if (next_ >= files_.size() || files_[next_].path != file.path || files_[next_].size != file.size) {
      return FailedPreconditionError("protected memory: " + file.path + " was not prepared at this position");
    }
    current_ = next_++;
    open_ = true;
    return Status::Ok();
  }
  ARCA_ASSIGN_OR_RETURN(Pending p, Create(file));
  files_.push_back(std::move(p));
  current_ = files_.size() - 1;
  open_ = true;
  return Status::Ok();
}

Status ProtectedMemorySink::Append(ByteSpan plaintext) {
  if (!open_) return FailedPreconditionError("protected memory: data outside a file");
  Pending& p = files_[current_];
  if (plaintext.size() > p.size - p.written) {
    return CorruptionError("protected memory: " + p.path + " receives more than its " + std::to_string(p.size) + " bytes");
  }
  std::uint8_t* at = static_cast<std::uint8_t*>(p.map) + p.written;
  // Decoded in place (PrepareFiles): the bytes are already there.
  if (plaintext.data() != at) std::memcpy(at, plaintext.data(), plaintext.size());
  p.written += plaintext.size();
  return Status::Ok();
}

Status ProtectedMemorySink::EndFile(const format::FileEntry& file) {
  if (!open_) return FailedPreconditionError("protected memory: " + file.path + " ends but was not begun");
  const Pending& p = files_[current_];
  if (p.written != p.size) {
    return CorruptionError("protected memory: " + p.path + " got " + std::to_string(p.written) + " of " +
                           std::to_string(p.size) + " bytes");
  }
  open_ = false;
  return Status::Ok();
}

void ProtectedMemorySink::Abort() {
  for (auto& p : files_) Wipe(p);
  files_.clear();
  open_ = false;
  prepared_ = false;
  next_ = current_ = 0;
  total_bytes_ = 0;
}

Result<std::vector<ProtectedFile>> ProtectedMemorySink::Seal() {
  if (open_) return FailedPreconditionError("protected memory: " + files_[current_].path + " is still being written");
  if (prepared_ && next_ != files_.size()) {
    return FailedPreconditionError("protected memory: " + std::to_string(files_.size() - next_) + " prepared files were never written");
  }
  std::vector<ProtectedFile> out;
  out.reserve(files_.size());
  for (auto& p : files_) {
    // F_SEAL_WRITE needs no writable shared mapping: drop the writable one,
    // seal, then map read-only.
    if (p.map != nullptr) {
      ::munmap(p.map, std::size_t(p.size));
      p.map = nullptr;
    }
    Status s;
    if (::fcntl(p.fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
      s = InternalError(Errno("sealing the memfd of " + p.path));
    }
    ProtectedFile f;
    f.path_ = p.path;
    f.size_ = p.size;
    f.fd_ = std::exchange(p.fd, -1);
    if (s.ok() && p.size > 0) {
      void* m = ::mmap(nullptr, std::size_t(p.size), PROT_READ, MAP_SHARED, f.fd_, 0);
      if (m == MAP_FAILED) {
        s = InternalError(Errno("mapping the sealed memfd of " + p.path));
      } else {
        f.map_ = m;
        if (::madvise(m, std::size_t(p.size), MADV_DONTDUMP) != 0 || ::madvise(m, std::size_t(p.size), MADV_DONTFORK) != 0) {
          s = InternalError(Errno("madvise on the sealed memfd of " + p.path));
        } else {
          (void)::madvise(m, std::size_t(p.size), MADV_HUGEPAGE);
          f.locked_ = LockRange(m, std::size_t(p.size), p.path);
        }
      }
    }
    if (!s.ok()) {
      out.clear();  // releases the sealed files
      Abort();      // wipes the rest
      return s;
    }
    out.push_back(std::move(f));
  }
  files_.clear();
  prepared_ = false;
  next_ = current_ = 0;
  total_bytes_ = 0;
  return out;
}

}  // namespace arca::runtime
