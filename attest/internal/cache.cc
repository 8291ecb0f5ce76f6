#include "attest/internal/cache.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <cstring>
#include <mutex>
#include <unordered_map>

#include "attest/internal/x509.h"
#include "base/crypto.h"

namespace arca::attest::internal {
namespace {

using Key = crypto::Sha256Digest;

struct KeyHash {
  std::size_t operator()(const Key& k) const {
    std::size_t h;
    std::memcpy(&h, k.data(), sizeof h);
    return h;
  }
};

// Hasher builds a memo key: SHA-256 over a label and length-prefixed parts,
// so no two different inputs share a key.
class Hasher {
 public:
  explicit Hasher(std::string_view label) { Add(AsBytes(label)); }
  Hasher& Add(ByteSpan part) {
    std::uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = std::uint8_t(std::uint64_t(part.size()) >> (56 - 8 * i));
    h_.Update(len);
    h_.Update(part);
    return *this;
  }
  Key Finish() { return h_.Finish(); }

 private:
  crypto::Sha256 h_;
};

// A parsed object shared between verifications: certificates and CRLs are
// kept with one reference of their own and handed out with another.
struct Parsed {
  std::vector<X509Ptr> certs;
  X509CrlPtr crl;
  std::shared_ptr<const Json> json;
};

struct Tables {
  std::mutex mu;
  std::unordered_map<Key, Parsed, KeyHash> parsed;
  std::unordered_map<Key, bool, KeyHash> verified;
  CacheStats stats;
};

Tables& T() {
  static Tables* t = new Tables;  // never destroyed: used until exit
  return *t;
}

X509Ptr Ref(const X509Ptr& x) {
  X509_up_ref(x.get());
  return X509Ptr(x.get());
}

std::vector<X509Ptr> Refs(const std::vector<X509Ptr>& v) {
  std::vector<X509Ptr> out;
  out.reserve(v.size());
  for (const X509Ptr& x : v) out.push_back(Ref(x));
  return out;
}

// Lookup copies out a parsed entry under the lock; `hit` says whether it
// was there.
template <typename F>
auto Lookup(const Key& k, F&& copy_out) -> decltype(copy_out(std::declval<const Parsed&>())) {
  Tables& t = T();
  std::lock_guard<std::mutex> lock(t.mu);
  auto it = t.parsed.find(k);
  if (it == t.parsed.end()) {
    ++t.stats.parse_misses;
    return {};
  }
  ++t.stats.parse_hits;
  return copy_out(it->second);
}

void Store(const Key& k, Parsed p) {
  Tables& t = T();
  std::lock_guard<std::mutex> lock(t.mu);
  if (t.parsed.size() >= kMaxParsedEntries) t.parsed.clear();
  t.parsed.emplace(k, std::move(p));
}

Bytes PublicKeyDer(const X509* cert) {
  unsigned char* buf = nullptr;
  int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &buf);
  Bytes out;
  if (n > 0) out.assign(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

std::optional<bool> Known(const Key& k) {
  Tables& t = T();
  std::lock_guard<std::mutex> lock(t.mu);
  auto it = t.verified.find(k);
  if (it == t.verified.end()) {
    ++t.stats.signature_misses;
    return std::nullopt;
  }
  ++t.stats.signature_hits;
  return it->second;
}

void Remember(const Key& k, bool verifies) {
  Tables& t = T();
  std::lock_guard<std::mutex> lock(t.mu);
  if (t.verified.size() >= kMaxVerifiedSignatures) t.verified.clear();
  t.verified.emplace(k, verifies);
}

}  // namespace

Result<X509Ptr> CachedCertificateDer(ByteSpan der, std::string_view what) {
  Key k = Hasher("arca-attest-cache cert-der").Add(der).Finish();
  X509Ptr hit = Lookup(k, [](const Parsed& p) { return Ref(p.certs[0]); });
  if (hit) return hit;
  ARCA_ASSIGN_OR_RETURN(X509Ptr c, ParseCertificateDer(der, what));
  Parsed p;
  p.certs.push_back(Ref(c));
  Store(k, std::move(p));
  return c;
}

Result<std::vector<X509Ptr>> CachedCertificates(ByteSpan data, std::string_view what) {
  Key k = Hasher("arca-attest-cache certs").Add(data).Finish();
  std::vector<X509Ptr> hit = Lookup(k, [](const Parsed& p) { return Refs(p.certs); });
  if (!hit.empty()) return hit;
  ARCA_ASSIGN_OR_RETURN(std::vector<X509Ptr> certs, ParseCertificates(data, what));
  Parsed p;
  p.certs = Refs(certs);
  Store(k, std::move(p));
  return certs;
}

Result<X509CrlPtr> CachedCrl(ByteSpan data, std::string_view what) {
  Key k = Hasher("arca-attest-cache crl").Add(data).Finish();
  X509CrlPtr hit = Lookup(k, [](const Parsed& p) {
    X509_CRL_up_ref(p.crl.get());
    return X509CrlPtr(p.crl.get());
  });
  if (hit) return hit;
  ARCA_ASSIGN_OR_RETURN(X509CrlPtr crl, ParseCrl(data, what));
  Parsed p;
  X509_CRL_up_ref(crl.get());
  p.crl.reset(crl.get());
  Store(k, std::move(p));
  return crl;
}

Result<std::shared_ptr<const Json>> CachedJson(std::string_view text, std::string_view what) {
  Key k = Hasher("arca-attest-cache json").Add(AsBytes(text)).Finish();
  std::shared_ptr<const Json> hit = Lookup(k, [](const Parsed& p) { return p.json; });
  if (hit) return hit;
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(text, what));
  auto shared = std::make_shared<const Json>(std::move(j));
  Parsed p;
  p.json = shared;
  Store(k, std::move(p));
  return shared;
}

bool CertSignedBy(const X509* cert, const X509* issuer) {
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  if (!key) return false;
  Key k = Hasher("arca-attest-cache x509-signed-by").Add(CertDer(cert)).Add(PublicKeyDer(issuer)).Finish();
  if (std::optional<bool> known = Known(k)) return *known;
  bool ok = X509_verify(const_cast<X509*>(cert), key) == 1;
  ERR_clear_error();
  Remember(k, ok);
  return ok;
}

bool CrlSignedBy(const X509_CRL* crl, const X509* issuer) {
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  if (!key) return false;
  Key k = Hasher("arca-attest-cache crl-signed-by").Add(CrlDer(crl)).Add(PublicKeyDer(issuer)).Finish();
  if (std::optional<bool> known = Known(k)) return *known;
  bool ok = X509_CRL_verify(const_cast<X509_CRL*>(crl), key) == 1;
  ERR_clear_error();
  Remember(k, ok);
  return ok;
}

SignatureFact MakeSignatureFact(std::string_view label, const X509* signer, ByteSpan msg, ByteSpan sig) {
  Key k = Hasher("arca-attest-cache signature").Add(AsBytes(label)).Add(PublicKeyDer(signer)).Add(msg).Add(sig).Finish();
  SignatureFact f;
  std::memcpy(f.key, k.data(), sizeof f.key);
  return f;
}

std::optional<bool> RecallSignature(const SignatureFact& fact) {
  Key k;
  std::memcpy(k.data(), fact.key, k.size());
  return Known(k);
}

void RememberSignature(const SignatureFact& fact, bool verifies) {
  Key k;
  std::memcpy(k.data(), fact.key, k.size());
  Remember(k, verifies);
}

CacheStats GetCacheStats() {
  Tables& t = T();
  std::lock_guard<std::mutex> lock(t.mu);
  return t.stats;
}

void ClearCaches() {
  Tables& t = T();
  std::lock_guard<std::mutex> lock(t.mu);
  t.parsed.clear();
  t.verified.clear();
  t.stats = {};
}

}  // namespace arca::attest::internal
