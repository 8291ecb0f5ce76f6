// A client for the OCI distribution API (distribution-spec v1.1) over
// libcurl: blob HEAD/GET (with Range), chunked uploads (POST, PATCH, PUT),
// upload status, manifest PUT/GET. It speaks to arca-registry and to any
// OCI registry (tested against CNCF distribution 2.8).
//
// What it protects: only http and https are allowed (redirects included);
// the bearer token is sent only to the registry's own origin, never to a
// host a Location header or redirect names; response bodies read into
// memory are bounded; nothing it returns is trusted by size or digest alone
// (callers hash what they receive, see distribution/transfer.h).
// What it does not: it does not judge content. A registry can withhold,
// delay or serve other bytes; the pull flow detects the latter.
#ifndef ARCA_DISTRIBUTION_REGISTRY_CLIENT_H_
#define ARCA_DISTRIBUTION_REGISTRY_CLIENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/curl_util.h"
#include "base/status.h"

namespace arca::distribution {

// Reference is HOST[:PORT]/REPOSITORY[:TAG|@sha256:HEX]; the repository is
// OCI's name grammar with at least two components, its first being the
// namespace. Exactly one of tag and digest is set ("latest" when neither
// was written).
struct Reference {
  std::string registry;    // "127.0.0.1:5000", "[::1]:5000", "reg.example"
  std::string repository;  // "acme/med-llm"
  std::string tag;
  std::string digest;

  std::string namespace_name() const { return repository.substr(0, repository.find('/')); }
  // Identifier is the tag or the digest: what goes after /manifests/.
  const std::string& Identifier() const { return digest.empty() ? tag : digest; }
  // LocalName is "repository:tag" or "repository@digest" (a store ref name).
  std::string LocalName() const;
  // ToString is the full reference as written.
  std::string ToString() const;
};

// ParseReference parses a remote reference. InvalidArgument naming the part
// that is wrong (host, repository, tag, digest).
Result<Reference> ParseReference(std::string_view text);

// ValidateRegistryHost checks "host[:port]" / "[v6]:port". InvalidArgument.
[[nodiscard]] Status ValidateRegistryHost(std::string_view registry);

// IsLoopbackHost is true for 127.0.0.1, localhost and [::1] (with or
// without a port): plain HTTP is used for those without --insecure.
bool IsLoopbackHost(std::string_view registry);

// ParseRangeHeader parses an upload Range header "0-<last>" (a leading
// "bytes=" is tolerated) and returns last+1, the bytes the registry holds.
// InvalidArgument when malformed or not starting at 0.
Result<std::uint64_t> ParseRangeHeader(std::string_view value);

// OciError is one entry of an OCI error body {"errors":[{code,message,detail}]}.
struct OciError {
  std::string code;
  std::string message;
  std::string detail;  // JSON text of "detail", if any, truncated
};
// ParseOciErrors parses an error body; malformed bodies give an empty list
// (the HTTP status then speaks alone). Bounded: at most 16 entries, each
// string cut to 512 bytes.
std::vector<OciError> ParseOciErrors(ByteSpan body);

struct ClientOptions {
  std::string registry;       // host[:port]
  bool insecure = false;      // plain HTTP even off loopback
  std::string ca_cert;        // extra CA bundle file for HTTPS (system CAs otherwise)
  std::string token;          // bearer token, empty for anonymous
  std::uint64_t limit_rate_bytes_per_s = 0;  // per connection; 0 = unlimited
  long connect_timeout_s = 15;
  long stall_timeout_s = 60;  // abort when under 1 byte/s for this long
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names; last value wins
  Bytes body;
  std::string Header(const std::string& lower_name) const;
};

// BodySink receives streamed response bytes; a non-OK status aborts the
// transfer and is returned by the request.
using BodySink = std::function<Status(ByteSpan)>;

// RegistryClient talks to one registry. One instance owns one curl handle
// (its connection is reused across calls); NOT thread-safe: give each
// worker thread its own (Clone). Every failing call returns a Status that
// names the method, path, HTTP status and the registry's OCI error code and
// message ("registry 127.0.0.1:5000: PUT /v2/acme/x/manifests/1.0: HTTP 403
// DENIED: ..."); connection failures are Unavailable. HTTP statuses map as
// 400 InvalidArgument, 401 Unauthenticated, 403 PermissionDenied,
// 404 NotFound, 413/416 ResourceExhausted, 429/5xx Unavailable, others Internal.
class RegistryClient {
 public:
  static Result<std::unique_ptr<RegistryClient>> Create(const ClientOptions& options);
  Result<std::unique_ptr<RegistryClient>> Clone() const { return Create(options_); }

