// Fuzzes arca-registry's request router and header parsers: the first bytes
// choose the method, then the input is split at NULs into a path, a
// Content-Range header and an Authorization header. Every input must
// yield either a route whose fields are valid or an OCI error with a code.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "format/oci_layout.h"
#include "registry-server/routes.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace arca::registry;
  if (size == 0) return 0;
  static const char* kMethods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"};
  std::string_view method = kMethods[data[0] % 8];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string_view parts[3];
  for (int i = 0; i < 3; ++i) {
    auto nul = rest.find('\0');
    parts[i] = rest.substr(0, nul);
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  }
  RouteResult r = ParseRoute(method, parts[0]);
  if (r.route) {
    if (r.route->kind != RouteKind::kBase) {
      if (!IsValidRepositoryName(r.route->name) || r.route->action == Action::kNone) std::abort();
      if (r.route->name.compare(0, r.route->ns.size(), r.route->ns) != 0) std::abort();
      if ((r.route->kind == RouteKind::kBlob || r.route->kind == RouteKind::kReferrers) &&
          !arca::format::IsValidDigest(r.route->reference)) {
        std::abort();
      }
      if (r.route->name.find("..") != std::string::npos) std::abort();
    }
  } else if (r.error.code.empty() || r.error.http_status < 400) {
    std::abort();
  }
  auto cr = ParseContentRange(parts[1]);
  if (cr.ok() && cr->end < cr->start) std::abort();
  auto tok = TokenFromAuthorization(parts[2]);
  if (tok.ok() && tok->empty()) std::abort();
  return 0;
}
