// Starting a cpp-httplib server the same way in every daemon (arca-registry,
// arca-keybroker). Header-only: base/ does not link httplib; users do.
#ifndef ARCA_BASE_HTTPLIB_UTIL_H_
#define ARCA_BASE_HTTPLIB_UTIL_H_

#include <chrono>
#include <string>
#include <thread>

#include <httplib.h>

#include "base/status.h"

namespace arca {

// StartHttpServer binds host:port (port 0: a free port), runs the accept
// loop on *thread and returns the bound port once the loop runs: httplib's
// stop() only acts on a running loop, so a Stop right after Start could
// otherwise leave it blocked in accept() for ever. Unavailable when the
// address cannot be bound.
inline Result<int> StartHttpServer(httplib::Server& server, const std::string& host, int port, std::thread* thread) {
  int bound = port;
  if (port == 0) {
    bound = server.bind_to_any_port(host.c_str());
    if (bound <= 0) return UnavailableError("cannot bind " + host);
  } else if (!server.bind_to_port(host.c_str(), port)) {
    return UnavailableError("cannot listen on " + host + ":" + std::to_string(port) + " (in use, or not a local address)");
  }
  *thread = std::thread([&server] { server.listen_after_bind(); });
  for (int i = 0; i < 5000 && !server.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!server.is_running()) return UnavailableError("the server did not start accepting connections");
  return bound;
}

}  // namespace arca

#endif  // ARCA_BASE_HTTPLIB_UTIL_H_
