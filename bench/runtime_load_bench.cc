// runtime_load_bench PKG LINEAGE_KEY_FILE [THREADS]: the runtime's load path
// without key release: format::OpenToSink with per-chunk keys (derived here
// from the lineage key, as the broker would release them) into
// ProtectedMemorySink (memfds, mlock, seal). Prints one line: plaintext
// bytes, wall seconds, MB/s, user+sys CPU seconds. The baseline (cat of the
// same bytes) is timed by bench/format_bench.sh in the same run.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "format/package.h"
#include "runtime/protected_memory.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: runtime_load_bench PKG LINEAGE_KEY_FILE [THREADS]\n");
    return 2;
  }
  using namespace arca;
  auto key = format::LineageKey::Load(FileSystem::Default(), argv[2]);
  if (!key.ok()) {
    std::fprintf(stderr, "%s\n", key.status().ToString().c_str());
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  auto pkg = format::LoadPackage(FileSystem::Default(), format::PackageRef{argv[1], ""});
  if (!pkg.ok()) {
    std::fprintf(stderr, "%s\n", pkg.status().ToString().c_str());
    return 1;
  }
  if (!runtime::HardenProcess().ok()) return 1;
  runtime::ProtectedMemorySink sink;
  format::ChunkKeyFn keys = [&](const format::ChunkId& id) -> Result<SecretBytes> { return key->ChunkKey(id); };
  format::OpenOptions options;
  if (argc > 3) options.threads = std::size_t(std::atoi(argv[3]));
  auto report = format::OpenToSink(*pkg, pkg->manifest_blob.digest, keys, sink, options);
  if (!report.ok()) {
    std::fprintf(stderr, "%s\n", report.status().ToString().c_str());
    return 1;
  }
  const auto opened = std::chrono::steady_clock::now();
  auto files = sink.Seal();
  if (!files.ok()) {
    std::fprintf(stderr, "%s\n", files.status().ToString().c_str());
    return 1;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  const double cpu = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  bool locked = true;
  for (const auto& f : *files) locked &= f.locked() || f.size() == 0;
  const double seal = std::chrono::duration<double>(std::chrono::steady_clock::now() - opened).count();
  std::printf("%llu bytes %.3f s %.0f MB/s %.3f cpu-s (seal and remap %.3f s) locked=%s\n",
              (unsigned long long)report->plaintext_bytes, wall, double(report->plaintext_bytes) / 1e6 / wall, cpu, seal,
              locked ? "yes" : "no");
  return 0;
}
