#include "tlog/entries.h"

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "base/json.h"

namespace arca::tlog {
namespace {

constexpr std::size_t kMaxListItems = 64;
constexpr std::size_t kMaxTextBytes = 256;

bool IsDigest(std::string_view d) {
  if (d.size() != 71 || d.substr(0, 7) != "sha256:") return false;
  for (char c : d.substr(7)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsHexText(std::string_view s) {
  if (s.empty() || s.size() > kMaxTextBytes) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsPlainText(std::string_view s) {
  if (s.empty() || s.size() > kMaxTextBytes) return false;
  for (unsigned char c : s) {
    if (c < 0x21 || c > 0x7e) return false;  // printable ASCII, no space
  }
  return true;
}

enum class Type { kDigest, kOptDigest, kText, kHex, kUint, kOptUint, kKeyIds, kDigests };

struct Field {
  const char* name;
  Type type;
};

// The fields each kind carries beyond v, kind, namespace, time.
const std::map<std::string, std::vector<Field>, std::less<>>& Kinds() {
  static const auto* kinds = new std::map<std::string, std::vector<Field>, std::less<>>{
      {std::string(kEntryPublish),
       {{"repository", Type::kText}, {"manifest", Type::kDigest}, {"package", Type::kOptDigest},
        {"name", Type::kText}, {"version", Type::kText}, {"signers", Type::kKeyIds},
        {"provenance", Type::kDigests}, {"policy", Type::kOptDigest}, {"policy_version", Type::kOptUint},
        {"parent", Type::kOptDigest}}},
      {std::string(kEntryTag),
       {{"repository", Type::kText}, {"tag", Type::kText}, {"manifest", Type::kDigest}, {"previous", Type::kOptDigest}}},
      {std::string(kEntryPolicy),
       {{"repository", Type::kText}, {"package", Type::kDigest}, {"policy", Type::kDigest},
        {"policy_version", Type::kUint}}},
      {std::string(kEntryRoot), {{"root", Type::kDigest}, {"root_version", Type::kUint}, {"previous", Type::kOptDigest}}},
      {std::string(kEntryKeyRelease),
       {{"repository", Type::kText}, {"manifest", Type::kDigest}, {"measurement", Type::kHex},
        {"platform", Type::kText}, {"evidence", Type::kDigest}, {"recipient", Type::kDigest}}},
  };
  return *kinds;
}

// Accessors between LogEntry members and field names.
std::string* TextMember(LogEntry& e, std::string_view n) {
  if (n == "repository") return &e.repository;
  if (n == "manifest") return &e.manifest;
  if (n == "package") return &e.package;
  if (n == "name") return &e.name;
  if (n == "version") return &e.version;
  if (n == "policy") return &e.policy;
  if (n == "parent") return &e.parent;
  if (n == "tag") return &e.tag;
  if (n == "previous") return &e.previous;
  if (n == "root") return &e.root;
  if (n == "measurement") return &e.measurement;
  if (n == "platform") return &e.platform;
  if (n == "evidence") return &e.evidence;
  if (n == "recipient") return &e.recipient;
  return nullptr;
}
std::optional<std::uint64_t>* UintMember(LogEntry& e, std::string_view n) {
  if (n == "policy_version") return &e.policy_version;
  if (n == "root_version") return &e.root_version;
  return nullptr;
}
std::vector<std::string>* ListMember(LogEntry& e, std::string_view n) {
  if (n == "signers") return &e.signers;
  if (n == "provenance") return &e.provenance;
  return nullptr;
}

Status Bad(std::string_view field, std::string_view why) {
  return InvalidArgumentError("log entry: field \"" + std::string(field) + "\" " + std::string(why));
}

// Check verifies every member against the kind's table: used members
// well-formed, unused members empty.
Status Check(const LogEntry& in) {
  LogEntry e = in;
  auto kind = Kinds().find(e.kind);
  if (kind == Kinds().end()) return Bad("kind", "is not publish, tag, policy, root or key-release");
  if (!IsPlainText(e.ns)) return Bad("namespace", "must be 1..256 printable characters");
  if (e.time < 0) return Bad("time", "must not be negative");
  std::set<std::string_view> used;
  for (const Field& f : kind->second) {
    used.insert(f.name);
    switch (f.type) {
      case Type::kDigest:
        if (!IsDigest(*TextMember(e, f.name))) return Bad(f.name, "must be sha256:<64 lower-case hex>");
        break;
      case Type::kOptDigest:
        if (!TextMember(e, f.name)->empty() && !IsDigest(*TextMember(e, f.name))) {
          return Bad(f.name, "must be null or sha256:<64 lower-case hex>");
        }
        break;
      case Type::kText:
        if (!IsPlainText(*TextMember(e, f.name))) return Bad(f.name, "must be 1..256 printable characters");
        break;
      case Type::kHex:
        if (!IsHexText(*TextMember(e, f.name))) return Bad(f.name, "must be lower-case hex");
        break;
      case Type::kUint:
        if (!UintMember(e, f.name)->has_value()) return Bad(f.name, "is required");
        break;
      case Type::kOptUint:
        break;
      case Type::kKeyIds:
      case Type::kDigests: {
        const auto& list = *ListMember(e, f.name);
        if (list.size() > kMaxListItems) return Bad(f.name, "has more than 64 items");
        for (const auto& item : list) {
          bool ok = f.type == Type::kDigests ? IsDigest(item) : IsHexText(item);
          if (!ok) return Bad(f.name, f.type == Type::kDigests ? "has an item that is not a digest" : "has an item that is not a hex key ID");
        }
        break;
      }
    }
  }
  for (const char* n : {"repository", "manifest", "package", "name", "version", "policy", "parent", "tag", "previous",
                        "root", "measurement", "platform", "evidence", "recipient"}) {
    if (!used.count(n) && !TextMember(e, n)->empty()) return Bad(n, "is not a field of a " + e.kind + " entry");
  }
  for (const char* n : {"policy_version", "root_version"}) {
    if (!used.count(n) && UintMember(e, n)->has_value()) return Bad(n, "is not a field of a " + e.kind + " entry");
  }
  for (const char* n : {"signers", "provenance"}) {
    if (!used.count(n) && !ListMember(e, n)->empty()) return Bad(n, "is not a field of a " + e.kind + " entry");
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> EncodeLogEntry(const LogEntry& in) {
  ARCA_RETURN_IF_ERROR(Check(in));
  LogEntry e = in;
  Json j = {{"v", 1}, {"kind", e.kind}, {"namespace", e.ns}, {"time", e.time}};
  for (const Field& f : Kinds().find(e.kind)->second) {
    switch (f.type) {
      case Type::kDigest:
      case Type::kText:
      case Type::kHex:
        j[f.name] = *TextMember(e, f.name);
        break;
      case Type::kOptDigest:
        j[f.name] = TextMember(e, f.name)->empty() ? Json(nullptr) : Json(*TextMember(e, f.name));
        break;
      case Type::kUint:
      case Type::kOptUint:
        j[f.name] = UintMember(e, f.name)->has_value() ? Json(**UintMember(e, f.name)) : Json(nullptr);
        break;
      case Type::kKeyIds:
      case Type::kDigests:
        j[f.name] = *ListMember(e, f.name);
        break;
    }
  }
  ARCA_ASSIGN_OR_RETURN(std::string out, CanonicalJson(j));
  if (out.size() > kMaxEntryJsonBytes) return ResourceExhaustedError("log entry is over 16 KiB");
  return out;
}

Result<LogEntry> ParseLogEntry(std::string_view bytes) {
  if (bytes.size() > kMaxEntryJsonBytes) return ResourceExhaustedError("log entry is over 16 KiB");
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(bytes, "log entry"));
  if (!j.is_object()) return InvalidArgumentError("log entry: not a JSON object");
  ARCA_ASSIGN_OR_RETURN(std::uint64_t v, RequireUint(j, "v", "log entry"));
  if (v != 1) return Bad("v", "must be 1");
  LogEntry e;
  ARCA_ASSIGN_OR_RETURN(e.kind, RequireString(j, "kind", "log entry"));
  auto kind = Kinds().find(e.kind);
  if (kind == Kinds().end()) return Bad("kind", "is not publish, tag, policy, root or key-release");
  ARCA_ASSIGN_OR_RETURN(e.ns, RequireString(j, "namespace", "log entry"));
  ARCA_ASSIGN_OR_RETURN(std::uint64_t t, RequireUint(j, "time", "log entry", INT64_MAX));
  e.time = UnixSeconds(t);
  if (j.size() != 4 + kind->second.size()) return InvalidArgumentError("log entry: a " + e.kind + " entry has " +
                                                                       std::to_string(4 + kind->second.size()) + " fields, not " +
                                                                       std::to_string(j.size()));
  for (const Field& f : kind->second) {
    if (!j.contains(f.name)) return Bad(f.name, "is missing");
    const Json& x = j[f.name];
    bool nullable = f.type == Type::kOptDigest || f.type == Type::kOptUint;
    if (x.is_null() && nullable) continue;
    switch (f.type) {
      case Type::kDigest:
      case Type::kOptDigest:
      case Type::kText:
      case Type::kHex:
        if (!x.is_string()) return Bad(f.name, "must be a string");
        *TextMember(e, f.name) = x.get<std::string>();
        break;
      case Type::kUint:
      case Type::kOptUint: {
        ARCA_ASSIGN_OR_RETURN(std::uint64_t n, RequireUint(j, f.name, "log entry", INT64_MAX));
        *UintMember(e, f.name) = n;
        break;
      }
      case Type::kKeyIds:
      case Type::kDigests: {
        if (!x.is_array()) return Bad(f.name, "must be an array");
        if (x.size() > kMaxListItems) return Bad(f.name, "has more than 64 items");
        for (const auto& item : x) {
          if (!item.is_string()) return Bad(f.name, "must hold strings");
          ListMember(e, f.name)->push_back(item.get<std::string>());
        }
        break;
      }
    }
  }
  // Absent optional strings are null on the wire; an explicit empty string
  // would encode differently, so only the canonical bytes are accepted.
  ARCA_ASSIGN_OR_RETURN(std::string canonical, EncodeLogEntry(e));
  if (canonical != bytes) return InvalidArgumentError("log entry: not the canonical encoding (RFC 8785) of its content");
  return e;
}

}  // namespace arca::tlog
