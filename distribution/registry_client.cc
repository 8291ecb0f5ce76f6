#include "distribution/registry_client.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "format/oci_layout.h"

namespace arca::distribution {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsHostChar(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '-'; }

Status ValidateRegistry(std::string_view reg) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("registry \"" + std::string(reg.substr(0, 100)) + "\" " + why);
  };
  if (reg.empty() || reg.size() > 255) return bad("is empty or too long");
  std::string_view host = reg;
  std::string_view port;
  if (reg.front() == '[') {
    auto close = reg.find(']');
    if (close == std::string_view::npos) return bad("has an unterminated IPv6 literal");
    std::string_view inside = reg.substr(1, close - 1);
    if (inside.empty() || !std::all_of(inside.begin(), inside.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; })) {
      return bad("has an invalid IPv6 literal");
    }
    std::string_view rest = reg.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("has junk after the IPv6 literal");
      port = rest.substr(1);
      if (port.empty()) return bad("has an empty port");
    }
  } else {
    auto colon = reg.find(':');
    if (colon != std::string_view::npos) {
      host = reg.substr(0, colon);
      port = reg.substr(colon + 1);
      if (port.empty()) return bad("has an empty port");
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsHostChar)) return bad("has an invalid host name");
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535) {
      return bad("has an invalid port");
    }
  }
  return Status::Ok();
}

std::string Lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

// What curl's callbacks share with Do().
struct Transfer {
  CURL* curl = nullptr;
  HttpResponse* response = nullptr;
  const BodySink* sink = nullptr;
  const std::vector<long>* stream_statuses = nullptr;
  std::uint64_t max_body_bytes = 0;
  const std::function<Status(long status, const HttpResponse&)>* on_first = nullptr;
  bool started = false;
  Status failure;
};

std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response->headers.clear();  // a new response (redirect, 100-continue)
    return size * n;
  }
  auto colon = line.find(':');
  if (colon != std::string::npos && t->response->headers.size() < 256) {
    t->response->headers[Lower(line.substr(0, colon))] = Trim(line.substr(colon + 1)).substr(0, 8192);
  }
  return size * n;
}

std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  bool stream = t->sink && *t->sink &&
                std::find(t->stream_statuses->begin(), t->stream_statuses->end(), status) != t->stream_statuses->end();
  if (stream) {
    if (!t->started) {
      t->started = true;
      if (t->on_first && *t->on_first) {
        Status s = (*t->on_first)(status, *t->response);
        if (!s.ok()) {
          t->failure = s;
          return 0;
        }
      }
    }
    Status s = (*t->sink)(ByteSpan(reinterpret_cast<const std::uint8_t*>(data), len));
    if (!s.ok()) {
      t->failure = s;
      return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
    }
    return len;
  }
  if (t->response->body.size() + len > t->max_body_bytes) {
    t->failure = ResourceExhaustedError("response body is over the limit of " + std::to_string(t->max_body_bytes) + " bytes");
    return 0;
  }
  t->response->body.insert(t->response->body.end(), data, data + len);
  return len;
}

std::string PathOf(const std::string& url) {
  auto scheme = url.find("://");
  auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

}  // namespace

std::string Reference::LocalName() const { return digest.empty() ? repository + ":" + tag : repository + "@" + digest; }

std::string Reference::ToString() const { return registry + "/" + LocalName(); }

Result<Reference> ParseReference(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("reference \"" + std::string(text.substr(0, 200)) + "\" " + why +
                                " (expected HOST:PORT/namespace/name:tag or HOST:PORT/namespace/name@sha256:HEX)");
  };
  if (text.size() > 1024) return bad("is too long");
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return bad("has no registry host");
  Reference r;
  r.registry = std::string(text.substr(0, slash));
  Status hs = ValidateRegistry(r.registry);
  if (!hs.ok()) return bad("has a bad host: " + hs.message());
  std::string_view rest = text.substr(slash + 1);
  auto at = rest.find('@');
  if (at != std::string_view::npos) {
    r.digest = std::string(rest.substr(at + 1));
    if (!format::IsValidDigest(r.digest)) return bad("has a digest that is not sha256:<64 lower-case hex>");
    rest = rest.substr(0, at);
  }
  auto last_slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && (last_slash == std::string_view::npos || colon > last_slash)) {
    if (!r.digest.empty()) return bad("has both a tag and a digest");
    r.tag = std::string(rest.substr(colon + 1));
    if (!format::IsOciTag(r.tag)) return bad("has an invalid tag (allowed: [A-Za-z0-9_][A-Za-z0-9._-]{0,127})");
    rest = rest.substr(0, colon);
  }
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  r.repository = std::string(rest);
  if (r.repository.empty() || r.repository.size() > 255) return bad("has an empty or over-long repository name");
  if (r.repository.find('/') == std::string::npos) return bad("has no namespace (the repository must be namespace/name)");
  std::size_t start = 0;
  while (true) {
    auto end = r.repository.find('/', start);
    std::string_view comp = std::string_view(r.repository).substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!format::IsOciNameComponent(comp)) {
      return bad("has an invalid repository component \"" + std::string(comp.substr(0, 64)) +
                 "\" (lower-case letters and digits, separated by '.', '_', '__' or '-')");
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return r;
}

