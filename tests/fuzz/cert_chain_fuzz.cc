// Fuzz target: certificate chain handling (specs/attestation.md §5).
// Bytes -> ParseCertificates (one DER certificate or PEM with several) and
// ParseCrl (DER or the first PEM CRL), then for every parsed certificate:
// the AMD and Intel vendor-extension readers, chain building under both
// vendors' policies to the pinned roots and to the simulated TEE's test
// roots, and the CRL check against each certificate. Properties (abort when
// broken): a certificate re-encodes and re-parses to the same DER; the
// memoized parse (internal/cache.h) agrees with the plain one; a chain that
// builds starts at the leaf, ends at one of the offered anchors and never
// at a certificate of the input; a CRL that checks out was issued by the
// certificate it was checked against.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "attest/internal/cache.h"
#include "attest/internal/extensions.h"
#include "attest/internal/x509.h"
#include "attest/roots.h"
#include "attest/sim.h"

namespace {

using namespace arca;
using namespace arca::attest;

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "cert_chain invariant broken: %s\n", what);
    std::abort();
  }
}

// AlgorithmIdentifiers of the two vendor policies (as snp.cc / tdx.cc).
constexpr std::uint8_t kEcdsaSha256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};

const std::vector<RootStore>& Stores() {
  static const std::vector<RootStore> kStores = [] {
    std::vector<RootStore> s;
    auto pinned = RootStore::Pinned();
    Require(pinned.ok(), "pinned roots load");
    s.push_back(*pinned);
    auto sim = SimRootStore();
    Require(sim.ok(), "simulated roots load");
    s.push_back(*sim);
    return s;
  }();
  return kStores;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  ByteSpan in(data, size);
  auto certs = internal::ParseCertificates(in, "fuzz input");
  auto crl = internal::ParseCrl(in, "fuzz input");
  auto cached = internal::CachedCertificates(in, "fuzz input");
  Require(certs.ok() == cached.ok(), "memoized certificate parse agrees on success");
  if (certs.ok()) {
    Require(certs->size() == cached->size(), "memoized certificate parse agrees on count");
    for (std::size_t i = 0; i < certs->size(); ++i) {
      Require(internal::CertDer((*certs)[i].get()) == internal::CertDer((*cached)[i].get()),
            "memoized certificate parse agrees on DER");
    }
  }
  std::vector<const X509*> pool;
  if (certs.ok()) {
    for (const auto& c : *certs) {
      pool.push_back(c.get());
      Bytes der = internal::CertDer(c.get());
      auto again = internal::ParseCertificateDer(der, "re-encoded");
      Require(again.ok() && internal::CertDer(again->get()) == der, "certificate DER round trip");
      (void)internal::CommonName(c.get());
      (void)internal::IssuerCommonName(c.get());
      (void)internal::ReadVcekExtensions(c.get());
      (void)internal::ReadPckExtensions(c.get());
    }
  }
  const UnixSeconds t = 1748736000;  // 2025-06-01T00:00:00Z
  for (const X509* leaf : pool) {
    for (const RootStore& store : Stores()) {
      for (RootVendor vendor : {RootVendor::kAmd, RootVendor::kIntel}) {
        std::vector<internal::Anchor> anchors = store.Anchors(vendor);
        internal::ChainPolicy policy{vendor == RootVendor::kIntel ? ByteSpan(kEcdsaSha256) : ByteSpan(), {}, "fuzz"};
        auto chain = internal::BuildChain(leaf, pool, anchors, t, policy);
        if (!chain.ok()) continue;
        Require(!chain->certs.empty() && chain->certs.front() == leaf, "chain starts at the leaf");
        Require(chain->anchor >= anchors.data() && chain->anchor < anchors.data() + anchors.size(),
              "chain ends at an offered anchor");
        const X509* last = chain->certs.back();
        Require(internal::CertDer(last) == internal::CertDer(chain->anchor->cert), "last certificate is the anchor");
        (void)chain->Describe();
      }
    }
    if (crl.ok()) {
      for (const X509* issuer : pool) {
        Status s = internal::CheckCrl(crl->get(), issuer, leaf, t, "fuzz CRL");
        if (s.ok()) {
          Require(X509_NAME_cmp(X509_CRL_get_issuer(crl->get()), X509_get_subject_name(issuer)) == 0,
                "an accepted CRL names its issuer");
        }
      }
    }
  }
  if (crl.ok()) {
    for (const RootStore& store : Stores()) {
      for (const Root& r : store.roots()) {
        for (const X509* subject : pool) (void)internal::CheckCrl(crl->get(), r.cert.get(), subject, t, "fuzz CRL");
      }
    }
  }
  return 0;
}
