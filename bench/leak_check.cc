// arca-leak-check PLAINTEXT ROOT... [--exclude DIR]... [--newer-than FILE] [--from N]: exit 1 when any
// regular file under the ROOTs contains any 64-byte window of PLAINTEXT (at
// any offset), naming the file and offsets; 0 when none does.
//
// Exhaustive, not sampled: every window of the plaintext is indexed by a
// rolling hash (sorted, 16 bytes per window), every position of every
// scanned file is looked up, and a hash hit is confirmed byte for byte. A
// test uses it to prove plaintext weights never reached a disk.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kWindow = 64;
constexpr std::uint64_t kBase = 0x100000001b3ull;  // odd: invertible mod 2^64

std::uint64_t Pow(std::uint64_t b, std::size_t e) {
  std::uint64_t r = 1;
  while (e--) r *= b;
  return r;
}

struct Entry {
  std::uint64_t hash;
  std::uint64_t offset;
  bool operator<(const Entry& o) const { return hash < o.hash; }
};

bool ReadAll(const std::string& path, std::vector<unsigned char>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), {});
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: arca-leak-check PLAINTEXT ROOT... [--exclude DIR]... [--newer-than FILE] [--from OFFSET]\n");
    return 2;
  }
  std::vector<unsigned char> plain;
  if (!ReadAll(argv[1], &plain) || plain.size() < kWindow) {
    std::fprintf(stderr, "arca-leak-check: cannot read %s, or it is shorter than %zu bytes\n", argv[1], kWindow);
    return 2;
  }
  std::vector<std::string> roots, excludes;
  std::optional<std::filesystem::file_time_type> newer_than;
  std::size_t from = 0;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
      from = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--newer-than") == 0 && i + 1 < argc) {
      std::error_code ec;
      newer_than = std::filesystem::last_write_time(argv[++i], ec);
      if (ec) {
        std::fprintf(stderr, "arca-leak-check: --newer-than %s: %s\n", argv[i], ec.message().c_str());
        return 2;
      }
    } else if (std::strcmp(argv[i], "--exclude") == 0 && i + 1 < argc) {
      excludes.push_back(std::filesystem::weakly_canonical(argv[++i]).string());
    } else {
      roots.push_back(argv[i]);
    }
  }
  if (from + kWindow > plain.size()) {
    std::fprintf(stderr, "arca-leak-check: --from %zu leaves no 64-byte window\n", from);
    return 2;
  }
  const std::uint64_t top = Pow(kBase, kWindow - 1);
  std::vector<Entry> index;
  index.reserve(plain.size() - from - kWindow + 1);
  std::uint64_t h = 0;
  for (std::size_t i = from; i < from + kWindow; ++i) h = h * kBase + plain[i];
  for (std::size_t i = from;; ++i) {
    index.push_back({h, i});
    if (i + kWindow >= plain.size()) break;
    h = (h - plain[i] * top) * kBase + plain[i + kWindow];
  }
  std::sort(index.begin(), index.end());
  // A 2^27-bit filter on the hash's top bits rejects almost every position
  // before the binary search.
  std::vector<std::uint64_t> filter((1u << 27) / 64, 0);
  for (const auto& e : index) filter[(e.hash >> 37) / 64] |= 1ull << ((e.hash >> 37) % 64);

  std::uint64_t files = 0, bytes = 0;
  int leaks = 0;
  std::vector<unsigned char> data;
  for (const auto& root : roots) {
    std::error_code ec;
    std::filesystem::recursive_directory_iterator it(root, std::filesystem::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const auto& e = *it;
      std::string canonical = std::filesystem::weakly_canonical(e.path(), ec).string();
      bool skip = false;
      for (const auto& x : excludes) skip = skip || canonical == x || canonical.rfind(x + "/", 0) == 0;
      if (skip) {
        if (e.is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (!e.is_regular_file(ec) || e.is_symlink(ec)) continue;
      if (newer_than && e.last_write_time(ec) < *newer_than) continue;
      if (canonical == std::filesystem::weakly_canonical(argv[1]).string()) continue;
      if (!ReadAll(e.path().string(), &data) || data.size() < kWindow) continue;
      ++files;
      bytes += data.size();
      std::uint64_t fh = 0;
      for (std::size_t i = 0; i < kWindow; ++i) fh = fh * kBase + data[i];
      for (std::size_t p = 0;; ++p) {
        bool maybe = filter[(fh >> 37) / 64] >> ((fh >> 37) % 64) & 1;
        auto range = maybe ? std::equal_range(index.begin(), index.end(), Entry{fh, 0})
                           : std::make_pair(index.end(), index.end());
        for (auto r = range.first; r != range.second; ++r) {
          if (std::memcmp(&data[p], &plain[r->offset], kWindow) == 0) {
            std::printf("plaintext window at model offset %llu found in %s at offset %zu\n",
                        static_cast<unsigned long long>(r->offset), e.path().c_str(), p);
            ++leaks;
            p = data.size();  // one report per file
            break;
          }
        }
        if (p + kWindow >= data.size()) break;
        fh = (fh - data[p] * top) * kBase + data[p + kWindow];
      }
    }
  }
  std::printf("%s: scanned %llu files, %llu bytes, for every 64-byte window of %s\n", leaks ? "LEAK" : "clean",
              static_cast<unsigned long long>(files), static_cast<unsigned long long>(bytes), argv[1]);
  return leaks ? 1 : 0;
}
