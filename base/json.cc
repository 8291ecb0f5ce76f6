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

// StrictDomBuilder is a SAX handler that builds the document and refuses
// duplicate keys and excessive nesting as it goes. It replaces nlohmann's
// callback parser, which after every closed container rescans its parent
// for discarded values: O(n^2) on an array of n objects (a 100k-chunk
// manifest took 1.8 s to parse instead of 0.2 s).
class StrictDomBuilder {
 public:
  explicit StrictDomBuilder(int max_depth) : max_depth_(max_depth) {}

  bool null() { return Put(nullptr); }
  bool boolean(bool v) { return Put(v); }
  bool number_integer(Json::number_integer_t v) { return Put(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return Put(v); }
  bool number_float(Json::number_float_t v, const std::string&) { return Put(v); }
  bool string(std::string& v) { return Put(std::move(v)); }
  bool binary(Json::binary_t& v) { return Put(Json::binary(std::move(v))); }
  bool start_object(std::size_t) { return Open(Json::object()); }
  bool key(std::string& k) {
    // Objects are std::map: a lookup per key, no separate key set needed.
    if (stack_.back()->contains(k)) {
      return Fail(StatusCode::kInvalidArgument, "duplicate key \"" + k.substr(0, 64) + "\"");
    }
    key_ = std::move(k);
    return true;
  }
  bool end_object() { return Close(); }
  bool start_array(std::size_t) { return Open(Json::array()); }
  bool end_array() { return Close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    syntax_error_ = true;
    error_byte_ = position;
    return Fail(StatusCode::kInvalidArgument, WithoutLastRead(e.what()).substr(0, 160));
  }

  bool syntax_error() const { return syntax_error_; }
  std::size_t error_byte() const { return error_byte_; }
  const std::string& problem() const { return problem_; }
  StatusCode problem_code() const { return problem_code_; }
  Json Take() && { return std::move(root_); }

 private:
  // Put stores a value in the innermost open container (or as the root).
  // Pointers to open containers stay valid: nothing is appended to a
  // container's parent while it is open, and object members never move.
  Json* Insert(Json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json& top = *stack_.back();
    if (top.is_array()) {
      top.push_back(std::move(v));
      return &top.back();
    }
    Json& slot = top[key_];
    slot = std::move(v);
    return &slot;
  }
  bool Put(Json v) {
    Insert(std::move(v));
    return true;
  }
  bool Open(Json container) {
    // A container's own nesting level counts itself: "[[]]" is depth 2.
    if (int(stack_.size()) + 1 > max_depth_) {
      return Fail(StatusCode::kResourceExhausted, "nesting deeper than " + std::to_string(max_depth_));
    }
    stack_.push_back(Insert(std::move(container)));
    return true;
  }
  bool Close() {
    stack_.pop_back();
    return true;
  }
  bool Fail(StatusCode code, std::string message) {
    if (problem_.empty()) {
      problem_ = std::move(message);
      problem_code_ = code;
    }
    return false;
  }

  int max_depth_;
  Json root_;
  std::vector<Json*> stack_;
  std::string key_;
  std::string problem_;
  StatusCode problem_code_ = StatusCode::kInvalidArgument;
  bool syntax_error_ = false;
  std::size_t error_byte_ = 0;
};

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
  StrictDomBuilder builder(limits.max_depth);
  bool ok = false;
  try {
    ok = Json::sax_parse(text.begin(), text.end(), &builder, nlohmann::detail::input_format_t::json,
                         /*strict=*/true, /*ignore_comments=*/false);
  } catch (const std::exception& e) {
    // sax_parse reports through parse_error; anything thrown is a bug or
    // out-of-memory, reported without document bytes.
    return InvalidArgumentError(std::string(what) + ": invalid JSON: " + WithoutLastRead(e.what()).substr(0, 160));
  }
  if (!ok) {
    if (builder.syntax_error()) {
      return InvalidArgumentError(std::string(what) + ": JSON syntax error at byte " +
                                  std::to_string(builder.error_byte()) + ": " + builder.problem());
    }
    return Status(builder.problem_code(), std::string(what) + ": " + builder.problem());
  }
  return std::move(builder).Take();
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
