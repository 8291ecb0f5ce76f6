#include "attest/internal/x509.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "attest/internal/cache.h"
#include "attest/internal/der.h"

namespace arca::attest::internal {
namespace {

std::string NameEntry(const X509_NAME* name) {
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx >= 0) {
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    return Printable(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s)));
  }
  char buf[256];
  X509_NAME_oneline(name, buf, sizeof buf);
  return Printable(buf);
}

// SameDer: X509_cmp (cached SHA-1 of the DER, then the TBS encoding) is
// the cheap filter for the common "different" answer; equality is
// confirmed on the whole DER, so it never rests on SHA-1.
bool SameDer(const X509* a, const X509* b) { return X509_cmp(a, b) == 0 && CertDer(a) == CertDer(b); }

}  // namespace

std::string Printable(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c <= 0x7e && c != '\\') {
      out.push_back(char(c));
    } else {
      char esc[5];
      std::snprintf(esc, sizeof esc, "\\x%02x", c);
      out += esc;
    }
  }
  return out;
}

Result<X509Ptr> ParseCertificateDer(ByteSpan der, std::string_view what) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, long(der.size())));
  if (!cert) return OpenSslError(StatusCode::kInvalidArgument, std::string(what) + ": not a DER certificate");
  if (p != der.data() + der.size()) return InvalidArgumentError(std::string(what) + ": trailing bytes after DER certificate");
  return cert;
}

Result<std::vector<X509Ptr>> ParseCertificates(ByteSpan data, std::string_view what) {
  std::vector<X509Ptr> out;
  std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  if (text.find("-----BEGIN CERTIFICATE-----") == std::string_view::npos) {
    ARCA_ASSIGN_OR_RETURN(X509Ptr c, ParseCertificateDer(data, what));
    out.push_back(std::move(c));
    return out;
  }
  BioPtr bio(BIO_new_mem_buf(data.data(), int(data.size())));
  if (!bio) return InternalError("BIO_new_mem_buf failed");
  while (true) {
    X509Ptr c(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!c) break;
    out.push_back(std::move(c));
  }
  ERR_clear_error();
  if (out.empty()) return InvalidArgumentError(std::string(what) + ": no certificate in PEM input");
  return out;
}

Result<X509CrlPtr> ParseCrl(ByteSpan data, std::string_view what) {
  std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  if (text.find("-----BEGIN X509 CRL-----") != std::string_view::npos) {
    BioPtr bio(BIO_new_mem_buf(data.data(), int(data.size())));
    X509CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    if (!crl) return OpenSslError(StatusCode::kInvalidArgument, std::string(what) + ": not a PEM CRL");
    return crl;
  }
  const unsigned char* p = data.data();
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, long(data.size())));
  if (!crl) return OpenSslError(StatusCode::kInvalidArgument, std::string(what) + ": not a DER CRL");
  if (p != data.data() + data.size()) return InvalidArgumentError(std::string(what) + ": trailing bytes after DER CRL");
  return crl;
}

Bytes CertDer(const X509* cert) {
  unsigned char* buf = nullptr;
  int n = i2d_X509(cert, &buf);
  if (n <= 0) return {};
  Bytes out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

Bytes CrlDer(const X509_CRL* crl) {
  unsigned char* buf = nullptr;
  int n = i2d_X509_CRL(const_cast<X509_CRL*>(crl), &buf);
  if (n <= 0) return {};
  Bytes out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

std::string CommonName(const X509* cert) { return NameEntry(X509_get_subject_name(cert)); }
std::string IssuerCommonName(const X509* cert) { return NameEntry(X509_get_issuer_name(cert)); }

Bytes SpkiDer(const X509* cert) { return PublicKeyToDer(X509_get0_pubkey(cert)); }

Bytes PublicKeyToDer(EVP_PKEY* key) {
  if (!key) return {};
  unsigned char* buf = nullptr;
  int n = i2d_PUBKEY(key, &buf);
  if (n <= 0) return {};
  Bytes out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

Result<EvpPkeyPtr> ParsePublicKeyDer(ByteSpan spki, std::string_view what) {
  const unsigned char* p = spki.data();
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, long(spki.size())));
  if (!key) return OpenSslError(StatusCode::kInvalidArgument, std::string(what) + ": not a DER SubjectPublicKeyInfo");
  if (p != spki.data() + spki.size()) return InvalidArgumentError(std::string(what) + ": trailing bytes after public key");
  return key;
}

Result<EvpPkeyPtr> EcP256PublicKey(ByteSpan xy, std::string_view what) {
  if (xy.size() != 64) {
    return InvalidArgumentError(std::string(what) + ": P-256 point expected 64 bytes, got " + std::to_string(xy.size()));
  }
  std::uint8_t point[65];
  point[0] = 0x04;  // uncompressed
  std::memcpy(point + 1, xy.data(), 64);
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
      OSSL_PARAM_construct_end(),
  };
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1 || raw == nullptr) {
    ERR_clear_error();
    return InvalidArgumentError(std::string(what) + ": not a point on P-256");
  }
  return EvpPkeyPtr(raw);
}

