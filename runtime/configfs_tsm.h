// Evidence collection through the Linux configfs-tsm report interface
// (Documentation/ABI/testing/configfs-tsm, /sys/kernel/config/tsm/report):
// make an entry directory, write up to 64 bytes to `inblob`, read `outblob`
// (the SNP report or TDX quote), `auxblob` (SNP: the host's certificate
// table) and `provider`, and compare `generation` before and after so that a
// concurrent writer to the same entry is detected, then remove the entry.
//
// What this protects: that the blob returned was produced for the inblob we
// wrote (generation unchanged and equal to our one write, and the blob's
// report data equal to the inblob). It does not authenticate the blob: the
// verifier does, against pinned roots.
#ifndef ARCA_RUNTIME_CONFIGFS_TSM_H_
#define ARCA_RUNTIME_CONFIGFS_TSM_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace arca::runtime {

// TsmFs is the seam between the collector and configfs: the operations the
// ABI needs, and nothing else. Tests substitute a directory tree that
// imitates configfs (and plays the kernel's part).
class TsmFs {
 public:
  virtual ~TsmFs() = default;
  // MakeDir creates a report entry (mkdir(2), mode 0700). NotFound when the
  // parent does not exist.
  [[nodiscard]] virtual Status MakeDir(const std::string& path) = 0;
  // RemoveDir removes an entry (rmdir(2); configfs drops its attributes).
  [[nodiscard]] virtual Status RemoveDir(const std::string& path) = 0;
  // Write writes `data` to an attribute in one write(2).
  [[nodiscard]] virtual Status Write(const std::string& path, ByteSpan data) = 0;
  // Read reads an attribute to its end; NotFound when absent,
  // ResourceExhausted above max_bytes.
  virtual Result<Bytes> Read(const std::string& path, std::size_t max_bytes) = 0;

  // Posix is the real file system. Thread-safe.
  static TsmFs& Posix();
};

// kDefaultConfigfsRoot is where configfs is mounted.
inline constexpr char kDefaultConfigfsRoot[] = "/sys/kernel/config";

// TsmReport is what one collection returned.
struct TsmReport {
  Bytes outblob;
  Bytes auxblob;  // empty when the provider has none
  std::string provider;
  std::uint64_t generation = 0;
};

// CollectTsmReport runs one collection under `configfs_root`/tsm/report in
// a fresh entry "arca-<random>". `want_provider` is "sev_guest" or
// "tdx_guest". Codes: InvalidArgument for an inblob over 64 bytes;
// FailedPrecondition when configfs-tsm is absent (no tsm/report directory)
// or the provider differs; Unavailable when the generation shows another
// writer three times in a row (each attempt uses a new entry); errors of
// reading or writing an attribute name it. The entry is always removed.
Result<TsmReport> CollectTsmReport(TsmFs& fs, const std::string& configfs_root, ByteSpan inblob,
                                   std::string_view want_provider);

}  // namespace arca::runtime

#endif  // ARCA_RUNTIME_CONFIGFS_TSM_H_
