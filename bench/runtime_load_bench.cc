// runtime_load_bench PKG LINEAGE_KEY_FILE [THREADS]: the runtime's load path
// without key release: format::OpenToSink with per-chunk keys (derived here
// from the lineage key, as the broker would release them) into
// ProtectedMemorySink (memfds, mlock, seal). Prints one line: plaintext
// bytes, wall seconds, MB/s, user+sys CPU seconds. The baseline (cat of the
// same bytes) is timed by bench/format_bench.sh in the same run.
//
// runtime_load_bench PKG --broker URL [THREADS]: the secure cold load as
// `arca-runtime serve` does it: the chunk keys are released by the broker at
// URL to simulated SEV-SNP evidence (runtime::ObtainChunkKeys), then
// decrypted and verified into sealed memfds; the wall time includes the key
// release, which is also printed alone (bench/runtime_bench.sh).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "format/package.h"
#include "runtime/key_client.h"
#include "runtime/protected_memory.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: runtime_load_bench PKG (LINEAGE_KEY_FILE | --broker URL) [THREADS]\n");
    return 2;
  }
  using namespace arca;
  const bool from_broker = std::string(argv[2]) == "--broker";
  if (from_broker && argc < 4) {
    std::fprintf(stderr, "runtime_load_bench: --broker needs a URL\n");
    return 2;
  }
  const int threads_arg = from_broker ? 4 : 3;
  std::optional<format::LineageKey> key;
  if (!from_broker) {
    auto loaded = format::LineageKey::Load(FileSystem::Default(), argv[2]);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
      return 1;
    }
    key.emplace(std::move(*loaded));
  }
  const auto start = std::chrono::steady_clock::now();
  auto pkg = format::LoadPackage(FileSystem::Default(), format::PackageRef{argv[1], ""});
  if (!pkg.ok()) {
    std::fprintf(stderr, "%s\n", pkg.status().ToString().c_str());
    return 1;
  }
  if (!runtime::HardenProcess().ok()) return 1;
  runtime::KeyRelease released;
  double release_s = 0;
  if (from_broker) {
    runtime::KeyRequest kr;
    kr.brokers = {argv[3]};
    kr.package_digest = pkg->manifest_blob.digest;
    kr.evidence.tee = runtime::Tee::kSimSnp;
    kr.rounds = 1;
    const auto r0 = std::chrono::steady_clock::now();
    auto got = runtime::ObtainChunkKeys(kr);
    release_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count();
    if (!got.ok()) {
      std::fprintf(stderr, "%s\n", got.status().ToString().c_str());
      return 1;
    }
    released = std::move(*got);
  }
  runtime::ProtectedMemorySink sink;
  format::ChunkKeyFn keys = [&](const format::ChunkId& id) -> Result<SecretBytes> {
    if (!from_broker) return key->ChunkKey(id);
    auto it = released.keys.find(id);
    if (it == released.keys.end()) return NotFoundError("the broker released no key for this chunk");
    return it->second.Clone();
  };
  format::OpenOptions options;
  if (argc > threads_arg) options.threads = std::size_t(std::atoi(argv[threads_arg]));
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
  std::printf("%llu bytes %.3f s %.0f MB/s %.3f cpu-s (seal and remap %.3f s) locked=%s",
              (unsigned long long)report->plaintext_bytes, wall, double(report->plaintext_bytes) / 1e6 / wall, cpu, seal,
              locked ? "yes" : "no");
  if (from_broker) std::printf(" key-release %.4f s (%zu keys)", release_s, released.keys.size());
  std::printf("\n");
  return 0;
}
