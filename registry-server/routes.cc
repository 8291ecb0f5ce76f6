#include "registry-server/routes.h"

#include <charconv>
#include <vector>

#include "base/bytes.h"
#include "format/oci_layout.h"

namespace arca::registry {
namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

std::string Join(const std::vector<std::string_view>& parts, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out;
}

RouteResult Fail(int status, std::string code, std::string message) {
  return RouteResult{std::nullopt, ApiError{status, std::move(code), std::move(message)}};
}

// Methods each endpoint takes, and the action each needs (HEAD is a read).
Action ActionFor(RouteKind kind, std::string_view method) {
  const bool read = method == "GET" || method == "HEAD";
  switch (kind) {
    case RouteKind::kBase:
      return read ? Action::kNone : Action::kNone;
    case RouteKind::kBlob:
      if (read) return Action::kPull;
      if (method == "DELETE") return Action::kDelete;
      return Action::kNone;
    case RouteKind::kUploadStart:
      return method == "POST" ? Action::kPush : Action::kNone;
    case RouteKind::kUpload:
      if (method == "GET" || method == "PATCH" || method == "PUT" || method == "DELETE") return Action::kPush;
      return Action::kNone;
    case RouteKind::kManifest:
      if (read) return Action::kPull;
      if (method == "PUT") return Action::kPush;
      if (method == "DELETE") return Action::kDelete;
      return Action::kNone;
    case RouteKind::kTagsList:
    case RouteKind::kReferrers:
      return read ? Action::kPull : Action::kNone;
  }
  return Action::kNone;
}

}  // namespace

bool IsValidNamespace(std::string_view ns) { return ns.size() <= 64 && format::IsOciNameComponent(ns); }

bool IsValidRepositoryName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  auto parts = Split(name, '/');
  if (parts.size() < 2) return false;
  if (!IsValidNamespace(parts[0])) return false;
  for (auto p : parts) {
    if (!format::IsOciNameComponent(p)) return false;
  }
  return true;
}

bool IsValidTag(std::string_view tag) { return format::IsOciTag(tag); }

bool IsValidUploadId(std::string_view id) { return IsLowerHex(id, 32); }

RouteResult ParseRoute(std::string_view method, std::string_view path) {
  if (path.size() > kMaxPathBytes) return Fail(414, "NAME_INVALID", "request path longer than 1024 bytes");
  if (path == "/v2" || path == "/v2/") {
    if (method != "GET" && method != "HEAD") return Fail(405, "UNSUPPORTED", "/v2/ takes GET or HEAD");
    return RouteResult{Route{RouteKind::kBase, "", "", "", Action::kNone}, {}};
  }
  if (path.substr(0, 4) != "/v2/") return Fail(404, "NAME_UNKNOWN", "not an OCI distribution endpoint");
  auto parts = Split(path.substr(4), '/');
  const std::size_t n = parts.size();
  Route r;
  std::size_t name_parts = 0;
  if (n >= 3 && parts[n - 2] == "tags" && parts[n - 1] == "list") {
    r.kind = RouteKind::kTagsList;
    name_parts = n - 2;
  } else if (n >= 4 && parts[n - 3] == "blobs" && parts[n - 2] == "uploads") {
    r.kind = parts[n - 1].empty() ? RouteKind::kUploadStart : RouteKind::kUpload;
    r.reference = std::string(parts[n - 1]);
    name_parts = n - 3;
  } else if (n >= 3 && parts[n - 2] == "blobs" && parts[n - 1] == "uploads") {
    r.kind = RouteKind::kUploadStart;
    name_parts = n - 2;
  } else if (n >= 3 && parts[n - 2] == "blobs") {
    r.kind = RouteKind::kBlob;
    r.reference = std::string(parts[n - 1]);
    name_parts = n - 2;
  } else if (n >= 3 && parts[n - 2] == "manifests") {
    r.kind = RouteKind::kManifest;
    r.reference = std::string(parts[n - 1]);
    name_parts = n - 2;
  } else if (n >= 3 && parts[n - 2] == "referrers") {
    r.kind = RouteKind::kReferrers;
    r.reference = std::string(parts[n - 1]);
    name_parts = n - 2;
  } else {
    return Fail(404, "NAME_UNKNOWN", "not an OCI distribution endpoint");
  }
  r.name = Join(parts, name_parts);
  if (!IsValidRepositoryName(r.name)) {
    return Fail(400, "NAME_INVALID",
                "repository name is invalid: it must be namespace/name in lower case (a-z, 0-9, '.', '_', '-'), at most 255 bytes");
  }
  r.ns = std::string(parts[0]);
  switch (r.kind) {
    case RouteKind::kBlob:
    case RouteKind::kReferrers:
      if (!format::IsValidDigest(r.reference)) {
        return Fail(400, "DIGEST_INVALID", "digest must be sha256:<64 lower-case hex digits>");
      }
      break;
    case RouteKind::kManifest:
      if (r.reference.rfind("sha256:", 0) == 0 || r.reference.find(':') != std::string::npos) {
        if (!format::IsValidDigest(r.reference)) {
          return Fail(400, "DIGEST_INVALID", "manifest digest must be sha256:<64 lower-case hex digits>");
        }
      } else if (!IsValidTag(r.reference)) {
        return Fail(400, "TAG_INVALID", "tag must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");
      }
      break;
    case RouteKind::kUpload:
      if (!IsValidUploadId(r.reference)) return Fail(404, "BLOB_UPLOAD_UNKNOWN", "no such upload session");
      break;
    default:
      break;
  }
  r.action = ActionFor(r.kind, method);
  if (r.action == Action::kNone) {
    return Fail(405, "UNSUPPORTED", std::string(method) + " is not supported on this endpoint");
  }
  return RouteResult{std::move(r), {}};
}

