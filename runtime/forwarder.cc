#include "runtime/forwarder.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

namespace arca::runtime {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Names listed in Connection: header values are hop-by-hop too.
std::set<std::string> ConnectionTokens(const httplib::Headers& headers) {
  std::set<std::string> out;
  for (const auto& [k, v] : headers) {
    if (Lower(k) != "connection") continue;
    std::size_t start = 0;
    while (start <= v.size()) {
      std::size_t end = v.find(',', start);
      if (end == std::string::npos) end = v.size();
      std::string token = v.substr(start, end - start);
      token.erase(0, token.find_first_not_of(" \t"));
      token.erase(token.find_last_not_of(" \t") + 1);
      if (!token.empty()) out.insert(Lower(token));
      start = end + 1;
    }
  }
  return out;
}

// Headers this proxy sets itself, and httplib's pseudo-headers for the peer.
bool IsManagedHeader(const std::string& lower) {
  return lower == "host" || lower == "content-length" || lower == "remote_addr" || lower == "remote_port" ||
         lower == "local_addr" || lower == "local_port";
}

void Refuse(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(message + "\n", "text/plain; charset=utf-8");
}

}  // namespace

bool IsHopByHopHeader(std::string_view name) {
  static const std::set<std::string> kHop = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                                             "te", "trailer", "trailers", "transfer-encoding", "upgrade",
                                             "proxy-connection"};
  return kHop.count(Lower(name)) > 0;
}

// --- TokenBucketLimiter --------------------------------------------------------

TokenBucketLimiter::TokenBucketLimiter(double rate_per_s, double burst, std::size_t max_keys, Clock clock)
    : rate_(rate_per_s), burst_(burst), max_keys_(max_keys), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

void TokenBucketLimiter::Refill(Bucket& b, std::chrono::steady_clock::time_point now) const {
  double elapsed = std::chrono::duration<double>(now - b.last).count();
  if (elapsed > 0) b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
  b.last = now;
}

