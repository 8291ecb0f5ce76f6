#include "client/output.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

namespace arca::client {

std::string HumanBytes(std::uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

Result<std::uint64_t> ParseSize(const std::string& text) {
  std::size_t i = 0;
  std::uint64_t n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (n > (UINT64_MAX - 9) / 10) return InvalidArgumentError("size \"" + text + "\" is too large");
    n = n * 10 + std::uint64_t(text[i++] - '0');
  }
  if (i == 0) return InvalidArgumentError("size \"" + text + "\" must start with a number (e.g. 1M, 256K)");
  std::string unit = text.substr(i);
  std::uint64_t mul = 1;
  if (unit.empty() || unit == "B") mul = 1;
  else if (unit == "K" || unit == "KiB" || unit == "k") mul = 1ull << 10;
  else if (unit == "M" || unit == "MiB") mul = 1ull << 20;
  else if (unit == "G" || unit == "GiB") mul = 1ull << 30;
  else return InvalidArgumentError("size \"" + text + "\" has an unknown unit (use K, M or G)");
  if (n > UINT64_MAX / mul) return InvalidArgumentError("size \"" + text + "\" is too large");
  return n * mul;
}

ProgressPrinter::ProgressPrinter(std::string verb)
    : verb_(std::move(verb)), enabled_(::isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}

ProgressPrinter::~ProgressPrinter() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
}

format::ProgressFn ProgressPrinter::Callback() {
  if (!enabled_) return nullptr;
  return [this](const format::Progress& p) {
    auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    drawn_ = true;
    double secs = std::chrono::duration<double>(now - start_).count();
    double rate = secs > 0 ? double(p.done_bytes) / secs : 0;
    if (p.total_bytes > 0) {
      std::fprintf(stderr, "\r\033[K%s %s / %s (%.0f%%), %s/s", verb_.c_str(), HumanBytes(p.done_bytes).c_str(),
                   HumanBytes(p.total_bytes).c_str(), 100.0 * double(p.done_bytes) / double(p.total_bytes),
                   HumanBytes(std::uint64_t(rate)).c_str());
    } else {
      std::fprintf(stderr, "\r\033[K%s %s, %s/s", verb_.c_str(), HumanBytes(p.done_bytes).c_str(),
                   HumanBytes(std::uint64_t(rate)).c_str());
    }
    std::fflush(stderr);
  };
}

// Invalid UTF-8 (e.g. a message cut inside a character, or bytes from a
// peer) is replaced rather than thrown on: output must never abort.
void PrintJson(const Json& value) { std::cout << value.dump(2, ' ', false, Json::error_handler_t::replace) << "\n"; }

int ReportError(const Status& status, bool json) {
  if (json) {
    PrintJson({{"error", {{"code", std::string(StatusCodeName(status.code()))}, {"message", status.message()}}}});
  }
  std::fprintf(stderr, "arca: %s\n", status.ToString().c_str());
  return ExitCodeFor(status.code());
}

}  // namespace arca::client
