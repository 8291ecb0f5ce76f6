// AMD SEV-SNP attestation reports (SEV-SNP ABI specification, rev. 1.55+,
// §7.3 "ATTESTATION_REPORT Structure", Table 22): parser, policy and TCB
// decoding, and verification of the report signature, the VCEK/VLEK chain to
// a pinned ARK and the VCEK's TCB and hwID extensions against the report.
//
// What this protects: a verified report was produced by AMD firmware whose
// signing key (VCEK: per chip and per TCB; VLEK: per cloud provider) was
// certified by AMD, for a guest with exactly these measurement, policy, host
// data and report data. What it does not protect: whether the measurement or
// policy is acceptable (the release policy decides), replay of an old report
// (the caller binds a fresh nonce into REPORT_DATA), or a compromised
// firmware version that AMD has not yet replaced (TCB values are reported, so
// a policy can demand a minimum).
#ifndef ARCA_ATTEST_SNP_H_
#define ARCA_ATTEST_SNP_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include <openssl/x509.h>

#include "attest/roots.h"
#include "attest/verdict.h"
#include "base/bytes.h"
#include "base/status.h"

namespace arca::attest {

// kSnpReportSize is the exact length of an attestation report.
inline constexpr std::size_t kSnpReportSize = 1184;
// kSnpSignedSize is the length of the signed prefix (0x000..0x29F).
inline constexpr std::size_t kSnpSignedSize = 0x2A0;
// kSnpSignatureReservedOffset starts the reserved tail of the 512-byte
// signature field (after R and S, 72 bytes each); it must be zero.
inline constexpr std::size_t kSnpSignatureReservedOffset = 0x330;

// SnpTcb is a decoded TCB_VERSION. Milan and Genoa place BOOT_LOADER, TEE,
// SNP and MICROCODE in bytes 0, 1, 6, 7; Turin places FMC, BOOT_LOADER, TEE,
// SNP in bytes 0..3 and MICROCODE in byte 7.
struct SnpTcb {
  std::uint64_t raw = 0;
  bool turin_layout = false;
  std::uint8_t fmc = 0;  // Turin only
  std::uint8_t bootloader = 0;
  std::uint8_t tee = 0;
  std::uint8_t snp = 0;
  std::uint8_t microcode = 0;
};

// DecodeSnpTcb splits a TCB_VERSION by layout.
SnpTcb DecodeSnpTcb(std::uint64_t raw, bool turin_layout);

// SnpPolicy is the decoded guest POLICY (ABI spec Table 10).
struct SnpPolicy {
  std::uint64_t raw = 0;
  std::uint8_t abi_minor = 0;
  std::uint8_t abi_major = 0;
  bool smt = false;             // bit 16: SMT allowed
  bool reserved_bit17 = false;  // bit 17: must be one
  bool migrate_ma = false;      // bit 18: migration agent allowed
  bool debug = false;           // bit 19: debugging allowed
  bool single_socket = false;   // bit 20
  bool cxl_allow = false;       // bit 21
  bool mem_aes_256_xts = false; // bit 22
  bool rapl_dis = false;        // bit 23
  bool ciphertext_hiding = false;  // bit 24
  bool page_swap_disable = false;  // bit 25
};

// DecodeSnpPolicy decodes the bits above.
SnpPolicy DecodeSnpPolicy(std::uint64_t raw);

// SnpReport is a parsed attestation report; every field of Table 22.
struct SnpReport {
  std::uint32_t version = 0;
  std::uint32_t guest_svn = 0;
  SnpPolicy policy;
  std::array<std::uint8_t, 16> family_id{};
  std::array<std::uint8_t, 16> image_id{};
  std::uint32_t vmpl = 0;
  std::uint32_t signature_algo = 0;
  std::uint64_t current_tcb = 0;
  std::uint64_t platform_info = 0;
  bool author_key_en = false;
  bool mask_chip_key = false;
  std::uint32_t signing_key = 0;  // 0 VCEK, 1 VLEK, 7 none
  std::array<std::uint8_t, 64> report_data{};
  std::array<std::uint8_t, 48> measurement{};
  std::array<std::uint8_t, 32> host_data{};
  std::array<std::uint8_t, 48> id_key_digest{};
  std::array<std::uint8_t, 48> author_key_digest{};
  std::array<std::uint8_t, 32> report_id{};
  std::array<std::uint8_t, 32> report_id_ma{};
  std::uint64_t reported_tcb = 0;
  std::uint8_t cpuid_fam_id = 0;  // version >= 3
  std::uint8_t cpuid_mod_id = 0;
  std::uint8_t cpuid_step = 0;
  std::array<std::uint8_t, 64> chip_id{};
  std::uint64_t committed_tcb = 0;
  std::uint8_t current_build = 0, current_minor = 0, current_major = 0;
  std::uint8_t committed_build = 0, committed_minor = 0, committed_major = 0;
  std::uint64_t launch_tcb = 0;
  std::array<std::uint8_t, 72> signature_r{};  // little-endian, as stored
  std::array<std::uint8_t, 72> signature_s{};
  Bytes raw;  // the 1184 bytes

  // signed_bytes is raw[0x000..0x2A0).
  ByteSpan signed_bytes() const { return ByteSpan(raw).first(kSnpSignedSize); }
  // IsTurinLayout: version >= 3 and CPUID family 0x1A.
  bool IsTurinLayout() const { return version >= 3 && cpuid_fam_id == 0x1A; }
};

// ParseSnpReport parses exactly kSnpReportSize bytes. InvalidArgument naming
// the field for: another length (checked before anything else), VERSION
// other than 2, 3 or 5, SIGNATURE_ALGO other than 1 (ECDSA P-384/SHA-384),
// or POLICY bit 17 clear. No cryptography.
Result<SnpReport> ParseSnpReport(ByteSpan data);

// SerializeSnpReport writes `report` back into the 1184-byte layout through
// the same field table ParseSnpReport reads (the simulated TEE builds its
// reports this way). POLICY is written from policy.raw, SIGNER_INFO from
// author_key_en / mask_chip_key / signing_key, R and S as stored; `raw` and
// bytes no field covers (reserved) are not read and written as zero, so for
// a report with non-zero reserved bytes the output differs from `raw`.
Bytes SerializeSnpReport(const SnpReport& report);

// SnpClaims returns the report's fields as JSON (hex for byte fields).
Json SnpReportJson(const SnpReport& report, bool turin_layout);

// VerifySnpReport runs the checks of specs/attestation.md §5.1 on a parsed
// report: selects the VCEK (or VLEK) from `certs`, builds its chain to an AMD
// root of `roots` at `time`, verifies the report signature, compares the
// VCEK's TCB extensions with REPORTED_TCB and its hwID with CHIP_ID. Every
// step is recorded in `verdict` (names "snp.*") and the normalized claims are
// filled in. Thread-safe.
void VerifySnpReport(const SnpReport& report, std::span<const X509* const> certs, const RootStore& roots,
                     UnixSeconds time, Verdict* verdict);

}  // namespace arca::attest

#endif  // ARCA_ATTEST_SNP_H_