Result<UnixSeconds> Asn1TimeToUnix(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return InvalidArgumentError("malformed ASN.1 time");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return ParseRfc3339(buf);
}

Status CheckValidity(const X509* cert, UnixSeconds t) {
  auto nb = Asn1TimeToUnix(X509_get0_notBefore(cert));
  auto na = Asn1TimeToUnix(X509_get0_notAfter(cert));
  if (!nb.ok() || !na.ok()) return InvalidArgumentError("certificate " + CommonName(cert) + ": malformed validity");
  if (t < *nb) {
    return UnauthenticatedError("certificate " + CommonName(cert) + " not yet valid at " + FormatRfc3339(t) +
                                ": notBefore " + FormatRfc3339(*nb));
  }
  if (t > *na) {
    return UnauthenticatedError("certificate " + CommonName(cert) + " expired at " + FormatRfc3339(t) + ": notAfter " +
                                FormatRfc3339(*na));
  }
  return Status::Ok();
}

std::string VerifiedChain::Describe() const {
  std::string s;
  for (const X509* c : certs) {
    if (!s.empty()) s += " <- ";
    s += CommonName(c);
  }
  return s;
}

namespace {

Status CheckSignatureAlgorithm(const X509* cert, const ChainPolicy& policy) {
  const X509_ALGOR* alg = nullptr;
  X509_get0_signature(nullptr, &alg, cert);
  unsigned char* buf = nullptr;
  int n = i2d_X509_ALGOR(alg, &buf);
  if (n <= 0) return InvalidArgumentError("certificate " + CommonName(cert) + ": unreadable signature algorithm");
  Bytes der(buf, buf + n);
  OPENSSL_free(buf);
  auto same = [&](ByteSpan want) { return std::equal(der.begin(), der.end(), want.begin(), want.end()); };
  if (!policy.signature_algorithm_der.empty() && !same(policy.signature_algorithm_der) &&
      (policy.alternative_der.empty() || !same(policy.alternative_der))) {
    return InvalidArgumentError("certificate " + CommonName(cert) + ": signature algorithm expected " +
                                policy.signature_algorithm_name + ", got AlgorithmIdentifier " + HexEncode(der));
  }
  return Status::Ok();
}

bool SignedBy(const X509* cert, const X509* issuer) { return CertSignedBy(cert, issuer); }

}  // namespace

Result<VerifiedChain> BuildChain(const X509* leaf, std::span<const X509* const> pool, std::span<const Anchor> anchors,
                                 UnixSeconds t, const ChainPolicy& policy) {
  VerifiedChain chain;
  chain.certs.push_back(leaf);
  const X509* cur = leaf;
  for (int depth = 0; depth < 6 && !chain.anchor; ++depth) {
    // Is the current certificate itself a pinned anchor (byte-identical)?
    for (const Anchor& a : anchors) {
      if (SameDer(cur, a.cert)) {
        chain.anchor = &a;
        break;
      }
    }
    if (chain.anchor) break;
    const X509_NAME* want = X509_get_issuer_name(cur);
    bool name_matched = false;
    for (const Anchor& a : anchors) {
      if (X509_NAME_cmp(X509_get_subject_name(a.cert), want) != 0) continue;
      name_matched = true;
      if (SignedBy(cur, a.cert)) {
        chain.certs.push_back(a.cert);
        chain.anchor = &a;
        break;
      }
    }
    if (chain.anchor) break;
    const X509* next = nullptr;
    for (const X509* c : pool) {
      if (X509_NAME_cmp(X509_get_subject_name(c), want) != 0) continue;
      // A self-signed certificate from the evidence is never a trust anchor.
      if (X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(c)) == 0) continue;
      if (SameDer(c, cur)) continue;
      name_matched = true;
      if (SignedBy(cur, c)) {
        next = c;
        break;
      }
    }
    if (!next) {
      if (name_matched) {
        return UnauthenticatedError("certificate chain: signature of " + CommonName(cur) + " by its issuer " +
                                    IssuerCommonName(cur) + " does not verify");
      }
      return UnauthenticatedError("certificate chain: issuer " + IssuerCommonName(cur) + " of " + CommonName(cur) +
                                  " is neither in the bundle nor a pinned root");
    }
    chain.certs.push_back(next);
    cur = next;
  }
  if (!chain.anchor) return UnauthenticatedError("certificate chain: longer than 6 certificates without a pinned root");
  for (std::size_t i = 0; i < chain.certs.size(); ++i) {
    const X509* c = chain.certs[i];
    ARCA_RETURN_IF_ERROR(CheckSignatureAlgorithm(c, policy));
    ARCA_RETURN_IF_ERROR(CheckValidity(c, t));
    if (i > 0 && X509_check_ca(const_cast<X509*>(c)) < 1) {
      return UnauthenticatedError("certificate chain: issuer " + CommonName(c) + " is not a CA certificate");
    }
  }
  return chain;
}

