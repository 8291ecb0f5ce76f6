#include "attest/snp_cert_table.h"

#include <algorithm>

#include "attest/internal/x509.h"

namespace arca::attest {
namespace {

constexpr std::size_t kEntrySize = 24;
constexpr std::size_t kMaxEntries = 16;

// GUID bytes -> text: the first three fields are little-endian.
std::string GuidText(const std::uint8_t* g) {
  static const int kOrder[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += HexEncode(ByteSpan(g + kOrder[i], 1));
  }
  return s;
}

Result<std::array<std::uint8_t, 16>> GuidBytes(const std::string& text) {
  std::string hex;
  for (char c : text)
    if (c != '-') hex += c;
  if (text.size() != 36 || hex.size() != 32) return InvalidArgumentError("SNP certificate table GUID: expected 8-4-4-4-12 hex, got \"" + internal::Printable(std::string_view(text).substr(0, 40)) + "\"");
  ARCA_ASSIGN_OR_RETURN(Bytes b, HexDecode(hex));
  static const int kOrder[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  std::array<std::uint8_t, 16> g{};
  for (int i = 0; i < 16; ++i) g[kOrder[i]] = b[i];
  return g;
}

std::string KindOf(const std::string& guid) {
  if (guid == kSnpGuidVcek) return "vcek";
  if (guid == kSnpGuidVlek) return "vlek";
  if (guid == kSnpGuidAsk) return "ask";
  if (guid == kSnpGuidArk) return "ark";
  return "unknown";
}

}  // namespace

Result<std::vector<SnpCertEntry>> ParseSnpCertTable(ByteSpan d) {
  if (d.size() > kMaxSnpCertTableBytes) {
    return ResourceExhaustedError("SNP certificate table: " + std::to_string(d.size()) + " bytes exceeds the limit of " +
                                  std::to_string(kMaxSnpCertTableBytes));
  }
  std::vector<SnpCertEntry> out;
  if (d.empty()) return out;
  struct Span {
    std::size_t off, len;
  };
  std::vector<Span> spans;
  for (std::size_t i = 0;; ++i) {
    std::string where = "SNP certificate table entry " + std::to_string(i);
    if (d.size() < (i + 1) * kEntrySize) {
      return InvalidArgumentError(where + ": expected 24 bytes at offset " + std::to_string(i * kEntrySize) +
                                  " (no terminating zero entry), got " + std::to_string(d.size() - i * kEntrySize));
    }
    const std::uint8_t* e = d.data() + i * kEntrySize;
    if (std::all_of(e, e + kEntrySize, [](std::uint8_t b) { return b == 0; })) break;
    if (i == kMaxEntries) return InvalidArgumentError("SNP certificate table: more than 16 entries");
    std::size_t off = LoadLe32(e + 16), len = LoadLe32(e + 20);
    if (len == 0 || off > d.size() || len > d.size() - off) {
      return InvalidArgumentError(where + ": offset " + std::to_string(off) + " length " + std::to_string(len) +
                                  " expected a non-empty range within the " + std::to_string(d.size()) + "-byte table");
    }
    SnpCertEntry c;
    c.guid = GuidText(e);
    c.kind = KindOf(c.guid);
    for (const auto& prev : out)
      if (prev.guid == c.guid) return InvalidArgumentError(where + ": duplicate GUID " + c.guid);
    c.der.assign(d.begin() + off, d.begin() + off + len);
    spans.push_back({off, len});
    out.push_back(std::move(c));
  }
  std::size_t entries_end = (out.size() + 1) * kEntrySize;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (spans[i].off < entries_end) {
      return InvalidArgumentError("SNP certificate table entry " + std::to_string(i) + ": offset " +
                                  std::to_string(spans[i].off) + " expected at or after the entry array end " +
                                  std::to_string(entries_end));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (spans[i].off < spans[j].off + spans[j].len && spans[j].off < spans[i].off + spans[i].len) {
        return InvalidArgumentError("SNP certificate table entries " + std::to_string(j) + " and " + std::to_string(i) +
                                    ": certificates overlap");
      }
    }
  }
  return out;
}

Result<Bytes> SerializeSnpCertTable(const std::vector<SnpCertEntry>& entries) {
  Bytes out((entries.size() + 1) * kEntrySize, 0);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    ARCA_ASSIGN_OR_RETURN(auto g, GuidBytes(entries[i].guid));
    std::uint8_t* e = out.data() + i * kEntrySize;
    std::copy(g.begin(), g.end(), e);
    StoreLe32(e + 16, std::uint32_t(out.size()));
    StoreLe32(e + 20, std::uint32_t(entries[i].der.size()));
    out.insert(out.end(), entries[i].der.begin(), entries[i].der.end());
  }
  return out;
}

}  // namespace arca::attest
