// Owner types for libcurl handles (one std::unique_ptr alias per handle, so
// no raw curl_*_cleanup outside base/) and the process-wide init guard.
//
// Header-only: base/ does not link libcurl; a library that uses these
// (distribution/) links CURL::libcurl itself.
#ifndef ARCA_BASE_CURL_UTIL_H_
#define ARCA_BASE_CURL_UTIL_H_

#include <curl/curl.h>

#include <memory>

namespace arca {

struct CurlEasyDeleter {
  void operator()(CURL* p) const { curl_easy_cleanup(p); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* p) const { curl_slist_free_all(p); }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyDeleter>;
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistDeleter>;

// CurlGlobalGuard calls curl_global_init once, in main, before any thread
// starts, and curl_global_cleanup when main returns (libcurl requires both
// to run while the process is single-threaded). ok() is false when init
// failed; every request will then fail with a clear error.
class CurlGlobalGuard {
 public:
  CurlGlobalGuard() : ok_(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {}
  ~CurlGlobalGuard() {
    if (ok_) curl_global_cleanup();
  }
  CurlGlobalGuard(const CurlGlobalGuard&) = delete;
  CurlGlobalGuard& operator=(const CurlGlobalGuard&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_;
};

}  // namespace arca

#endif  // ARCA_BASE_CURL_UTIL_H_
