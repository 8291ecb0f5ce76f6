// Readers of the vendor extensions that tie an attestation key certificate
// to one platform: AMD's VCEK/VLEK extensions (arc 1.3.6.1.4.1.3704.1, "Versioned
// Chip Endorsement Key (VCEK) Certificate and KDS Interface Specification"
// §3) and Intel's SGX PCK extension (1.2.840.113741.1.13.1, "SGX PCK
// Certificate and CRL Profile" §1.3.5). Both parse untrusted DER by hand
// (internal/der.h) and are fuzzed by tests/fuzz/cert_chain_fuzz.cc.
#ifndef ARCA_ATTEST_INTERNAL_EXTENSIONS_H_
#define ARCA_ATTEST_INTERNAL_EXTENSIONS_H_

#include <openssl/x509.h>

#include <array>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace arca::attest::internal {

// VcekExtensions are the AMD extensions (arc 1.3.6.1.4.1.3704.1) that tie a
// VCEK to one chip and one TCB.
struct VcekExtensions {
  std::string product_name;
  bool has_tcb = false;
  int bl = -1, tee = -1, snp = -1, ucode = -1, fmc = -1;
  Bytes hwid;
  bool has_hwid = false;
};

// ReadVcekExtensions reads the product name, the TCB SPLs and hwID.
// InvalidArgument names a malformed extension.
Result<VcekExtensions> ReadVcekExtensions(const X509* cert);

// PckExtensions are the Intel SGX extensions of a PCK certificate
// (OID 1.2.840.113741.1.13.1, "SGX PCK Certificate and CRL Profile").
struct PckExtensions {
  std::array<int, 16> comp_svn{};
  int pcesvn = -1;
  Bytes cpusvn;
  Bytes fmspc;
  Bytes pceid;
};

// ReadPckExtensions reads the 16 TCB components, PCESVN, CPUSVN, PCE-ID
// and FMSPC; InvalidArgument names what is missing or malformed.
Result<PckExtensions> ReadPckExtensions(const X509* cert);

}  // namespace arca::attest::internal

#endif  // ARCA_ATTEST_INTERNAL_EXTENSIONS_H_
