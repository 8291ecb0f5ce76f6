// HTTP forwarder from the runtime's public endpoint to the engine
// (specs/runtime.md §4).
//
// HttpForwarder mounts catch-all routes on an httplib::Server (or
// SSLServer) that its owner creates, so the same server can carry the
// attested-TLS endpoint and the evidence route: every path except those under
// /.well-known/arca/ is forwarded to the engine on 127.0.0.1:port. It passes
// the method, target (path and query, as received), headers and body, and
// returns the engine's status, headers and body; hop-by-hop headers are
// dropped both ways. Request and response bodies are bounded, and each
// client (remote address) has a token bucket: past it, 429 with
// Retry-After. This limits how fast one client can query the model (model
// extraction by repeated queries); it does not identify clients behind one
// address, nor stop a client that spreads queries over many addresses.
#ifndef ARCA_RUNTIME_FORWARDER_H_
#define ARCA_RUNTIME_FORWARDER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace httplib {
class Server;
class Client;
struct Request;
struct Response;
}  // namespace httplib

namespace arca::runtime {

// kReservedPathPrefix is never forwarded: the runtime's own routes live
// there (the evidence route /.well-known/arca/evidence).
inline constexpr std::string_view kReservedPathPrefix = "/.well-known/arca/";

// IsHopByHopHeader: Connection, Keep-Alive, Proxy-Authenticate,
// Proxy-Authorization, TE, Trailer, Transfer-Encoding, Upgrade
// (RFC 9110 §7.6.1), case-insensitive.
bool IsHopByHopHeader(std::string_view name);

// TokenBucketLimiter: per key, `burst` tokens refilled at `rate_per_s`; one
// token per request. Keys idle long enough to be full again are forgotten
// when the table passes max_keys (a full bucket is the state of a new key;
// at most one sweep per second), and a new key past max_keys after that is
// refused, so memory stays bounded. Thread-safe.
class TokenBucketLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  TokenBucketLimiter(double rate_per_s, double burst, std::size_t max_keys = 100000, Clock clock = {});
  // Take spends one token of `key`: nullopt when allowed, else the seconds
  // (at least 1) after which one token will be available.
  std::optional<std::uint32_t> Take(const std::string& key);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  void Refill(Bucket& b, std::chrono::steady_clock::time_point now) const;

  const double rate_;
  const double burst_;
  const std::size_t max_keys_;
  Clock clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::chrono::steady_clock::time_point last_sweep_{};
};

struct ForwarderOptions {
  int upstream_port = 0;                            // the engine's {port} on 127.0.0.1
  std::size_t max_request_body_bytes = 16u << 20;   // 413 past it
  std::size_t max_response_body_bytes = 256u << 20; // 502 past it
  double rate_per_s = 10;                           // per remote address
  double burst = 20;
  std::size_t max_clients = 100000;                 // limiter table bound
  int upstream_timeout_ms = 300000;                 // read/write timeout to the engine
  std::size_t max_idle_upstream = 32;               // keep-alive connections kept
  TokenBucketLimiter::Clock clock;                  // tests; default steady_clock
};

// HttpForwarder is thread-safe (httplib calls handlers from its pool).
class HttpForwarder {
 public:
  // Create checks the options (InvalidArgument for a port outside 1..65535,
  // a zero body bound, a rate or burst that is not positive).
  static Result<std::unique_ptr<HttpForwarder>> Create(const ForwarderOptions& options);
  ~HttpForwarder();

  // Mount registers GET/HEAD, POST, PUT, PATCH, DELETE and OPTIONS handlers
  // for every path outside kReservedPathPrefix, and sets the server's
  // payload_max_length to max_request_body_bytes (httplib answers 413 itself
  // for larger bodies of methods it reads eagerly). The forwarder must
  // outlive the server's use of the routes. Routes the owner registers for
  // reserved paths work whatever the order of registration.
  void Mount(httplib::Server& server);

  // Handle forwards one request (what the mounted routes call; exposed for
  // tests and for owners with their own routing). `body` is the request body.
  void Handle(const httplib::Request& req, const std::string& body, httplib::Response& res);

 private:
  explicit HttpForwarder(const ForwarderOptions& options);
  bool Admit(const httplib::Request& req, httplib::Response& res);  // rate limit; false: answered 429
  void Forward(const httplib::Request& req, const std::string& body, httplib::Response& res);
  std::unique_ptr<httplib::Client> TakeClient();
  void GiveClient(std::unique_ptr<httplib::Client> client);

  ForwarderOptions options_;
  TokenBucketLimiter limiter_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<httplib::Client>> idle_;
};

}  // namespace arca::runtime

#endif  // ARCA_RUNTIME_FORWARDER_H_
