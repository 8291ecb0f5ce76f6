// Certificate, CRL and raw-signature helpers over OpenSSL for the
// attestation verifiers. Chains are built and checked here by hand (not with
// X509_verify_cert) so that every step is a named check with a precise
// message, the verification time is always the injected one, and only
// pinned roots terminate a chain.
#ifndef ARCA_ATTEST_INTERNAL_X509_H_
#define ARCA_ATTEST_INTERNAL_X509_H_

#include <openssl/x509.h>

#include <span>
#include <string>
#include <vector>

#include "attest/verdict.h"
#include "base/bytes.h"
#include "base/openssl_util.h"
#include "base/status.h"

namespace arca::attest::internal {

// ParseCertificates reads one DER certificate or one or more PEM
// "CERTIFICATE" blocks. InvalidArgument naming `what` when nothing parses.
Result<std::vector<X509Ptr>> ParseCertificates(ByteSpan data, std::string_view what);

// ParseCertificateDer parses exactly one DER certificate (no trailing bytes).
Result<X509Ptr> ParseCertificateDer(ByteSpan der, std::string_view what);

// ParseCrl reads one DER or PEM CRL.
Result<X509CrlPtr> ParseCrl(ByteSpan data, std::string_view what);

// CertDer / CrlDer return the DER encoding.
Bytes CertDer(const X509* cert);
Bytes CrlDer(const X509_CRL* crl);

// Printable returns `bytes` with every byte outside printable ASCII
// (0x20..0x7e) and the backslash written as \xNN: how text read from
// unauthenticated certificates (names, product names) and bundle fields
// enters messages and claims, which must stay valid UTF-8 JSON.
std::string Printable(std::string_view bytes);

// CommonName returns the subject CN ("SEV-VCEK") through Printable, or the
// one-line subject when there is no CN. IssuerCommonName does the same for the issuer.
std::string CommonName(const X509* cert);
std::string IssuerCommonName(const X509* cert);

// SpkiDer returns the certificate's SubjectPublicKeyInfo DER.
Bytes SpkiDer(const X509* cert);

// Asn1TimeToUnix converts a certificate or CRL time.
Result<UnixSeconds> Asn1TimeToUnix(const ASN1_TIME* t);

// CheckValidity: notBefore <= t <= notAfter, else Unauthenticated naming the
// certificate and both bounds.
Status CheckValidity(const X509* cert, UnixSeconds t);

// Anchor is a trusted root offered to BuildChain.
struct Anchor {
  const X509* cert;
  std::string name;  // "ARK-Milan", "Intel SGX Root CA", or a test root's CN
};

// ChainPolicy constrains every certificate of a chain.
struct ChainPolicy {
  // Exact DER of the AlgorithmIdentifier each certificate must be signed
  // with (e.g. RSASSA-PSS SHA-384 / MGF1-SHA-384 / salt 48 for AMD).
  ByteSpan signature_algorithm_der;
  // An equivalent encoding also accepted (e.g. RSASSA-PSS with the default
  // trailerField omitted, as DER requires, next to AMD's older explicit one).
  ByteSpan alternative_der;
  std::string signature_algorithm_name;
};

// VerifiedChain is a leaf-to-root chain whose last element is an anchor.
struct VerifiedChain {
  std::vector<const X509*> certs;
  const Anchor* anchor = nullptr;
  // Describe is "SEV-VCEK <- SEV-Milan <- ARK-Milan".
  std::string Describe() const;
};

// BuildChain walks from `leaf` through `pool` to one of `anchors` by issuer
// name and signature, then checks every certificate's validity at `t`, the
// signature algorithm and that every issuer is a CA. Self-signed
// certificates in `pool` are never trusted as roots. Unauthenticated names
// the failing link, InvalidArgument a policy mismatch.
Result<VerifiedChain> BuildChain(const X509* leaf, std::span<const X509* const> pool,
                                 std::span<const Anchor> anchors, UnixSeconds t, const ChainPolicy& policy);

// CheckCrl verifies `crl`'s signature by `issuer`, thisUpdate <= t <
// nextUpdate, and that `subject` is not listed. Unauthenticated otherwise.
Status CheckCrl(const X509_CRL* crl, const X509* issuer, const X509* subject, UnixSeconds t, std::string_view what);

// VerifySignature verifies `sig` over `msg` with `key` and digest `md`.
// ECDSA signatures are DER; for RSA `rsa_padding` is RSA_PKCS1_PADDING or
// RSA_PKCS1_PSS_PADDING (salt = digest length). Unauthenticated on failure.
Status VerifySignature(EVP_PKEY* key, const EVP_MD* md, ByteSpan msg, ByteSpan sig, int rsa_padding,
                       std::string_view what);

// ParsePublicKeyDer parses a DER SubjectPublicKeyInfo (RSA or EC), no
// trailing bytes.
Result<EvpPkeyPtr> ParsePublicKeyDer(ByteSpan spki, std::string_view what);

// EcP256PublicKey makes a P-256 public key from the raw point x || y (64
// bytes), refusing a point that is not on the curve (InvalidArgument). It
// imports the point directly (EVP_PKEY_fromdata): OpenSSL 3's DER decoder
// framework costs more than the signature check that follows.
Result<EvpPkeyPtr> EcP256PublicKey(ByteSpan xy, std::string_view what);

// PublicKeyToDer re-encodes a key as SPKI DER.
Bytes PublicKeyToDer(EVP_PKEY* key);

// EcdsaRawToDerAny converts r || s (each half of `raw`) into a DER ECDSA
// signature for any curve size.
Result<Bytes> EcdsaRawToDerAny(ByteSpan raw);

}  // namespace arca::attest::internal

#endif  // ARCA_ATTEST_INTERNAL_X509_H_
