#include "base/json.h"

#include <algorithm>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

namespace arca {
namespace {

// Orders keys by UTF-16 code units, as RFC 8785 §3.2.3 requires. For BMP
// characters this equals code point order; supplementary characters (4-byte
// UTF-8) sort as surrogates, i.e. before U+E000..U+FFFF.
std::u16string ToUtf16(const std::string& s) {
  std::u16string out;
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::uint32_t cp;
    int n;
    if (c < 0x80) { cp = c; n = 1; }
    else if ((c >> 5) == 6) { cp = c & 0x1f; n = 2; }
    else if ((c >> 4) == 14) { cp = c & 0x0f; n = 3; }
    else { cp = c & 0x07; n = 4; }
    for (int k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(char16_t(0xd800 + (cp >> 10)));
      out.push_back(char16_t(0xdc00 + (cp & 0x3ff)));
    } else {
      out.push_back(char16_t(cp));
    }
  }
  return out;
}

void AppendString(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
}

constexpr std::int64_t kMaxSafeInteger = (std::int64_t(1) << 53);

Status Append(std::string& out, const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: out += "null"; return Status::Ok();
    case Json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; return Status::Ok();
    case Json::value_t::number_integer: {
      std::int64_t n = v.get<std::int64_t>();
      if (n > kMaxSafeInteger || n < -kMaxSafeInteger) return InvalidArgumentError("integer outside ±2^53 cannot be canonicalized");
      out += std::to_string(n);
      return Status::Ok();
    }
    case Json::value_t::number_unsigned: {
      std::uint64_t n = v.get<std::uint64_t>();
      if (n > std::uint64_t(kMaxSafeInteger)) return InvalidArgumentError("integer above 2^53 cannot be canonicalized");
      out += std::to_string(n);
      return Status::Ok();
    }
    case Json::value_t::number_float: return InvalidArgumentError("non-integer numbers are not allowed in canonical documents");
    case Json::value_t::string: AppendString(out, v.get_ref<const std::string&>()); return Status::Ok();
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ',';
        first = false;
        ARCA_RETURN_IF_ERROR(Append(out, e));
      }
      out += ']';
      return Status::Ok();
    }
    case Json::value_t::object: {
      std::vector<std::pair<std::u16string, const std::string*>> keys;
      keys.reserve(v.size());
      for (auto it = v.begin(); it != v.end(); ++it) keys.emplace_back(ToUtf16(it.key()), &it.key());
      std::sort(keys.begin(), keys.end());
      out += '{';
      bool first = true;
      for (const auto& [k16, k] : keys) {
        if (!first) out += ',';
        first = false;
        AppendString(out, *k);
        out += ':';
        ARCA_RETURN_IF_ERROR(Append(out, v.at(*k)));
      }
      out += '}';
      return Status::Ok();
    }
    default: return InvalidArgumentError("value type cannot be canonicalized");
  }
}

// nlohmann's messages quote the token being read ("; last read: '...'"),
// i.e. bytes of the document, which may be a secret: cut that part out.
std::string WithoutLastRead(std::string message) {
  static constexpr std::string_view kLastRead = "; last read: '";
  static constexpr std::string_view kExpected = "'; expected ";
  auto start = message.find(kLastRead);
  if (start == std::string::npos) return message;
  auto expected = message.rfind(kExpected);
  if (expected != std::string::npos && expected >= start + kLastRead.size()) {
    message.erase(start, expected + 1 - start);  // keep "; expected ..."
  } else {
    message.erase(start);
  }
  return message;
}

std::string FieldPath(std::string_view where, std::string_view field) {
  std::string s(where);
  s += ".";
  s += field;
  return s;
}

}  // namespace

