#include "runtime/attested_endpoint.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest/binding.h"
#include "base/crypto.h"
#include "base/time.h"

namespace arca::runtime {

Result<TlsIdentity> MakeTlsIdentity() {
  TlsIdentity id;
  id.key.reset(EVP_EC_gen("P-256"));
  if (!id.key) return InternalError("making the endpoint's TLS key");
  id.cert.reset(X509_new());
  X509* c = id.cert.get();
  if (!c) return InternalError("making the endpoint's certificate");
  X509_set_version(c, 2);
  Bytes serial(16);
  crypto::RandomBytes(serial);
  serial[0] &= 0x7f;
  BignumPtr bn(BN_bin2bn(serial.data(), int(serial.size()), nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(c))) return InternalError("certificate serial");
  X509_gmtime_adj(X509_getm_notBefore(c), -300);
  X509_gmtime_adj(X509_getm_notAfter(c), 86400);
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("arca-runtime attested endpoint"),
                             -1, -1, 0);
  X509_set_issuer_name(c, name);
  X509_set_pubkey(c, id.key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, c, c, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  if (!san) return InternalError("certificate subjectAltName");
  X509_add_ext(c, san, -1);
  X509_EXTENSION_free(san);
  if (X509_sign(c, id.key.get(), EVP_sha256()) <= 0) return InternalError("signing the endpoint's certificate");
  int n = i2d_PUBKEY(id.key.get(), nullptr);
  if (n <= 0) return InternalError("encoding the endpoint's public key");
  id.spki_der.resize(std::size_t(n));
  unsigned char* p = id.spki_der.data();
  i2d_PUBKEY(id.key.get(), &p);
  return id;
}

Result<std::string> EndpointEvidenceFor(const TlsIdentity& identity, std::string_view nonce_hex,
                                        const std::string& package_digest, const std::string& policy_digest,
                                        const EvidenceRequest& tee) {
  if (nonce_hex.size() < 32 || nonce_hex.size() > 128) {
    return InvalidArgumentError("nonce: expected 16..64 bytes of hex, got " + std::to_string(nonce_hex.size()) + " characters");
  }
  ARCA_ASSIGN_OR_RETURN(Bytes nonce, HexDecode(nonce_hex));
  ARCA_ASSIGN_OR_RETURN(auto binding,
                        attest::ComputeEvidenceBinding({nonce, identity.spki_der, package_digest, policy_digest}));
  EvidenceRequest ev = tee;
  ev.report_data = binding;
  if (ev.now == 0) ev.now = NowUnixSeconds();
  ARCA_ASSIGN_OR_RETURN(attest::EvidenceBundle bundle, CollectEvidence(ev));
  release::EndpointEvidence doc;
  doc.package_digest = package_digest;
  doc.policy_digest = policy_digest;
  doc.tls_spki = identity.spki_der;
  ARCA_ASSIGN_OR_RETURN(doc.evidence, attest::SerializeBundle(bundle));
  return release::SerializeEndpointEvidence(doc);
}

}  // namespace arca::runtime
