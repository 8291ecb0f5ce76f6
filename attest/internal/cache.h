// A process-wide, bounded memo of time-independent facts the verifiers
// establish again and again for the same bytes: "these DER bytes parse to
// this certificate / CRL", "this PEM chain parses to these certificates",
// "this JSON text parses to this value", and "this signature over these
// bytes verifies under this public key" (specs/attestation.md §5.4).
//
// What this protects: throughput only (a key broker sees the same VCEK/ASK,
// PCK chain, CRLs and TCB collateral for every quote of a platform). It must
// never change a verdict, so it holds only facts that are pure functions of
// the bytes they are keyed by: each key is SHA-256 over a domain label and
// every input (length-prefixed), and nothing
// that depends on the verification time is cached (validity windows,
// nextUpdate, CRL membership, TCB level walks are evaluated at T on every
// verification). The quote's and report's own signatures are never cached.
//
// Bounds: kMaxParsedEntries parsed objects and kMaxVerifiedSignatures
// signature facts; when a table is full it is emptied (no eviction order to
// attack, and refilling costs one cold verification). Thread-safe.
#ifndef ARCA_ATTEST_INTERNAL_CACHE_H_
#define ARCA_ATTEST_INTERNAL_CACHE_H_

#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/json.h"
#include "base/openssl_util.h"
#include "base/status.h"

namespace arca::attest::internal {

inline constexpr std::size_t kMaxParsedEntries = 256;
inline constexpr std::size_t kMaxVerifiedSignatures = 4096;

// CachedCertificateDer parses exactly one DER certificate (as
// ParseCertificateDer) or returns a new reference to the one parsed earlier
// from the same bytes.
Result<X509Ptr> CachedCertificateDer(ByteSpan der, std::string_view what);

// CachedCertificates parses PEM or DER certificates (as ParseCertificates),
// memoized by the exact input bytes.
Result<std::vector<X509Ptr>> CachedCertificates(ByteSpan data, std::string_view what);

// CachedCrl parses one DER or PEM CRL (as ParseCrl), memoized.
Result<X509CrlPtr> CachedCrl(ByteSpan data, std::string_view what);

// CachedJson parses JSON text (as ParseJson), memoized; the value is shared
// and immutable.
Result<std::shared_ptr<const Json>> CachedJson(std::string_view text, std::string_view what);

// CertSignedBy reports whether `cert`'s signature verifies under `issuer`'s
// public key (X509_verify), remembering successes keyed by the certificate's
// DER and the issuer's SubjectPublicKeyInfo (failures too: a signature that
// does not verify under a key never will).
bool CertSignedBy(const X509* cert, const X509* issuer);

// CrlSignedBy: the same for a CRL (X509_CRL_verify).
bool CrlSignedBy(const X509_CRL* crl, const X509* issuer);

// SignatureFact is the memo key of a raw signature check: SHA-256 over the
// label, the signer certificate's SubjectPublicKeyInfo DER (as encoded in
// the certificate: re-encoding an EVP_PKEY through OpenSSL 3's encoders
// cost more than the signature check), the message and the signature.
struct SignatureFact {
  std::uint8_t key[32];
};
SignatureFact MakeSignatureFact(std::string_view label, const X509* signer, ByteSpan msg, ByteSpan sig);
// RecallSignature returns the remembered outcome, if any.
std::optional<bool> RecallSignature(const SignatureFact& fact);
void RememberSignature(const SignatureFact& fact, bool verifies);

// CacheStats counts lookups since the last ClearCaches (tests assert that
// warm verifications hit the memo; the benchmark prints them).
struct CacheStats {
  std::uint64_t parse_hits = 0, parse_misses = 0;
  std::uint64_t signature_hits = 0, signature_misses = 0;
};
CacheStats GetCacheStats();

// ClearCaches empties every table and resets the counters.
void ClearCaches();

}  // namespace arca::attest::internal

#endif  // ARCA_ATTEST_INTERNAL_CACHE_H_