Status ValidateRegistryHost(std::string_view registry) { return ValidateRegistry(registry); }

bool IsLoopbackHost(std::string_view registry) {
  std::string_view host = registry;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]";
}

Result<std::uint64_t> ParseRangeHeader(std::string_view value) {
  std::string_view v = value;
  if (v.substr(0, 6) == "bytes=") v = v.substr(6);
  auto bad = [&] { return InvalidArgumentError("Range header \"" + std::string(value.substr(0, 64)) + "\" is not 0-<last>"); };
  if (v.size() < 3 || v.substr(0, 2) != "0-") return bad();
  std::string_view last = v.substr(2);
  if (last.empty() || last.size() > 19 || !std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad();
  }
  return std::stoull(std::string(last)) + 1;
}

std::vector<OciError> ParseOciErrors(ByteSpan body) {
  std::vector<OciError> out;
  JsonLimits limits;
  limits.max_bytes = 64 << 10;
  limits.max_depth = 16;
  auto j = ParseJson(ToString(body), "OCI error body", limits);
  if (!j.ok() || !j->is_object() || !j->contains("errors") || !(*j)["errors"].is_array()) return out;
  for (const Json& e : (*j)["errors"]) {
    if (out.size() >= 16) break;
    if (!e.is_object()) continue;
    OciError oe;
    if (e.contains("code") && e["code"].is_string()) oe.code = e["code"].get<std::string>().substr(0, 512);
    if (e.contains("message") && e["message"].is_string()) oe.message = e["message"].get<std::string>().substr(0, 512);
    if (e.contains("detail") && !e["detail"].is_null()) {
      oe.detail = e["detail"].is_string() ? e["detail"].get<std::string>() : e["detail"].dump();
      oe.detail = oe.detail.substr(0, 512);
    }
    out.push_back(std::move(oe));
  }
  return out;
}

std::string HttpResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

Result<std::unique_ptr<RegistryClient>> RegistryClient::Create(const ClientOptions& options) {
  ARCA_RETURN_IF_ERROR(ValidateRegistry(options.registry));
  CurlEasyPtr curl(curl_easy_init());
  if (!curl) return InternalError("curl_easy_init failed (was curl_global_init run?)");
  bool plain = options.insecure || IsLoopbackHost(options.registry);
  std::string base = (plain ? "http://" : "https://") + options.registry;
  return std::unique_ptr<RegistryClient>(new RegistryClient(options, std::move(base), std::move(curl)));
}

std::string RegistryClient::Resolve(const std::string& location) const {
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) return location;
  if (!location.empty() && location.front() == '/') return base_url_ + location;
  return base_url_ + "/" + location;
}

Status RegistryClient::ErrorFor(const Request& request, const HttpResponse& response) const {
  std::string msg = "registry " + options_.registry + ": " + request.method + " " + PathOf(request.url) + ": HTTP " +
                    std::to_string(response.status);
  for (const OciError& e : ParseOciErrors(response.body)) {
    msg += " " + e.code + (e.message.empty() ? "" : ": " + e.message) + (e.detail.empty() ? "" : " (" + e.detail + ")");
  }
  if (response.status == 401 && options_.token.empty()) msg += "; no credential for this registry: arca login " + options_.registry + " --token TOKEN";
  switch (response.status) {
    case 400: return InvalidArgumentError(msg);
    case 401: return UnauthenticatedError(msg);
    case 403: return PermissionDeniedError(msg);
    case 404: return NotFoundError(msg);
    case 413:
    case 416: return ResourceExhaustedError(msg);
    case 429: return UnavailableError(msg);
    default: return response.status >= 500 ? UnavailableError(msg) : InternalError(msg);
  }
}

