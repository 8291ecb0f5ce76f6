// TempDir: a fresh directory under /tmp for one test, removed with its
// contents when the object goes out of scope. Test-only.
#ifndef ARCA_BASE_TESTING_TEMP_DIR_H_
#define ARCA_BASE_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace arca::testing_util {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/arca-test-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    if (p == nullptr) std::abort();
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace arca::testing_util

#endif  // ARCA_BASE_TESTING_TEMP_DIR_H_
