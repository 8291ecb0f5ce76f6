// The SEV-SNP certificate table (GHCB specification rev. 2.03, §4.1.8.1
// "SNP Extended Guest Request", certificate table): what the host hands a
// guest next to its report, and what Linux configfs-tsm returns as the SNP
// `auxblob`. Layout: entries of { GUID (16 bytes, RFC 4122 binary form with
// the first three fields little-endian, as EFI_GUID), offset u32le, length
// u32le } ended by an all-zero entry; offsets count from the start of the
// table and point at DER certificates.
//
// What this protects: nothing; the certificates it yields are untrusted
// until the SNP verifier chains them to a pinned root.
#ifndef ARCA_ATTEST_SNP_CERT_TABLE_H_
#define ARCA_ATTEST_SNP_CERT_TABLE_H_

#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace arca::attest {

// kMaxSnpCertTableBytes bounds a table (ResourceExhausted above).
inline constexpr std::size_t kMaxSnpCertTableBytes = 64 * 1024;

// SnpCertEntry is one certificate of the table.
struct SnpCertEntry {
  std::string guid;  // canonical lower-case text, "63da758d-e664-4564-adc5-f4b93be8accd"
  std::string kind;  // "vcek", "vlek", "ask", "ark" or "unknown"
  Bytes der;
};

// The GUIDs AMD assigns to each certificate kind.
inline constexpr char kSnpGuidVcek[] = "63da758d-e664-4564-adc5-f4b93be8accd";
inline constexpr char kSnpGuidVlek[] = "a8074bc2-a25a-483e-aae6-39c045a0b8a1";
inline constexpr char kSnpGuidAsk[] = "4ab7b379-bbac-4fe4-a02f-05aef327c782";
inline constexpr char kSnpGuidArk[] = "c0b406a4-a803-4952-9743-3fb6014cd0ae";

// ParseSnpCertTable reads a table strictly: every entry within the input,
// offsets past the entry array, no overlapping certificates, a terminating
// zero entry, at most 16 entries, no duplicate GUID. An empty input is an
// empty table (the host supplied no certificates). InvalidArgument naming
// the entry and field; ResourceExhausted above kMaxSnpCertTableBytes.
Result<std::vector<SnpCertEntry>> ParseSnpCertTable(ByteSpan data);

// SerializeSnpCertTable writes entries in order (GUID text as above).
// InvalidArgument for a malformed GUID.
Result<Bytes> SerializeSnpCertTable(const std::vector<SnpCertEntry>& entries);

}  // namespace arca::attest

#endif  // ARCA_ATTEST_SNP_CERT_TABLE_H_
