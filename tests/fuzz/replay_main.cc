// Standalone driver that replays a fuzz corpus through LLVMFuzzerTestOneInput
// without libFuzzer, so every corpus is also an ordinary test (any compiler,
// any sanitizer).
//
//   fuzz_<name>_replay DIR_OR_FILE...
//
// Directories are walked recursively in sorted order (deterministic output);
// hidden files (".gitkeep", editor droppings) are skipped. Exits 0 after
// running at least one input, 1 when there was nothing to run or a path could
// not be read. A crash in the target is the failure it exists to catch.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

namespace fs = std::filesystem;

bool ReadWholeFile(const fs::path& path, std::vector<std::uint8_t>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

bool Collect(const fs::path& root, std::vector<fs::path>* files) {
  std::error_code ec;
  if (fs::is_regular_file(root, ec)) {
    files->push_back(root);
    return true;
  }
  if (!fs::is_directory(root, ec)) {
    std::fprintf(stderr, "replay: %s is neither a file nor a directory\n", root.c_str());
    return false;
  }
  fs::recursive_directory_iterator it(root, ec), end;
  if (ec) {
    std::fprintf(stderr, "replay: cannot list %s: %s\n", root.c_str(), ec.message().c_str());
    return false;
  }
  for (; it != end; it.increment(ec)) {
    if (ec) {
      std::fprintf(stderr, "replay: cannot list %s: %s\n", root.c_str(), ec.message().c_str());
      return false;
    }
    if (it->path().filename().string().starts_with(".")) continue;
    if (it->is_regular_file(ec)) files->push_back(it->path());
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.starts_with("-")) continue;  // tolerate libFuzzer-style flags
    if (!Collect(arg, &files)) return 1;
  }
  std::sort(files.begin(), files.end());
  std::size_t ran = 0;
  std::vector<std::uint8_t> data;
  for (const fs::path& path : files) {
    if (!ReadWholeFile(path, &data)) {
      std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
      return 1;
    }
    LLVMFuzzerTestOneInput(data.data(), data.size());
    ++ran;
  }
  std::printf("replay: ran %zu inputs\n", ran);
  if (ran == 0) {
    std::fprintf(stderr, "replay: the corpus is empty; a fuzz replay test must run something\n");
    return 1;
  }
  return 0;
}
