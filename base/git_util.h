// Owner types for libgit2 handles, and the process-wide init guard libgit2
// requires. Header-only, so only code that reads repositories links libgit2.
#ifndef ARCA_BASE_GIT_UTIL_H_
#define ARCA_BASE_GIT_UTIL_H_

#include <git2.h>

#include <memory>
#include <string>

#include "base/openssl_util.h"  // OpenSslDeleter is a generic function-deleter

namespace arca {

using GitRepositoryPtr = std::unique_ptr<git_repository, OpenSslDeleter<git_repository_free>>;
using GitObjectPtr = std::unique_ptr<git_object, OpenSslDeleter<git_object_free>>;
using GitRemotePtr = std::unique_ptr<git_remote, OpenSslDeleter<git_remote_free>>;
using GitStatusListPtr = std::unique_ptr<git_status_list, OpenSslDeleter<git_status_list_free>>;

// GitLibrary initialises libgit2 for its lifetime (git_libgit2_init is
// reference-counted, so nested guards are fine).
class GitLibrary {
 public:
  GitLibrary() { git_libgit2_init(); }
  ~GitLibrary() { git_libgit2_shutdown(); }
  GitLibrary(const GitLibrary&) = delete;
  GitLibrary& operator=(const GitLibrary&) = delete;
};

// GitErrorText is libgit2's last error message, or `fallback`.
inline std::string GitErrorText(const char* fallback) {
  const git_error* e = git_error_last();
  return e && e->message ? e->message : fallback;
}

}  // namespace arca

#endif  // ARCA_BASE_GIT_UTIL_H_