Result<HttpResponse> RegistryClient::Do(const Request& request) {
  CURL* c = curl_.get();
  curl_easy_reset(c);
  HttpResponse response;
  Transfer t;
  t.curl = c;
  t.response = &response;
  t.sink = request.sink;
  t.stream_statuses = &request.stream_statuses;
  t.max_body_bytes = request.max_body_bytes;
  t.on_first = &request.on_first;

  std::vector<std::string> headers = request.headers;
  headers.push_back("Expect:");  // no 100-continue round trip before PATCH bodies
  bool own_origin = request.url.rfind(base_url_ + "/", 0) == 0;
  if (!options_.token.empty() && own_origin) headers.push_back("Authorization: Bearer " + options_.token);
  curl_slist* raw = nullptr;
  for (const auto& h : headers) {
    curl_slist* next = curl_slist_append(raw, h.c_str());
    if (!next) {
      curl_slist_free_all(raw);
      return InternalError("curl_slist_append failed");
    }
    raw = next;
  }
  CurlSlistPtr list(raw);

  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "arca/0.1.0");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, options_.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, options_.stall_timeout_s);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (!options_.ca_cert.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_cert.c_str());
  if (options_.limit_rate_bytes_per_s > 0) {
    curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE, curl_off_t(options_.limit_rate_bytes_per_s));
    curl_easy_setopt(c, CURLOPT_MAX_SEND_SPEED_LARGE, curl_off_t(options_.limit_rate_bytes_per_s));
  }
  if (request.follow_redirects) {
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  }
  if (request.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.empty() ? "" : reinterpret_cast<const char*>(request.body.data()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.size()));
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    if (!t.failure.ok()) return t.failure;
    Status s = UnavailableError("registry " + options_.registry + ": " + request.method + " " + PathOf(request.url) + ": " +
                                curl_easy_strerror(rc));
    if (rc == CURLE_UNSUPPORTED_PROTOCOL) s = InvalidArgumentError(s.message() + " (only http and https are allowed)");
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE) {
      s = UnauthenticatedError(s.message() + " (TLS certificate not trusted; --ca-cert FILE adds a CA)");
    }
    return s;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

Result<bool> RegistryClient::BlobExists(const std::string& repo, const std::string& digest) {
  Request r{"HEAD", base_url_ + "/v2/" + repo + "/blobs/" + digest};
  ARCA_ASSIGN_OR_RETURN(HttpResponse resp, Do(r));
  if (resp.status == 200) return true;
  if (resp.status == 404) return false;
  return ErrorFor(r, resp);
}

Result<std::string> RegistryClient::StartUpload(const std::string& repo) {
  Request r{"POST", base_url_ + "/v2/" + repo + "/blobs/uploads/"};
  r.headers = {"Content-Type:"};
  ARCA_ASSIGN_OR_RETURN(HttpResponse resp, Do(r));
  if (resp.status != 202) return ErrorFor(r, resp);
  std::string loc = resp.Header("location");
  if (loc.empty()) return InvalidArgumentError("registry " + options_.registry + " answered an upload start without a Location");
  return Resolve(loc);
}

Result<RegistryClient::UploadStatus> RegistryClient::GetUploadStatus(const std::string& location) {
  Request r{"GET", Resolve(location)};
  ARCA_ASSIGN_OR_RETURN(HttpResponse resp, Do(r));
  if (resp.status != 204) return ErrorFor(r, resp);
  UploadStatus st;
  std::string loc = resp.Header("location");
  st.location = loc.empty() ? r.url : Resolve(loc);
  std::string range = resp.Header("range");
  if (!range.empty() && range != "0-0" && range != "bytes=0-0") {
    ARCA_ASSIGN_OR_RETURN(st.offset, ParseRangeHeader(range));
    st.offset_known = true;
  }
  return st;
}

Result<std::string> RegistryClient::UploadChunk(const std::string& location, std::uint64_t offset, ByteSpan data) {
  Request r{"PATCH", Resolve(location)};
  r.headers = {"Content-Type: application/octet-stream",
               "Content-Range: " + std::to_string(offset) + "-" + std::to_string(offset + data.size() - 1)};
  r.body = data;
  ARCA_ASSIGN_OR_RETURN(HttpResponse resp, Do(r));
  if (resp.status != 202) return ErrorFor(r, resp);
  std::string range = resp.Header("range");
  if (!range.empty()) {
    ARCA_ASSIGN_OR_RETURN(std::uint64_t held, ParseRangeHeader(range));
    if (held != offset + data.size()) {
      return CorruptionError("registry " + options_.registry + " holds " + std::to_string(held) + " bytes of the upload after a chunk ending at " +
                             std::to_string(offset + data.size()));
    }
  }
  std::string loc = resp.Header("location");
  return loc.empty() ? r.url : Resolve(loc);
}