Status CheckCrl(const X509_CRL* crl, const X509* issuer, const X509* subject, UnixSeconds t, std::string_view what) {
  std::string w(what);
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
    return UnauthenticatedError(w + ": issuer expected " + CommonName(issuer) + ", got another name");
  }
  if (!CrlSignedBy(crl, issuer)) {
    return UnauthenticatedError(w + ": signature by " + CommonName(issuer) + " does not verify");
  }
  auto tu = Asn1TimeToUnix(X509_CRL_get0_lastUpdate(crl));
  if (!tu.ok()) return InvalidArgumentError(w + ": malformed thisUpdate");
  if (t < *tu) return UnauthenticatedError(w + ": thisUpdate " + FormatRfc3339(*tu) + " is after the verification time " + FormatRfc3339(t));
  const ASN1_TIME* nu_raw = X509_CRL_get0_nextUpdate(crl);
  if (!nu_raw) return UnauthenticatedError(w + ": no nextUpdate");
  auto nu = Asn1TimeToUnix(nu_raw);
  if (!nu.ok()) return InvalidArgumentError(w + ": malformed nextUpdate");
  if (t >= *nu) return UnauthenticatedError(w + ": expired, nextUpdate " + FormatRfc3339(*nu) + " <= verification time " + FormatRfc3339(t));
  X509_REVOKED* rev = nullptr;
  if (X509_CRL_get0_by_serial(const_cast<X509_CRL*>(crl), &rev,
                              const_cast<ASN1_INTEGER*>(X509_get0_serialNumber(subject))) == 1) {
    return UnauthenticatedError(w + ": certificate " + CommonName(subject) + " is revoked");
  }
  return Status::Ok();
}

Status VerifySignature(EVP_PKEY* key, const EVP_MD* md, ByteSpan msg, ByteSpan sig, int rsa_padding,
                       std::string_view what) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key) != 1) {
    return OpenSslError(StatusCode::kInternal, std::string(what) + ": cannot initialise verification");
  }
  if (EVP_PKEY_is_a(key, "RSA") && rsa_padding != 0) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, rsa_padding) != 1) return OpenSslError(StatusCode::kInternal, "RSA padding");
    if (rsa_padding == RSA_PKCS1_PSS_PADDING && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
      return OpenSslError(StatusCode::kInternal, "RSA-PSS salt length");
    }
  }
  int rc = EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), msg.data(), msg.size());
  ERR_clear_error();
  if (rc != 1) return UnauthenticatedError(std::string(what) + ": signature does not verify");
  return Status::Ok();
}

Result<Bytes> EcdsaRawToDerAny(ByteSpan raw) {
  if (raw.empty() || raw.size() % 2 != 0 || raw.size() > 132) return InvalidArgumentError("ECDSA r||s: bad length " + std::to_string(raw.size()));
  std::size_t h = raw.size() / 2;
  Bytes seq = DerUnsignedInteger(raw.subspan(0, h));
  Bytes s = DerUnsignedInteger(raw.subspan(h));
  seq.insert(seq.end(), s.begin(), s.end());
  return DerEncode(0x30, seq);
}

}  // namespace arca::attest::internal