std::optional<std::uint32_t> TokenBucketLimiter::Take(const std::string& key) {
  const auto now = clock_();
  std::lock_guard<std::mutex> l(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    // Sweep at most once per second: a flood of new addresses must not make
    // every request scan the whole table.
    if (buckets_.size() >= max_keys_ && now - last_sweep_ >= std::chrono::seconds(1)) {
      last_sweep_ = now;
      for (auto i = buckets_.begin(); i != buckets_.end();) {
        Refill(i->second, now);
        i = i->second.tokens >= burst_ ? buckets_.erase(i) : std::next(i);
      }
    }
    if (buckets_.size() >= max_keys_) return std::uint32_t(1);  // table full of active clients
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  Refill(b, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  double wait_s = (1.0 - b.tokens) / rate_;
  return std::uint32_t(std::max(1.0, std::ceil(wait_s)));
}

// --- HttpForwarder ---------------------------------------------------------------

Result<std::unique_ptr<HttpForwarder>> HttpForwarder::Create(const ForwarderOptions& options) {
  if (options.upstream_port < 1 || options.upstream_port > 65535) {
    return InvalidArgumentError("forwarder: engine port " + std::to_string(options.upstream_port) + " is not in 1..65535");
  }
  if (options.max_request_body_bytes == 0 || options.max_response_body_bytes == 0) {
    return InvalidArgumentError("forwarder: body bounds must be positive");
  }
  if (!(options.rate_per_s > 0) || !(options.burst >= 1)) {
    return InvalidArgumentError("forwarder: the rate must be positive and the burst at least 1");
  }
  return std::unique_ptr<HttpForwarder>(new HttpForwarder(options));
}

HttpForwarder::HttpForwarder(const ForwarderOptions& options)
    : options_(options), limiter_(options.rate_per_s, options.burst, options.max_clients, options.clock) {}

HttpForwarder::~HttpForwarder() = default;

std::unique_ptr<httplib::Client> HttpForwarder::TakeClient() {
  {
    std::lock_guard<std::mutex> l(pool_mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  auto c = std::make_unique<httplib::Client>("127.0.0.1", options_.upstream_port);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  c->set_url_encode(false);  // the target is forwarded exactly as received
  c->set_decompress(false);  // bodies pass through as they are
  c->set_follow_location(false);
  c->set_connection_timeout(5, 0);
  const auto timeout = std::chrono::milliseconds(options_.upstream_timeout_ms);
  c->set_read_timeout(timeout);
  c->set_write_timeout(timeout);
  return c;
}

void HttpForwarder::GiveClient(std::unique_ptr<httplib::Client> client) {
  std::lock_guard<std::mutex> l(pool_mu_);
  if (idle_.size() < options_.max_idle_upstream) idle_.push_back(std::move(client));
}

bool HttpForwarder::Admit(const httplib::Request& req, httplib::Response& res) {
  if (auto retry = limiter_.Take(req.remote_addr)) {
    res.set_header("Retry-After", std::to_string(*retry));
    res.set_header("Connection", "close");  // a body may be left unread
    Refuse(res, 429, "too many requests from this address; retry after " + std::to_string(*retry) + " s");
    return false;
  }
  return true;
}

void HttpForwarder::Handle(const httplib::Request& req, const std::string& body, httplib::Response& res) {
  if (Admit(req, res)) Forward(req, body, res);
}

void HttpForwarder::Forward(const httplib::Request& req, const std::string& body, httplib::Response& res) {
  if (body.size() > options_.max_request_body_bytes) {
    Refuse(res, 413, "request body over " + std::to_string(options_.max_request_body_bytes) + " bytes");
    return;
  }
  httplib::Request up;
  up.method = req.method;
  up.path = req.target.empty() ? req.path : req.target;
  std::set<std::string> drop = ConnectionTokens(req.headers);
  for (const auto& [k, v] : req.headers) {
    std::string lk = Lower(k);
    if (IsHopByHopHeader(lk) || IsManagedHeader(lk) || drop.count(lk)) continue;
    up.headers.emplace(k, v);
  }
  up.body = body;
  std::string response_body;
  bool too_big = false;
  up.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    if (n > options_.max_response_body_bytes - response_body.size()) {
      too_big = true;
      return false;
    }
    response_body.append(data, n);
    return true;
  };
  auto client = TakeClient();
  httplib::Response got;
  httplib::Error err = httplib::Error::Success;
  bool ok = client->send(up, got, err);
  if (!ok) {
    if (too_big) {
      Refuse(res, 502, "engine response over " + std::to_string(options_.max_response_body_bytes) + " bytes");
    } else if (err == httplib::Error::Read || err == httplib::Error::Write) {
      Refuse(res, 504, "engine did not answer in time or closed the connection");
    } else {
      Refuse(res, 502, "engine unreachable: " + httplib::to_string(err));
    }
    return;  // the client is dropped: its connection state is unknown
  }
  GiveClient(std::move(client));
  res.status = got.status;
  std::set<std::string> drop_back = ConnectionTokens(got.headers);
  std::string content_type;
  for (const auto& [k, v] : got.headers) {
    std::string lk = Lower(k);
    if (IsHopByHopHeader(lk) || IsManagedHeader(lk) || drop_back.count(lk)) continue;
    if (lk == "content-type") {
      content_type = v;
      continue;
    }
    res.headers.emplace(k, v);
  }
  if (!response_body.empty() || !content_type.empty()) {
    res.body = std::move(response_body);
    if (!content_type.empty()) res.set_header("Content-Type", content_type);
  }
}

void HttpForwarder::Mount(httplib::Server& server) {
  server.set_payload_max_length(options_.max_request_body_bytes);
  // Everything outside the reserved prefix (std::regex ECMAScript lookahead).
  const std::string pattern = R"(^(?!/\.well-known/arca/).*)";
  auto plain = [this](const httplib::Request& req, httplib::Response& res) { Handle(req, req.body, res); };
  auto streamed = [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    if (!Admit(req, res)) return;  // before reading a body
    std::string body;
    bool over = false;
    bool read = reader([&](const char* data, std::size_t n) {
      if (n > options_.max_request_body_bytes - body.size()) {
        over = true;
        return false;
      }
      body.append(data, n);
      return true;
    });
    // httplib skips a body whose Content-Length is over payload_max_length
    // without calling the receiver, sets 413, and fails the read.
    if (over || (!read && res.status == 413)) {
      res.set_header("Connection", "close");  // the rest of the body may be unread
      Refuse(res, 413, "request body over " + std::to_string(options_.max_request_body_bytes) + " bytes");
      return;
    }
    if (!read) {
      res.set_header("Connection", "close");
      Refuse(res, 400, "could not read the request body");
      return;
    }
    Forward(req, body, res);
  };
  server.Get(pattern, plain);  // httplib serves HEAD through GET handlers
  server.Options(pattern, plain);
  server.Post(pattern, streamed);
  server.Put(pattern, streamed);
  server.Patch(pattern, streamed);
  server.Delete(pattern, streamed);
}

}  // namespace arca::runtime
