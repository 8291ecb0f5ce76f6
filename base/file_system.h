// FileSystem: the seam every component uses for disk I/O.
//
// Production code goes through FileSystem::Default() (POSIX); tests wrap it to
// inject faults (fail the Nth write, drop unsynced data) and prove that an
// interrupted operation leaves no partial state. Durable writes follow one
// rule: write to a temporary name, fsync the file, rename, fsync the
// directory (WriteFileAtomic does exactly this).
#ifndef ARCA_BASE_FILE_SYSTEM_H_
#define ARCA_BASE_FILE_SYSTEM_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace arca {

// WritableFile appends bytes; Close() must be called (the destructor closes
// silently on error paths). Not thread-safe.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  [[nodiscard]] virtual Status Append(ByteSpan data) = 0;
  // Sync makes appended data durable (fdatasync).
  [[nodiscard]] virtual Status Sync() = 0;
  [[nodiscard]] virtual Status Close() = 0;
};

// RandomAccessFile reads at offsets; ReadAt is thread-safe (pread).
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // ReadAt fills `out` completely or fails: Corruption when the file ends
  // before offset + out.size().
  [[nodiscard]] virtual Status ReadAt(std::uint64_t offset, std::span<std::uint8_t> out) const = 0;
  virtual std::uint64_t size() const = 0;
};

enum class FileType { kRegular, kDirectory, kSymlink, kOther };

struct FileInfo {
  FileType type = FileType::kOther;
  std::uint64_t size = 0;
  std::uint32_t mode = 0;  // permission bits only (07777)
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Default returns the process-wide POSIX file system. Thread-safe.
  static FileSystem& Default();

  // NewWritableFile creates `path` with `mode`. With `exclusive`, fails with
  // AlreadyExists if it exists (O_EXCL); otherwise truncates.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                std::uint32_t mode,
                                                                bool exclusive) = 0;
  // OpenAppend opens `path` for appending, creating it with `mode` when
  // missing; a final symlink is refused (O_NOFOLLOW). Resumable downloads use
  // it. The default implementation refuses (FailedPrecondition), so a wrapper
  // that does not override it makes callers start over instead of appending.
  virtual Result<std::unique_ptr<WritableFile>> OpenAppend(const std::string& path, std::uint32_t mode);
  // OpenRead opens a regular file; symlinks are not followed (O_NOFOLLOW).
  virtual Result<std::unique_ptr<RandomAccessFile>> OpenRead(const std::string& path) = 0;
  // Stat describes `path` without following a final symlink.
  virtual Result<FileInfo> Stat(const std::string& path) = 0;
  // ListDir returns entry names (no "." or ".."), sorted bytewise.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual Status MakeDir(const std::string& path, std::uint32_t mode) = 0;
  // Rename is atomic replacement (rename(2)).
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Link makes a hard link; callers fall back to copying when it fails.
  virtual Status Link(const std::string& from, const std::string& to) = 0;
  virtual Status SyncDir(const std::string& path) = 0;
  virtual Status Remove(const std::string& path) = 0;
  // RemoveAll deletes a tree without following symlinks; missing is OK.
  virtual Status RemoveAll(const std::string& path) = 0;
};

// NewMemoryFile wraps bytes as a RandomAccessFile (parsers' tests and fuzz
// targets read through the same interface as production code).
std::unique_ptr<RandomAccessFile> NewMemoryFile(Bytes data, std::string name = "<memory>");

// ReadFileBounded reads a whole regular file; ResourceExhausted when it is
// larger than max_bytes (checked before reading, so nothing unbounded is
// allocated).
Result<Bytes> ReadFileBounded(FileSystem& fs, const std::string& path, std::uint64_t max_bytes);

// ReadSecretFileBounded is ReadFileBounded for key files: the bytes are read
// straight into SecretBytes, so no unwiped copy is left on the heap.
Result<SecretBytes> ReadSecretFileBounded(FileSystem& fs, const std::string& path, std::uint64_t max_bytes);

// WriteFileAtomic writes `data` to `path` durably: temporary sibling, fsync,
// rename, fsync of the directory. With `exclusive`, refuses (AlreadyExists) to
// replace an existing file. On failure the temporary is removed.
Status WriteFileAtomic(FileSystem& fs, const std::string& path, ByteSpan data, std::uint32_t mode,
                       bool exclusive = false);

// ErrnoStatus maps an errno from `what` on `path` to a Status: ENOENT
// NotFound, EEXIST AlreadyExists, EACCES/EPERM PermissionDenied,
// ENOSPC/EDQUOT ResourceExhausted, ELOOP InvalidArgument (a refused
// symlink), EBUSY/EAGAIN/EINTR Unavailable, others Internal. For code that
// calls POSIX directly (device files, configfs), not through FileSystem.
Status ErrnoStatus(const std::string& what, const std::string& path, int err);

// Path helpers (string-based; Arca paths are POSIX).
std::string JoinPath(const std::string& a, const std::string& b);
std::string DirName(const std::string& path);
std::string BaseName(const std::string& path);

// TempSiblingName returns "<dir>/.<base>.tmp-<random>" for staging writes.
std::string TempSiblingName(const std::string& path);

}  // namespace arca

#endif  // ARCA_BASE_FILE_SYSTEM_H_
