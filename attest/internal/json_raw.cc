#include "attest/internal/json_raw.h"

#include <string>

namespace arca::attest::internal {
namespace {

bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// SkipString: s[i] == '"'; returns the index after the closing quote.
bool SkipString(std::string_view s, std::size_t* i) {
  ++*i;
  while (*i < s.size()) {
    char c = s[*i];
    if (c == '\\') {
      *i += 2;
      continue;
    }
    ++*i;
    if (c == '"') return true;
  }
  return false;
}

// SkipValue advances over one JSON value starting at s[*i].
bool SkipValue(std::string_view s, std::size_t* i) {
  if (*i >= s.size()) return false;
  char c = s[*i];
  if (c == '"') return SkipString(s, i);
  if (c == '{' || c == '[') {
    int depth = 0;
    while (*i < s.size()) {
      char d = s[*i];
      if (d == '"') {
        if (!SkipString(s, i)) return false;
        continue;
      }
      if (d == '{' || d == '[') ++depth;
      if (d == '}' || d == ']') {
        --depth;
        if (depth == 0) {
          ++*i;
          return true;
        }
      }
      ++*i;
    }
    return false;
  }
  while (*i < s.size() && s[*i] != ',' && s[*i] != '}' && s[*i] != ']' && !IsWs(s[*i])) ++*i;
  return true;
}

}  // namespace

Result<std::string_view> RawJsonMember(std::string_view s, std::string_view key) {
  std::size_t i = 0;
  auto ws = [&] {
    while (i < s.size() && IsWs(s[i])) ++i;
  };
  ws();
  if (i >= s.size() || s[i] != '{') return InvalidArgumentError("JSON: expected an object");
  ++i;
  while (true) {
    ws();
    if (i >= s.size() || s[i] != '"') break;
    std::size_t kstart = i + 1;
    if (!SkipString(s, &i)) break;
    std::string_view k = s.substr(kstart, i - 1 - kstart);
    ws();
    if (i >= s.size() || s[i] != ':') break;
    ++i;
    ws();
    std::size_t vstart = i;
    if (!SkipValue(s, &i)) break;
    if (k == key) return s.substr(vstart, i - vstart);
    ws();
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    break;
  }
  return InvalidArgumentError("JSON: member \"" + std::string(key) + "\" not found at the top level");
}

}  // namespace arca::attest::internal
