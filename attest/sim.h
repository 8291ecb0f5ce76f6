// The simulated TEE: SEV-SNP reports and TDX quotes in the vendors' exact
// formats, signed under a fixed test hierarchy, for development and for
// every end-to-end test on machines without TEE hardware
// (specs/attestation.md §10).
//
// SNP: a version 3 report (Milan layout) written by SerializeSnpReport, the
// parser's own field table in reverse, signed ECDSA P-384/SHA-384 with R and
// S little-endian per the SNP ABI by a test VCEK whose AMD extensions carry
// the report's REPORTED_TCB and CHIP_ID, under a test ASK and ARK (RSA-4096,
// RSASSA-PSS SHA-384 like AMD's). TDX: a v4 quote written by
// SerializeTdxQuote, signed by a fresh attestation key whose QE report binds
// it and is signed by a test PCK under a test PCK CA and root, with TCB info
// and QE identity collateral and CRLs signed like Intel's.
//
// What this protects: nothing, by design. The private keys of the test
// hierarchy are in the source (attest/internal/sim_keys.cc), so anyone can
// make evidence that verifies under the test roots. The test roots are
// therefore never among the pinned roots: a verifier accepts simulated
// evidence only when it is explicitly configured with them (RootStore built
// from SimRoots(), or `arca attest verify --roots DIR` over the files
// `arca-runtime sim-roots` writes). Without them, verification fails at the
// chain check naming the test root.
//
// All functions are thread-safe; the test certificates are made once per
// process. Nothing here reads the clock: TDX collateral windows come from
// the caller's `now`.
#ifndef ARCA_ATTEST_SIM_H_
#define ARCA_ATTEST_SIM_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "attest/bundle.h"
#include "attest/roots.h"
#include "attest/verdict.h"
#include "base/status.h"

namespace arca::attest {

// kSimNotBefore / kSimNotAfter bound every test certificate's validity
// (2024-01-01T00:00:00Z .. 2099-12-31T23:59:59Z).
inline constexpr UnixSeconds kSimNotBefore = 1704067200;
inline constexpr UnixSeconds kSimNotAfter = 4102444799;

// kSimArkName / kSimIntelRootName are the test roots' subject CNs, named in
// every refusal of simulated evidence by a verifier without them.
inline constexpr char kSimArkName[] = "ARCA-SIM-ARK (TEST ONLY, NOT AMD)";
inline constexpr char kSimIntelRootName[] = "ARCA-SIM SGX Root CA (TEST ONLY, NOT INTEL)";

// SimRoot is one test root certificate.
struct SimRoot {
  std::string file_name;        // "arca-sim-ark.pem", "arca-sim-intel-root.pem"
  std::string pem;              // the certificate
  std::string spki_sha256_hex;  // SHA-256 of its SubjectPublicKeyInfo (stable)
};

// SimRoots returns the two test roots (ARK first, then the SGX-style root).
// The certificates' signatures are randomized (RSA-PSS salt, ECDSA nonce),
// so their DER differs between processes; subject and key never do, which
// is what chain building matches on. Internal if OpenSSL fails.
Result<std::vector<SimRoot>> SimRoots();

// SimRootStore is a RootStore holding exactly the test roots.
Result<RootStore> SimRootStore();

// SimSnpOptions are the guest-chosen and platform fields of a simulated SNP
// report; everything else is fixed (see §10 of the spec).
struct SimSnpOptions {
  std::array<std::uint8_t, 64> report_data{};
  std::array<std::uint8_t, 48> measurement{};
  std::array<std::uint8_t, 32> host_data{};
  bool debug = false;         // POLICY bit 19
  std::uint32_t vmpl = 0;
  // reported_tcb (Milan layout: byte 0 BOOT_LOADER, 1 TEE, 6 SNP, 7
  // MICROCODE) is also CURRENT, COMMITTED and LAUNCH TCB, and the VCEK's.
  std::uint64_t reported_tcb = 0xD516000000000004ull;  // bl 4, tee 0, snp 22, ucode 213
  // vlek signs with a test VLEK (SIGNER_INFO.SIGNING_KEY = 1) under a test
  // ASVK instead of the VCEK under the ASK; a VLEK carries no hwID.
  bool vlek = false;
  // turin reports CPUID family 0x1A (Turin): reported_tcb is then read in
  // the Turin layout (byte 0 FMC, 1 BOOT_LOADER, 2 TEE, 3 SNP, 7
  // MICROCODE) and the VCEK carries the FMC SPL (extension .3.9).
  bool turin = false;
};

// kSimTurinTcb is a Turin-layout TCB: FMC 1, boot loader 3, TEE 2, SNP 24,
// microcode 219.
inline constexpr std::uint64_t kSimTurinTcb = 0xDB00000018020301ull;

// SimSnpEvidence returns a "sev-snp" bundle: the signed report and the
// VCEK, ASK and ARK certificates (VLEK, ASVK and ARK with `vlek`).
// Internal if OpenSSL fails.
Result<EvidenceBundle> SimSnpEvidence(const SimSnpOptions& options);

// SimTdxOptions are the TD's fields of a simulated TDX quote.
struct SimTdxOptions {
  std::array<std::uint8_t, 64> report_data{};
  std::array<std::uint8_t, 48> mrtd{};
  std::array<std::array<std::uint8_t, 48>, 4> rtmr{};
  std::array<std::uint8_t, 48> mrconfigid{};
  bool debug = false;  // TDATTRIBUTES bit 0
  // quote_version 4 or 5; a v5 quote carries a TD report 1.0 (body type 2)
  // or, with td_report_15, a TD report 1.5 (body type 3, 648 bytes, with
  // TEE_TCB_SVN_2 and MRSERVICETD).
  std::uint16_t quote_version = 4;
  bool td_report_15 = false;
  // now anchors the collateral: TCB info, QE identity and CRLs are issued
  // at now - 1 day and expire at now + 30 days. Callers must set it.
  UnixSeconds now = 0;
};

// SimTdxEvidence returns a "tdx" bundle: the quote (PCK chain inside), the
// TCB signing certificate and root, the PCK and root CRLs, and signed TCB
// info and QE identity. InvalidArgument when `now` is unset or the quote
// version / body combination is not one of v4, v5 + TD report 1.0 or 1.5;
// Internal if OpenSSL fails.
Result<EvidenceBundle> SimTdxEvidence(const SimTdxOptions& options);

}  // namespace arca::attest

#endif  // ARCA_ATTEST_SIM_H_