Result<Json> ParseJson(std::string_view text, std::string_view what, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return ResourceExhaustedError(std::string(what) + " is " + std::to_string(text.size()) +
                                  " bytes, over the limit of " + std::to_string(limits.max_bytes));
  }
  // nlohmann stops at a NUL byte and ignores what follows, so "{}\0{...}"
  // would parse as "{}" here and as something else elsewhere: one byte
  // string must mean one document. JSON never allows a raw NUL.
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    return InvalidArgumentError(std::string(what) + ": NUL byte at offset " + std::to_string(nul) + " (not valid JSON)");
  }
  // RFC 8259 §8.1: a byte order mark MUST NOT be added; refuse rather than
  // ignore it, so signed documents have a single byte form.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    return InvalidArgumentError(std::string(what) + ": starts with a UTF-8 byte order mark (not allowed)");
  }
  // The callback sees every key before it is stored: track the keys of each
  // open object to refuse duplicates, and refuse excessive depth early.
  std::vector<std::set<std::string>> open_keys;
  std::string problem;
  StatusCode problem_code = StatusCode::kInvalidArgument;
  auto cb = [&](int depth, Json::parse_event_t event, Json& parsed) -> bool {
    if (!problem.empty()) return false;
    // `depth` counts the containers enclosing the event's value, so a new
    // container's own nesting level is depth + 1. Checking only at container
    // starts keeps "[[]]" and "[[1]]" at the same depth (2).
    bool opens = event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start;
    if (opens && depth + 1 > limits.max_depth) {
      problem = "nesting deeper than " + std::to_string(limits.max_depth);
      problem_code = StatusCode::kResourceExhausted;
      throw std::runtime_error("depth");
    }
    switch (event) {
      case Json::parse_event_t::object_start: open_keys.emplace_back(); break;
      case Json::parse_event_t::object_end:
        if (!open_keys.empty()) open_keys.pop_back();
        break;
      case Json::parse_event_t::key: {
        const auto& k = parsed.get_ref<const std::string&>();
        if (!open_keys.empty() && !open_keys.back().insert(k).second) {
          problem = "duplicate key \"" + k.substr(0, 64) + "\"";
          throw std::runtime_error("dup");
        }
        break;
      }
      default: break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const Json::parse_error& e) {
    // e.byte is the 1-based position of the offending byte.
    return InvalidArgumentError(std::string(what) + ": JSON syntax error at byte " + std::to_string(e.byte) + ": " +
                                WithoutLastRead(e.what()).substr(0, 160));
  } catch (const std::exception& e) {
    if (!problem.empty()) return Status(problem_code, std::string(what) + ": " + problem);
    return InvalidArgumentError(std::string(what) + ": invalid JSON: " + std::string(e.what()).substr(0, 160));
  }
}

Result<std::string> CanonicalJson(const Json& value) {
  std::string out;
  ARCA_RETURN_IF_ERROR(Append(out, value));
  return out;
}

Result<std::string> RequireString(const Json& obj, std::string_view field, std::string_view where) {
  auto it = obj.find(field);
  if (it == obj.end() || !it->is_string()) {
    return InvalidArgumentError(FieldPath(where, field) + " must be a string");
  }
  return it->get<std::string>();
}

Result<std::uint64_t> RequireUint(const Json& obj, std::string_view field, std::string_view where,
                                  std::uint64_t max) {
  auto it = obj.find(field);
  if (it == obj.end() || !it->is_number_integer()) {
    return InvalidArgumentError(FieldPath(where, field) + " must be an integer");
  }
  if (it->is_number_unsigned()) {
    std::uint64_t v = it->get<std::uint64_t>();
    if (v > max) return InvalidArgumentError(FieldPath(where, field) + " is " + std::to_string(v) + ", above the maximum " + std::to_string(max));
    return v;
  }
  std::int64_t v = it->get<std::int64_t>();
  if (v < 0) return InvalidArgumentError(FieldPath(where, field) + " must not be negative");
  if (std::uint64_t(v) > max) return InvalidArgumentError(FieldPath(where, field) + " is " + std::to_string(v) + ", above the maximum " + std::to_string(max));
  return std::uint64_t(v);
}

Result<const Json*> RequireArray(const Json& obj, std::string_view field, std::string_view where) {
  auto it = obj.find(field);
  if (it == obj.end() || !it->is_array()) return InvalidArgumentError(FieldPath(where, field) + " must be an array");
  return &*it;
}

Result<const Json*> RequireObject(const Json& obj, std::string_view field, std::string_view where) {
  auto it = obj.find(field);
  if (it == obj.end() || !it->is_object()) return InvalidArgumentError(FieldPath(where, field) + " must be an object");
  return &*it;
}

Status RejectUnknownFields(const Json& obj, std::initializer_list<std::string_view> allowed, std::string_view where) {
  if (!obj.is_object()) return InvalidArgumentError(std::string(where) + " must be an object");
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
      return InvalidArgumentError(std::string(where) + " has unknown field \"" + it.key().substr(0, 64) + "\"");
    }
  }
  return Status::Ok();
}

}  // namespace arca
