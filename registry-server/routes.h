// Request parsing for the OCI distribution API (distribution-spec v1.1
// "Endpoints"): the one router of arca-registry. Pure functions over the
// request line and headers, so a fuzz target drives exactly what the server
// runs. Nothing here touches storage or decides authorization; it names what
// a request wants (route, repository, namespace, action) or why it is
// malformed, with the OCI error code the client will see.
#ifndef ARCA_REGISTRY_SERVER_ROUTES_H_
#define ARCA_REGISTRY_SERVER_ROUTES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace arca::registry {

// Limits on what a request may name (specs/registry.md §3).
inline constexpr std::size_t kMaxNameBytes = 255;
inline constexpr std::size_t kMaxTagBytes = 128;
inline constexpr std::size_t kMaxPathBytes = 1024;

// ApiError is what the client receives: an HTTP status and an OCI error
// code ("NAME_INVALID", "DIGEST_INVALID", …) with a message.
struct ApiError {
  int http_status = 500;
  std::string code;
  std::string message;
};

enum class RouteKind {
  kBase,         // /v2/
  kBlob,         // /v2/<name>/blobs/<digest>
  kUploadStart,  // /v2/<name>/blobs/uploads/
  kUpload,       // /v2/<name>/blobs/uploads/<id>
  kManifest,     // /v2/<name>/manifests/<reference>
  kTagsList,     // /v2/<name>/tags/list
  kReferrers,    // /v2/<name>/referrers/<digest>
};

enum class Action { kNone, kPull, kPush, kDelete };

struct Route {
  RouteKind kind = RouteKind::kBase;
  std::string name;       // repository: "acme/med-llm"
  std::string ns;         // its first component: "acme"
  std::string reference;  // tag or digest, blob digest, or upload id
  Action action = Action::kNone;
};

// ParseRoute maps a method and a decoded path (no query) to a Route, or to
// the ApiError to send: 404 NAME_UNKNOWN for a path that is no endpoint,
// 400 NAME_INVALID / DIGEST_INVALID / TAG_INVALID for bad components, 405
// UNSUPPORTED for a method the endpoint does not take.
struct RouteResult {
  std::optional<Route> route;
  ApiError error;
};
RouteResult ParseRoute(std::string_view method, std::string_view path);

// IsValidRepositoryName: the distribution-spec name grammar, at least two
// components (namespace/name), at most kMaxNameBytes.
bool IsValidRepositoryName(std::string_view name);
// IsValidNamespace: one component of the name grammar, at most 64 bytes.
bool IsValidNamespace(std::string_view ns);
// IsValidTag: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
bool IsValidTag(std::string_view tag);
// IsValidUploadId: 32 lower-case hex digits (what the server issues).
bool IsValidUploadId(std::string_view id);

// ContentRange is an inclusive byte range from a PATCH Content-Range
// header: "<start>-<end>" (the distribution spec's form) or
// "bytes <start>-<end>/<total|*>". InvalidArgument when malformed or end <
// start.
struct ContentRange {
  std::uint64_t start = 0;
  std::uint64_t end = 0;  // inclusive
};
Result<ContentRange> ParseContentRange(std::string_view header);

// TokenFromAuthorization extracts the bearer token from an Authorization
// header: "Bearer <token>" or "Basic base64(user:token)" (the user name is
// ignored). NotFound for an empty header; InvalidArgument when malformed.
// The token is never part of an error message.
Result<std::string> TokenFromAuthorization(std::string_view header);

}  // namespace arca::registry

#endif  // ARCA_REGISTRY_SERVER_ROUTES_H_
