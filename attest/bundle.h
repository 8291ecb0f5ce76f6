// Evidence bundles (specs/attestation.md §3): one canonical JSON document
// carrying raw attestation evidence plus every certificate, CRL and piece of
// collateral needed to verify it, so that verification is a pure function of
// (bundle, pinned roots, verification time) with no network access.
//
// What this protects: nothing by itself. A bundle is an untrusted container;
// every byte of it is authenticated by the platform verifiers (snp.h, tdx.h,
// tpm.h) against the pinned roots, never by being in the bundle. A root
// certificate inside a bundle is ignored as a trust anchor.
#ifndef ARCA_ATTEST_BUNDLE_H_
#define ARCA_ATTEST_BUNDLE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attest/roots.h"
#include "attest/tdx.h"
#include "attest/tpm.h"
#include "attest/verdict.h"
#include "base/bytes.h"
#include "base/status.h"

namespace arca::attest {

// kBundleMediaType identifies version 1 of the bundle format.
inline constexpr std::string_view kBundleMediaType = "application/vnd.arca.attestation-bundle.v1+json";
// kMaxBundleBytes bounds a bundle document (ResourceExhausted above).
inline constexpr std::size_t kMaxBundleBytes = 4 << 20;

// Platform is the kind of evidence a bundle carries.
enum class Platform {
  kSevSnp,         // "sev-snp": an SNP attestation report
  kTdx,            // "tdx": a TDX quote v4/v5
  kTpm,            // "tpm": a bare TPM 2.0 quote
  kAzureSevSnpVtpm,  // "azure-sev-snp-vtpm": HCL report (SNP) + vTPM quote
};

// PlatformName returns the bundle spelling ("sev-snp", ...).
std::string_view PlatformName(Platform p);

// EvidenceBundle is a parsed bundle. Every field is untrusted.
struct EvidenceBundle {
  Platform platform = Platform::kSevSnp;
  Bytes snp_report;  // sev-snp
  Bytes tdx_quote;   // tdx
  Bytes hcl_report;  // azure-sev-snp-vtpm
  std::optional<TpmQuote> tpm_quote;  // tpm, azure-sev-snp-vtpm
  Bytes tpm_ak_public;                // optional SPKI DER (tpm); never trusted by itself
  std::vector<Bytes> certificates;    // DER
  std::vector<Bytes> crls;            // DER
  std::optional<TdxCollateral> tdx_collateral;
};

// SerializeBundle writes the RFC 8785 canonical JSON form. InvalidArgument
// when the platform's evidence is missing.
Result<std::string> SerializeBundle(const EvidenceBundle& bundle);

// ParseBundle reads a bundle strictly: known media type, no unknown fields,
// base64/hex well-formed, evidence present for the platform.
// InvalidArgument naming the field; ResourceExhausted above kMaxBundleBytes.
Result<EvidenceBundle> ParseBundle(std::string_view text);

// BundleBuilder assembles a bundle from parts as vendors and tools publish
// them. Not thread-safe.
class BundleBuilder {
 public:
  // SetSnpReport: a raw 1184-byte report (parsed to refuse junk early).
  Status SetSnpReport(ByteSpan report);
  // SetTdxQuote: a raw quote (parsed to refuse junk early).
  Status SetTdxQuote(ByteSpan quote);
  // SetTpmEvidence: JSON {"ak_public": b64 SPKI, "tpm_quote": {"message":
  // b64, "signature": b64, "pcrs": [hex...]}} (the trustee format).
  Status SetTpmEvidence(std::string_view json);
  // SetAzureEvidence: Azure vTPM evidence JSON {"quote": {"message": [..],
  // "signature": [..], "pcrs": [[..]..]}, "report": [..], "vcek": PEM}.
  Status SetAzureEvidence(std::string_view json);
  // AddCertificates: a DER certificate or PEM with one or more.
  Status AddCertificates(ByteSpan data);
  // AddCrl: one DER or PEM CRL.
  Status AddCrl(ByteSpan data);
  // AddCollateral: a PCS TCB info response ({"tcbInfo":..,"signature":..}),
  // a PCS QE identity response ({"enclaveIdentity":..}), or a dcap-qvl
  // collateral JSON (tcb_info, qe_identity, their signatures and issuer
  // chains, pck_crl and root_ca_crl in hex). InvalidArgument otherwise.
  Status AddCollateral(ByteSpan data);
  // Finish returns the bundle; InvalidArgument when no evidence was set.
  Result<EvidenceBundle> Finish() const;

 private:
  Status SetPlatform(Platform p);
  std::optional<Platform> platform_;
  EvidenceBundle b_;
};

// VerifyOptions are the inputs besides the bundle and the roots.
struct VerifyOptions {
  UnixSeconds time = 0;  // the verification time; callers must set it
  // tpm_ak_spki names the TPM attestation key (SPKI DER) the caller trusts
  // for a bare TPM quote.
  std::optional<Bytes> tpm_ak_spki;
};

// VerifyBundle verifies the bundle's evidence against `roots` at
// options.time and returns every check and the normalized claims. A pure
// function: no clock, no network. Thread-safe.
Verdict VerifyBundle(const EvidenceBundle& bundle, const RootStore& roots, const VerifyOptions& options);

// PublicKeyToSpkiDer reads a "PUBLIC KEY" PEM block or DER
// SubjectPublicKeyInfo (RSA or EC) and returns its canonical DER, e.g. for
// --tpm-ak. InvalidArgument otherwise.
Result<Bytes> PublicKeyToSpkiDer(ByteSpan pem_or_der);

// HclReport is the parsed Azure HCL attestation report container.
struct HclReport {
  ByteSpan snp_report;     // 1184 bytes at 0x20
  std::uint32_t hash_type = 0;  // 1 SHA-256, 2 SHA-384, 3 SHA-512
  ByteSpan variable_data;  // runtime claims JSON, hashed into REPORT_DATA
};

// ParseHclReport parses the container (signature "HCLA", request data at
// 0x4C0); spans point into `data`. InvalidArgument names the field.
Result<HclReport> ParseHclReport(ByteSpan data);

}  // namespace arca::attest

#endif  // ARCA_ATTEST_BUNDLE_H_
