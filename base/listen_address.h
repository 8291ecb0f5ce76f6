// ParseListenAddress reads a server's --listen HOST:PORT ("127.0.0.1:8710",
// "[::1]:8710"); shared by arca-registry, arca-keybroker and arca-runtime.
#ifndef ARCA_BASE_LISTEN_ADDRESS_H_
#define ARCA_BASE_LISTEN_ADDRESS_H_

#include <string>
#include <utility>

#include "base/status.h"

namespace arca {

struct ListenAddress {
  std::string host;
  int port = 0;
};

// InvalidArgument naming `flag` unless `listen` is HOST:PORT with a port in
// 0..65535 (0: pick a free port).
inline Result<ListenAddress> ParseListenAddress(const std::string& listen, const std::string& flag = "--listen") {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgumentError(flag + " wants HOST:PORT, e.g. 127.0.0.1:8700, got '" + listen.substr(0, 64) + "'");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port = listen.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535) {
    return InvalidArgumentError(flag + ": '" + port.substr(0, 16) + "' is not a port number");
  }
  return ListenAddress{std::move(host), std::stoi(port)};
}

}  // namespace arca

#endif  // ARCA_BASE_LISTEN_ADDRESS_H_