Status RegistryClient::FinishUpload(const std::string& location, const std::string& digest) {
  std::string url = Resolve(location);
  url += (url.find('?') == std::string::npos ? "?" : "&");
  url += "digest=" + digest;  // "sha256:<hex>" needs no escaping in a query
  Request r{"PUT", url};
  r.headers = {"Content-Type: application/octet-stream"};
  ARCA_ASSIGN_OR_RETURN(HttpResponse resp, Do(r));
  if (resp.status != 201) return ErrorFor(r, resp);
  return Status::Ok();
}

Result<std::string> RegistryClient::PutManifest(const std::string& repo, const std::string& ref, std::string_view media_type,
                                                ByteSpan bytes) {
  Request r{"PUT", base_url_ + "/v2/" + repo + "/manifests/" + ref};
  r.headers = {"Content-Type: " + std::string(media_type)};
  r.body = bytes;
  ARCA_ASSIGN_OR_RETURN(HttpResponse resp, Do(r));
  if (resp.status != 201) return ErrorFor(r, resp);
  return resp.Header("docker-content-digest");
}

Result<RegistryClient::Manifest> RegistryClient::GetManifest(const std::string& repo, const std::string& ref,
                                                              std::string_view media_type, std::uint64_t max_bytes) {
  Request r{"GET", base_url_ + "/v2/" + repo + "/manifests/" + ref};
  r.headers = {"Accept: " + std::string(media_type)};
  r.max_body_bytes = max_bytes;
  auto resp = Do(r);
  if (!resp.ok()) {
    if (resp.status().code() == StatusCode::kResourceExhausted) {
      return ResourceExhaustedError("registry " + options_.registry + " served a manifest for " + repo + ":" + ref +
                                    " over the limit of " + std::to_string(max_bytes) + " bytes");
    }
    return resp.status();
  }
  if (resp->status != 200) return ErrorFor(r, *resp);
  return Manifest{std::move(resp->body), resp->Header("content-type"), resp->Header("docker-content-digest")};
}

Result<Bytes> RegistryClient::Get(const std::string& path, std::uint64_t max_bytes) {
  Request r{"GET", base_url_ + path};
  r.max_body_bytes = max_bytes;
  ARCA_ASSIGN_OR_RETURN(auto resp, Do(r));
  if (resp.status != 200) return ErrorFor(r, resp);
  return std::move(resp.body);
}

Status RegistryClient::GetBlob(const std::string& repo, const std::string& digest, std::uint64_t offset,
                               const std::function<Status(std::uint64_t start)>& on_start, const BodySink& sink,
                               std::uint64_t end) {
  Request r{"GET", base_url_ + "/v2/" + repo + "/blobs/" + digest};
  if (end > offset) {
    r.headers = {"Range: bytes=" + std::to_string(offset) + "-" + std::to_string(end - 1)};
  } else if (offset > 0) {
    r.headers = {"Range: bytes=" + std::to_string(offset) + "-"};
  }
  r.follow_redirects = true;
  r.sink = &sink;
  r.stream_statuses = {200, 206};
  r.max_body_bytes = 64 << 10;
  // Decide where the body starts before the first byte reaches the sink.
  auto start_of = [&](long status, const HttpResponse& resp) -> Result<std::uint64_t> {
    if (status == 200) return std::uint64_t{0};
    // Content-Range: bytes <first>-<last>/<total>; the body must start where we asked.
    std::string cr = resp.Header("content-range");
    if (cr.rfind("bytes " + std::to_string(offset) + "-", 0) != 0) {
      return CorruptionError("registry " + options_.registry + " answered a range request for " + digest + " from byte " +
                             std::to_string(offset) + " with Content-Range \"" + cr.substr(0, 80) + "\"");
    }
    return offset;
  };
  bool started = false;
  r.on_first = [&](long status, const HttpResponse& resp) -> Status {
    started = true;
    ARCA_ASSIGN_OR_RETURN(std::uint64_t start, start_of(status, resp));
    return on_start(start);
  };
  ARCA_ASSIGN_OR_RETURN(HttpResponse resp, Do(r));
  if (resp.status != 200 && resp.status != 206) return ErrorFor(r, resp);
  if (!started) {  // an empty body: nothing streamed
    ARCA_ASSIGN_OR_RETURN(std::uint64_t start, start_of(resp.status, resp));
    ARCA_RETURN_IF_ERROR(on_start(start));
  }
  return Status::Ok();
}

}  // namespace arca::distribution