  const std::string& base_url() const { return base_url_; }

  // BlobExists: HEAD /v2/<repo>/blobs/<digest>; true on 200, false on 404.
  Result<bool> BlobExists(const std::string& repo, const std::string& digest);
  // StartUpload: POST /v2/<repo>/blobs/uploads/ → 202; returns the absolute
  // upload URL (a relative Location is resolved against the registry).
  Result<std::string> StartUpload(const std::string& repo);
  struct UploadStatus {
    std::string location;
    std::uint64_t offset = 0;  // bytes the registry holds
    bool offset_known = false;  // false when Range was absent or "0-0" (0 or 1 byte: ambiguous)
  };
  // GetUploadStatus: GET <location> → 204 with Range. NotFound when the
  // session is gone.
  Result<UploadStatus> GetUploadStatus(const std::string& location);
  // UploadChunk: PATCH <location> with Content-Range start-end (inclusive)
  // → 202; returns the new location. Corruption when the registry's Range
  // does not acknowledge exactly offset + data.size() bytes.
  Result<std::string> UploadChunk(const std::string& location, std::uint64_t offset, ByteSpan data);
  // FinishUpload: PUT <location>?digest=<digest> with an empty body → 201.
  Status FinishUpload(const std::string& location, const std::string& digest);
  // PutManifest: PUT /v2/<repo>/manifests/<ref> → 201; returns the
  // registry's Docker-Content-Digest (empty if it sent none).
  Result<std::string> PutManifest(const std::string& repo, const std::string& ref, std::string_view media_type,
                                  ByteSpan bytes);
  struct Manifest {
    Bytes bytes;
    std::string content_type;
    std::string digest_header;  // Docker-Content-Digest, possibly empty
  };
  // GetManifest: GET /v2/<repo>/manifests/<ref> accepting `media_type`;
  // ResourceExhausted past max_bytes (checked while streaming).
  Result<Manifest> GetManifest(const std::string& repo, const std::string& ref, std::string_view media_type,
                               std::uint64_t max_bytes);
  // Get: GET <path> (absolute path on the registry, e.g. the log's
  // "/arca/v1/log/checkpoint") → 200; the body, ResourceExhausted past
  // max_bytes; other statuses as for every call (404 NotFound, ...).
  Result<Bytes> Get(const std::string& path, std::uint64_t max_bytes);
  // GetBlob: GET /v2/<repo>/blobs/<digest>, from byte `offset` (Range:
  // bytes=offset-). Before the first body byte reaches `sink`, `on_start`
  // is told where the body starts: `offset` on 206 (Content-Range checked:
  // Corruption if it starts elsewhere), 0 on 200 (the registry ignored the
  // range: the caller starts over). Follows up to 5 redirects (http/https
  // only, token not forwarded to another host). With `end` > offset the
  // request is bounded (Range: bytes=offset-(end-1)); a registry may still
  // answer 200 with the whole blob, so sinks bound what they accept.
  [[nodiscard]] Status GetBlob(const std::string& repo, const std::string& digest, std::uint64_t offset,
                               const std::function<Status(std::uint64_t start)>& on_start, const BodySink& sink,
                               std::uint64_t end = 0);

 private:
  RegistryClient(ClientOptions options, std::string base_url, CurlEasyPtr curl)
      : options_(std::move(options)), base_url_(std::move(base_url)), curl_(std::move(curl)) {}

  struct Request {
    std::string method;
    std::string url;  // absolute
    std::vector<std::string> headers;
    ByteSpan body;
    bool follow_redirects = false;
    std::uint64_t max_body_bytes = 1 << 20;  // when no sink
    const BodySink* sink = nullptr;
    // Sink only for these statuses; other responses are collected (bounded).
    std::vector<long> stream_statuses;
    // Called once, before the first streamed byte, with status and headers.
    std::function<Status(long status, const HttpResponse&)> on_first;
  };
  Result<HttpResponse> Do(const Request& request);
  std::string Resolve(const std::string& location) const;
  Status ErrorFor(const Request& request, const HttpResponse& response) const;

  ClientOptions options_;
  std::string base_url_;  // "http://127.0.0.1:5000"
  CurlEasyPtr curl_;
};

}  // namespace arca::distribution

#endif  // ARCA_DISTRIBUTION_REGISTRY_CLIENT_H_
