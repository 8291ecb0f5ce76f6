// Intel TDX quotes (Intel TDX DCAP Quote Generation Library and Quote
// Verification Library, "Quote Format" v4 and v5): parser and verifier.
//
// Verification (specs/attestation.md §5.2): the quote signature by the
// attestation key over header || body, the QE report signature by the PCK
// certificate, the QE report data binding the attestation key, the PCK chain
// to the pinned Intel SGX Root CA with the PCK CRL and the root CRL, TCB info
// and QE identity signatures over the exact served JSON bytes with their
// issueDate/nextUpdate window, and the TCB level walk that yields a status.
//
// What this protects: a verified quote comes from a TDX module and quoting
// enclave on a genuine Intel platform whose TCB Intel rates as the reported
// status at the verification time. What it does not protect: replay (the
// caller binds a fresh nonce into REPORTDATA), or the acceptability of the
// measurements and status (the release policy decides).
//
// Trailing bytes: bytes after the declared signature data are ignored (they
// are covered by no signature and read by no check) and counted in the
// claims as "trailingBytes"; real quotes carry them (T1, T3).
#ifndef ARCA_ATTEST_TDX_H_
#define ARCA_ATTEST_TDX_H_

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

// kMaxTdxQuoteBytes bounds a quote (ResourceExhausted above).
inline constexpr std::size_t kMaxTdxQuoteBytes = 64 * 1024;

// TdReport is the TD report body (TDREPORT 1.0; 1.5 adds two fields).
struct TdReport {
  std::array<std::uint8_t, 16> tee_tcb_svn{};
  std::array<std::uint8_t, 48> mrseam{};
  std::array<std::uint8_t, 48> mrsignerseam{};
  std::array<std::uint8_t, 8> seam_attributes{};
  std::array<std::uint8_t, 8> td_attributes{};
  std::array<std::uint8_t, 8> xfam{};
  std::array<std::uint8_t, 48> mrtd{};
  std::array<std::uint8_t, 48> mrconfigid{};
  std::array<std::uint8_t, 48> mrowner{};
  std::array<std::uint8_t, 48> mrownerconfig{};
  std::array<std::array<std::uint8_t, 48>, 4> rtmr{};
  std::array<std::uint8_t, 64> report_data{};
  bool is_v15 = false;
  std::array<std::uint8_t, 16> tee_tcb_svn2{};
  std::array<std::uint8_t, 48> mrservicetd{};
  // debug is TDATTRIBUTES bit 0.
  bool debug() const { return td_attributes[0] & 1; }
};

// SgxReportBody is the QE's SGX REPORT body (384 bytes).
struct SgxReportBody {
  std::array<std::uint8_t, 16> cpusvn{};
  std::uint32_t miscselect = 0;
  std::array<std::uint8_t, 16> attributes{};
  std::array<std::uint8_t, 32> mrenclave{};
  std::array<std::uint8_t, 32> mrsigner{};
  std::uint16_t isvprodid = 0;
  std::uint16_t isvsvn = 0;
  std::array<std::uint8_t, 64> report_data{};
};

// TdxQuote is a parsed quote; spans point into `raw`.
struct TdxQuote {
  std::uint16_t version = 0;
  std::uint16_t attestation_key_type = 0;
  std::uint32_t tee_type = 0;
  std::uint16_t qe_svn = 0;
  std::uint16_t pce_svn = 0;
  std::array<std::uint8_t, 16> qe_vendor_id{};
  std::array<std::uint8_t, 20> user_data{};
  std::uint16_t body_type = 2;  // v5: 2 = TD report 1.0, 3 = TD report 1.5
  TdReport body;
  std::size_t signed_size = 0;  // header || body (|| v5 type and size)
  std::array<std::uint8_t, 64> quote_signature{};  // r || s big-endian
  std::array<std::uint8_t, 64> attestation_key{};  // x || y
  Bytes qe_report_raw;                             // 384 bytes
  SgxReportBody qe_report;
  std::array<std::uint8_t, 64> qe_report_signature{};
  Bytes qe_auth_data;
  std::uint16_t pck_cert_data_type = 0;  // 5: PEM chain
  Bytes pck_cert_chain;
  std::size_t quote_size = 0;      // bytes covered by the format
  std::size_t trailing_bytes = 0;  // ignored bytes after it
  Bytes raw;

  ByteSpan signed_bytes() const { return ByteSpan(raw).first(signed_size); }
};

// ParseTdxQuote parses a v4 or v5 quote. InvalidArgument names the field and
// offset for: too short, version not 4/5, attestation key type not 2 (ECDSA
// P-256), TEE type not 0x81, body type/size, a signature data length beyond
// the input, certification data type not 6 / nested type not 5, or lengths
// that do not add up. ResourceExhausted above kMaxTdxQuoteBytes. Never reads
// past the input.
Result<TdxQuote> ParseTdxQuote(ByteSpan data);

// SerializeSgxReportBody writes a QE report body (384 bytes) through the
// same field table the parser reads; reserved bytes are zero.
Bytes SerializeSgxReportBody(const SgxReportBody& report);

// SerializeTdxQuote writes a v4 quote (header || TD report 1.0 ||
// sig_data_len || quote signature || attestation key || certification data
// type 6 holding the QE report (from `qe_report`, not `qe_report_raw`), its
// signature, the QE auth data and type 5 with `pck_cert_chain`), or a v5
// quote (header || body_type || body_size || TD report 1.0 (type 2) or 1.5
// (type 3, body.is_v15) || the same signature data), through the parser's
// field tables. `raw`, sizes and trailing bytes are computed, not read.
// InvalidArgument for another version, a 1.5 body in v4 or a body type that
// disagrees with body.is_v15; ResourceExhausted above kMaxTdxQuoteBytes.
// Used by the simulated TEE.
Result<Bytes> SerializeTdxQuote(const TdxQuote& quote);

// TdxSignedSize is the length of the part the quote signature covers:
// header || (v5: body_type || body_size ||) body.
std::size_t TdxSignedSize(const TdxQuote& quote);

// TdxCollateral is what a verifier needs besides certificates and CRLs: the
// exact served bytes of the TCB info and QE identity JSON values and their
// ECDSA P-256 signatures (r || s).
struct TdxCollateral {
  std::string tcb_info;
  Bytes tcb_info_signature;
  std::string qe_identity;
  Bytes qe_identity_signature;
};

// ParseSignedJsonResponse splits an Intel PCS response body
// ({"tcbInfo": {...}, "signature": "hex"} or {"enclaveIdentity": ...}) into
// the raw bytes of `member`'s value and the decoded signature.
// InvalidArgument when malformed.
Result<std::pair<std::string, Bytes>> ParseSignedJsonResponse(std::string_view body, std::string_view member);

// TdxTcbStatusName lists the statuses Intel defines ("UpToDate",
// "SWHardeningNeeded", "ConfigurationNeeded",
// "ConfigurationAndSWHardeningNeeded", "OutOfDate",
// "OutOfDateConfigurationNeeded", "Revoked").

// VerifyTdxQuote runs every check of specs/attestation.md §5.2, recording
// each in `verdict` ("tdx.*") and filling the normalized claims. `pool`
// holds the bundle's certificates (issuer chains), `crls` its CRLs.
// Thread-safe.
void VerifyTdxQuote(const TdxQuote& quote, const TdxCollateral& collateral, std::span<const X509* const> pool,
                    std::span<const X509_CRL* const> crls, const RootStore& roots, UnixSeconds time, Verdict* verdict);

}  // namespace arca::attest

#endif  // ARCA_ATTEST_TDX_H_
