#include "tlog/text.h"

namespace arca::tlog {

Result<std::uint64_t> ParseCanonicalDecimal(std::string_view s, std::string_view where) {
  if (s.empty() || s.size() > 19) return InvalidArgumentError(std::string(where) + ": not a decimal number below 2^63");
  if (s.size() > 1 && s[0] == '0') return InvalidArgumentError(std::string(where) + ": leading zero");
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return InvalidArgumentError(std::string(where) + ": not a decimal number");
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > 0x7fffffffffffffffULL) return InvalidArgumentError(std::string(where) + ": not below 2^63");
  return v;
}

Result<Bytes> DecodeCanonicalBase64(std::string_view s, std::string_view where) {
  auto b = Base64Decode(s);
  if (!b.ok() || Base64Encode(*b) != s) {
    return InvalidArgumentError(std::string(where) + ": not canonical standard padded base64");
  }
  return b;
}

}  // namespace arca::tlog
