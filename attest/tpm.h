// TPM 2.0 quotes (TCG TPM 2.0 Library, Part 2 "Structures": §10.12.8
// TPMS_ATTEST, §10.12.1 TPMS_QUOTE_INFO, §11.3.4 TPMT_SIGNATURE): parser and
// verifier.
//
// What this protects: a verified quote shows that the holder of the
// attestation key (AK) signed these PCR values (through pcrDigest) and this
// nonce (extraData). What it does not protect: that the AK lives in a real
// TPM of the expected machine. That is what the AK's anchor is for, and a
// quote whose AK is anchored by nothing (no --tpm-ak, no SNP/TDX report
// binding it) is refused as unanchored.
#ifndef ARCA_ATTEST_TPM_H_
#define ARCA_ATTEST_TPM_H_

#include <cstdint>
#include <string>
#include <vector>

#include <openssl/evp.h>

#include "attest/verdict.h"
#include "base/bytes.h"
#include "base/status.h"

namespace arca::attest {

// kMaxTpmsAttestBytes bounds a TPMS_ATTEST (ResourceExhausted above).
inline constexpr std::size_t kMaxTpmsAttestBytes = 4096;

// TpmPcrSelection is one TPMS_PCR_SELECTION: a bank and its selected PCRs.
struct TpmPcrSelection {
  std::uint16_t hash_alg = 0;  // TPM_ALG_ID: 0x0004 SHA-1, 0x000b SHA-256, 0x000c SHA-384, 0x000d SHA-512
  std::vector<int> pcrs;       // ascending
};

// TpmsAttest is a parsed TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE.
struct TpmsAttest {
  std::uint32_t magic = 0;  // TPM_GENERATED_VALUE 0xff544347
  std::uint16_t type = 0;   // TPM_ST_ATTEST_QUOTE 0x8018
  Bytes qualified_signer;
  Bytes extra_data;  // the nonce
  std::uint64_t clock = 0;
  std::uint32_t reset_count = 0;
  std::uint32_t restart_count = 0;
  bool safe = false;
  std::uint64_t firmware_version = 0;
  std::vector<TpmPcrSelection> pcr_select;
  Bytes pcr_digest;
};

// ParseTpmsAttest parses big-endian TPMS_ATTEST bytes strictly: magic and
// type checked, every TPM2B length within the input, no trailing bytes.
// InvalidArgument names the field and offset; ResourceExhausted above
// kMaxTpmsAttestBytes.
Result<TpmsAttest> ParseTpmsAttest(ByteSpan data);

// kMaxTpmPublicBytes bounds a TPM2B_PUBLIC (ResourceExhausted above).
inline constexpr std::size_t kMaxTpmPublicBytes = 1024;

// TPMA_OBJECT bits (Part 2 §8.3.2) an attestation key is judged by.
inline constexpr std::uint32_t kTpmaFixedTpm = 0x00000002;
inline constexpr std::uint32_t kTpmaFixedParent = 0x00000010;
inline constexpr std::uint32_t kTpmaSensitiveDataOrigin = 0x00000020;
inline constexpr std::uint32_t kTpmaUserWithAuth = 0x00000040;
inline constexpr std::uint32_t kTpmaRestricted = 0x00010000;
inline constexpr std::uint32_t kTpmaDecrypt = 0x00020000;
inline constexpr std::uint32_t kTpmaSign = 0x00040000;

// TpmEccPublic is a parsed TPM2B_PUBLIC of an ECC key (Part 2 §12.2.4
// TPMT_PUBLIC, §12.2.3.6 TPMS_ECC_PARMS, §11.2.5.2 TPMS_ECC_POINT).
struct TpmEccPublic {
  std::uint16_t name_alg = 0;
  std::uint32_t attributes = 0;  // TPMA_OBJECT
  Bytes auth_policy;
  std::uint16_t symmetric = 0;    // TPM_ALG_NULL (0x0010) for a signing key
  std::uint16_t scheme = 0;       // TPM_ALG_ECDSA 0x0018, ...
  std::uint16_t scheme_hash = 0;  // for a scheme other than TPM_ALG_NULL
  std::uint16_t curve = 0;        // TPM_ECC_NIST_P256 0x0003, ...
  std::uint16_t kdf = 0;
  Bytes x, y;
};

// ParseTpm2bPublic parses a marshalled TPM2B_PUBLIC (as tpm2_readpublic -f
// tss writes it) strictly: the outer size equals the rest, every TPM2B within
// bounds, no trailing bytes. Only ECC keys (type 0x0023): InvalidArgument
// naming the type for others, and naming field and offset for malformed
// input; ResourceExhausted above kMaxTpmPublicBytes.
Result<TpmEccPublic> ParseTpm2bPublic(ByteSpan data);

// TpmQuote is what a TPM returns for TPM2_Quote plus the PCR values read.
struct TpmQuote {
  Bytes message;            // marshalled TPMS_ATTEST
  Bytes signature;          // TPMT_SIGNATURE, or a bare RSA signature
  std::vector<Bytes> pcrs;  // values of the selected PCRs, in selection order
};

// TpmHashSize returns the digest size of a TPM_ALG_ID hash, 0 if unknown.
std::size_t TpmHashSize(std::uint16_t alg);

// VerifyTpmQuote checks the quote (names "tpm.*"): parses the TPMS_ATTEST,
// verifies the signature with `ak` (RSASSA-PKCS1-v1_5, RSA-PSS or ECDSA as
// the TPMT_SIGNATURE says; a bare signature of the RSA modulus size is
// RSASSA-PKCS1-v1_5/SHA-256), recomputes pcrDigest over `pcrs`, and records
// `ak_anchor` (how the AK is trusted) or refuses it when empty. Claims go
// under "tpm". Thread-safe.
void VerifyTpmQuote(const TpmQuote& quote, EVP_PKEY* ak, const std::string& ak_anchor, Verdict* verdict);

}  // namespace arca::attest

#endif  // ARCA_ATTEST_TPM_H_