Result<ContentRange> ParseContentRange(std::string_view h) {
  if (h.substr(0, 6) == "bytes ") {
    h.remove_prefix(6);
    auto slash = h.find('/');
    if (slash == std::string_view::npos) return InvalidArgumentError("Content-Range: expected bytes <start>-<end>/<total>");
    h = h.substr(0, slash);
  }
  auto dash = h.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 >= h.size()) {
    return InvalidArgumentError("Content-Range: expected <start>-<end>");
  }
  auto num = [](std::string_view s, std::uint64_t& out) {
    if (s.empty() || s.size() > 19) return false;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  ContentRange r;
  if (!num(h.substr(0, dash), r.start) || !num(h.substr(dash + 1), r.end)) {
    return InvalidArgumentError("Content-Range: start and end must be decimal byte offsets");
  }
  if (r.end < r.start) return InvalidArgumentError("Content-Range: end is before start");
  return r;
}

Result<std::string> TokenFromAuthorization(std::string_view h) {
  if (h.empty()) return NotFoundError("no Authorization header");
  if (h.size() > 4096) return InvalidArgumentError("Authorization header longer than 4096 bytes");
  auto scheme_is = [&](std::string_view scheme) {
    if (h.size() <= scheme.size() || h[scheme.size()] != ' ') return false;
    for (std::size_t i = 0; i < scheme.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(h[i])) != scheme[i]) return false;
    }
    return true;
  };
  std::string token;
  if (scheme_is("bearer")) {
    token = std::string(h.substr(7));
  } else if (scheme_is("basic")) {
    auto decoded = Base64Decode(h.substr(6));
    if (!decoded.ok()) return InvalidArgumentError("Authorization: Basic credentials are not valid base64");
    std::string userpass(decoded->begin(), decoded->end());
    auto colon = userpass.find(':');
    if (colon == std::string::npos) return InvalidArgumentError("Authorization: Basic credentials lack a ':'");
    token = userpass.substr(colon + 1);
  } else {
    return InvalidArgumentError("Authorization: only Basic and Bearer are accepted");
  }
  while (!token.empty() && token.back() == ' ') token.pop_back();
  while (!token.empty() && token.front() == ' ') token.erase(token.begin());
  if (token.empty()) return InvalidArgumentError("Authorization: empty token");
  return token;
}

}  // namespace arca::registry
