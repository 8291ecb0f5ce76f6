#include "base/bytes.h"

#include <openssl/crypto.h>

namespace arca {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::string HexEncode(ByteSpan data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(data.size() * 2, '\0');
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

bool IsLowerHex(std::string_view s, std::size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return InvalidArgumentError("hex string has odd length " + std::to_string(hex.size()));
  }
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexValue(hex[i]), lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return InvalidArgumentError("non-hex character at offset " + std::to_string(hi < 0 ? i : i + 1));
    }
    out[i / 2] = std::uint8_t(hi << 4 | lo);
  }
  return out;
}

std::string Base64Encode(ByteSpan data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    std::uint32_t v = std::uint32_t(data[i]) << 16 | std::uint32_t(data[i + 1]) << 8 | data[i + 2];
    out += kStd[v >> 18];
    out += kStd[(v >> 12) & 63];
    out += kStd[(v >> 6) & 63];
    out += kStd[v & 63];
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    std::uint32_t v = std::uint32_t(data[i]) << 16;
    out += kStd[v >> 18];
    out += kStd[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    std::uint32_t v = std::uint32_t(data[i]) << 16 | std::uint32_t(data[i + 1]) << 8;
    out += kStd[v >> 18];
    out += kStd[(v >> 12) & 63];
    out += kStd[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<Bytes> Base64Decode(std::string_view text) {
  // Strip padding (at most two '='), then decide the alphabet from the
  // characters present; mixing '+'/'/' with '-'/'_' is refused.
  size_t len = text.size();
  size_t pad = 0;
  while (len > 0 && text[len - 1] == '=' && pad < 2) {
    --len;
    ++pad;
  }
  if (pad > 0 && text.size() % 4 != 0) {
    return InvalidArgumentError("base64 padding does not complete a 4-character group");
  }
  if (len % 4 == 1) return InvalidArgumentError("base64 text has an impossible length " + std::to_string(text.size()));
  bool saw_std = false, saw_url = false;
  Bytes out;
  out.reserve(len * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; ++i) {
    char c = text[i];
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '/') { v = c == '+' ? 62 : 63; saw_std = true; }
    else if (c == '-' || c == '_') { v = c == '-' ? 62 : 63; saw_url = true; }
    else return InvalidArgumentError("invalid base64 character at offset " + std::to_string(i));
    if (saw_std && saw_url) return InvalidArgumentError("base64 mixes standard and URL-safe alphabets at offset " + std::to_string(i));
    acc = (acc << 6) | std::uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(std::uint8_t(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return InvalidArgumentError("base64 text has non-zero trailing bits");
  return out;
}

bool ConstantTimeEquals(ByteSpan a, ByteSpan b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace arca
