// Protected memory for decrypted model files (specs/runtime.md §2).
//
// ProtectedMemorySink is a format::PlaintextSink that puts each package file
// in its own memfd: anonymous shared memory with no name in any file system,
// so plaintext never reaches a disk through this path. While a file is being
// written its mapping is mlock'ed (not swapped out, as far as RLIMIT_MEMLOCK
// allows) and MADV_DONTDUMP (not in core dumps) and MADV_DONTFORK (not in
// children). Seal() then replaces the writable mapping with a read-only one
// (locked and excluded the same way) and seals each memfd with
// F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL, so neither this
// process nor an engine handed the fd can change the weights afterwards.
//
// What it does not protect against: a privileged reader of this process's
// memory (ptrace as root, /proc/PID/mem; HardenProcess makes the process
// non-dumpable, which stops unprivileged ptrace and core dumps), swap when
// mlock is refused (a warning says so), and the host outside a TEE. Sealed
// memfds cannot be overwritten before release (the seal forbids writes): the
// kernel frees their pages when the last fd and mapping go (zeroed on reuse,
// or on free with init_on_free=1). Files that never reached Seal() are wiped
// before release.
#ifndef ARCA_RUNTIME_PROTECTED_MEMORY_H_
#define ARCA_RUNTIME_PROTECTED_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "format/package.h"

namespace arca::runtime {

// HardenProcess makes this process non-dumpable (prctl PR_SET_DUMPABLE 0: no
// core dumps, no ptrace or /proc/PID/mem by other unprivileged processes) and
// raises the soft RLIMIT_MEMLOCK to the hard limit. Internal on a prctl
// failure; a limit that cannot be raised is not an error (the sink warns).
[[nodiscard]] Status HardenProcess();

// ProtectedFile is one sealed, read-only, locked file. Move-only; closing
// releases the memory.
class ProtectedFile {
 public:
  ProtectedFile(ProtectedFile&& other) noexcept;
  ProtectedFile& operator=(ProtectedFile&& other) noexcept;
  ProtectedFile(const ProtectedFile&) = delete;
  ProtectedFile& operator=(const ProtectedFile&) = delete;
  ~ProtectedFile();

  // path is the file's path inside the package ("model.onnx").
  const std::string& path() const { return path_; }
  std::uint64_t size() const { return size_; }
  // fd is the memfd (close-on-exec; Engine clears that only in its child).
  int fd() const { return fd_; }
  // ProcPath is "/proc/self/fd/<fd>": valid in this process, and in a child
  // that inherits the fd under the same number.
  std::string ProcPath() const { return "/proc/self/fd/" + std::to_string(fd_); }
  // data is the read-only, locked mapping (empty for an empty file).
  ByteSpan data() const { return {static_cast<const std::uint8_t*>(map_), std::size_t(size_)}; }
  // locked says whether mlock succeeded for the mapping.
  bool locked() const { return locked_; }

 private:
  friend class ProtectedMemorySink;
  ProtectedFile() = default;
  void Release();

  std::string path_;
  std::uint64_t size_ = 0;
  int fd_ = -1;
  void* map_ = nullptr;
  bool locked_ = false;
};

struct ProtectedMemoryOptions {
  // warn receives one line per degraded protection (mlock refused); the
  // default writes it to stderr with an "arca-runtime: warning:" prefix.
  std::function<void(const std::string&)> warn;
  // max_total_bytes bounds the sum of file sizes (ResourceExhausted past it).
  std::uint64_t max_total_bytes = std::uint64_t(1) << 40;
};

// ProtectedMemorySink receives OpenToSink's output. Usage:
//   ProtectedMemorySink sink;
//   ARCA_RETURN_IF_ERROR(format::OpenToSink(pkg, digest, keys, sink).status());
//   ARCA_ASSIGN_OR_RETURN(std::vector<ProtectedFile> files, sink.Seal());
// Not thread-safe (OpenToSink calls it from one thread). Files not sealed
// are wiped and released by Abort or the destructor.
class ProtectedMemorySink : public format::PlaintextSink {
 public:
  explicit ProtectedMemorySink(ProtectedMemoryOptions options = {});
  ~ProtectedMemorySink() override;
  ProtectedMemorySink(const ProtectedMemorySink&) = delete;
  ProtectedMemorySink& operator=(const ProtectedMemorySink&) = delete;

  // BeginFile creates the memfd at its final size and its locked mapping.
  // Internal when memfd_create/ftruncate/mmap fail; ResourceExhausted past
  // max_total_bytes; FailedPrecondition when a file is already open.
  Status BeginFile(const format::FileEntry& file) override;
  // Append copies into the mapping; Corruption past the manifest's size.
  Status Append(ByteSpan plaintext) override;
  // EndFile checks the file is complete (Corruption when short).
  Status EndFile(const format::FileEntry& file) override;
  // Abort wipes and releases every file.
  void Abort() override;
  // PrepareFiles creates every file's memfd and locked mapping up front
  // (errors as BeginFile's), so OpenToSink decodes straight into them;
  // BeginFile then only checks the order, and Append of a span of the
  // file's own memory at the write position only advances it.
  Result<bool> PrepareFiles(const std::vector<format::FileEntry>& files) override;
  // FileMemory is the writable mapping of prepared file `index` (empty for
  // an empty file or a bad index). Thread-safe after PrepareFiles.
  std::span<std::uint8_t> FileMemory(std::size_t index) override;

  // Seal turns every completed file into a sealed read-only ProtectedFile,
  // in manifest order, and empties the sink. FailedPrecondition when a file
  // is still open; Internal when sealing fails (everything is wiped then).
  Result<std::vector<ProtectedFile>> Seal();

  // warnings lists the degraded protections seen so far.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  struct Pending {
    std::string path;
    std::uint64_t size = 0;
    std::uint64_t written = 0;
    int fd = -1;
    void* map = nullptr;
    bool locked = false;
  };
  void Warn(const std::string& message);
  Result<Pending> Create(const format::FileEntry& file);
  bool LockRange(void* addr, std::size_t size, const std::string& what);
  static void Wipe(Pending& p);

  ProtectedMemoryOptions options_;
  std::vector<Pending> files_;
  bool prepared_ = false;
  std::size_t next_ = 0;     // with prepared_: the file BeginFile expects next
  std::size_t current_ = 0;  // the file being written, while open_
  bool open_ = false;
  std::uint64_t total_bytes_ = 0;
  bool warned_lock_ = false;
  std::vector<std::string> warnings_;
};

}  // namespace arca::runtime

#endif  // ARCA_RUNTIME_PROTECTED_MEMORY_H_
