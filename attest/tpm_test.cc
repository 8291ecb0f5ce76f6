// TPM 2.0 quotes: vector P2 with the claims of MANIFEST.md §5, its
// negatives, AK anchoring and bad input.
#include "attest/tpm.h"

#include <gtest/gtest.h>

#include <filesystem>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "attest/bundle.h"
#include "attest/internal/x509.h"
#include "attest/test_util.h"
#include "base/crypto.h"
#include "base/openssl_util.h"
#include "base/signature.h"
#include "base/file_system.h"
#include "base/testing/status_matchers.h"
#include "base/testing/temp_dir.h"

namespace arca::attest {
namespace {

using testing::FailedCheck;
using testing::HasFailed;
using testing::HasPassed;
using testing::ReadVectorText;

EvidenceBundle P2(const std::string& file = "tpm/p2-tpm-evidence.json") {
  BundleBuilder b;
  EXPECT_THAT(b.SetTpmEvidence(ReadVectorText(file)), IsOk());
  auto r = b.Finish();
  EXPECT_TRUE(r.ok());
  return *r;
}

Bytes P2Ak() {
  auto j = ParseJson(ReadVectorText("tpm/p2-tpm-evidence.json"), "p2");
  return *Base64Decode((*j)["ak_public"].get<std::string>());
}

Verdict VerifyWithAk(const EvidenceBundle& b, std::optional<Bytes> ak) {
  // TPM quotes have no time dependence; any time will do.
  return VerifyBundle(b, *RootStore::Pinned(), {0, std::move(ak)});
}

TEST(TpmsAttest, P2ParsesManifestFields) {
  EvidenceBundle b = P2();
  auto a = ParseTpmsAttest(b.tpm_quote->message);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(b.tpm_quote->message.size(), 177u);
  EXPECT_EQ(b.tpm_quote->signature.size(), 262u);
  EXPECT_EQ(a->magic, 0xff544347u);
  EXPECT_EQ(a->type, 0x8018);
  EXPECT_EQ(HexEncode(a->qualified_signer), "000b3081a4cbbe307f3de1456f9875a3c2632528a70d91fcf578ccf092465e4e8e09");
  // MANIFEST §5: 64 bytes = the 48 listed bytes followed by zeros ("32
  // zero" there counts hex digits: 16 bytes).
  EXPECT_EQ(a->extra_data.size(), 64u);
  EXPECT_EQ(HexEncode(a->extra_data),
            "a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393ef0e41a18b3569ab678f1497fbc5c120" +
                std::string(32, '0'));
  EXPECT_EQ(a->clock, 1913548331u);
  EXPECT_EQ(a->firmware_version, 0x2019102300163636u);
  ASSERT_EQ(a->pcr_select.size(), 1u);
  EXPECT_EQ(a->pcr_select[0].hash_alg, 0x000b);
  EXPECT_EQ(a->pcr_select[0].pcrs.size(), 24u);
  EXPECT_EQ(HexEncode(a->pcr_digest), "019de64c9318655e422c3d03831169896e31f02a1d74e4d8fef575bf4e0d75fa");
  EXPECT_EQ(HexEncode(crypto::Sha256::Hash(P2Ak())), "a517f03ffdaee469aef1a19569547e330726335d0461c3ef6383409c6295679e");
}

TEST(TpmVerify, P2VerifiesWithNamedAk) {
  Verdict v = VerifyWithAk(P2(), P2Ak());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.claims["platform"], "tpm");
  EXPECT_TRUE(HasPassed(v, "tpm.quote.signature"));
  EXPECT_TRUE(HasPassed(v, "tpm.pcr_digest"));
  EXPECT_TRUE(HasPassed(v, "tpm.ak.anchor"));
  const Json& pcrs = v.claims["tpm"]["pcrs"]["sha256"];
  for (int i = 0; i < 24; ++i) {
    bool ff = i >= 17 && i <= 22;
    EXPECT_EQ(pcrs[std::to_string(i)], std::string(64, ff ? 'f' : '0')) << i;
  }
}

TEST(TpmVerify, UnanchoredAkIsRefusedAsSuch) {
  Verdict v = VerifyWithAk(P2(), std::nullopt);
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(FailedCheck(v).rfind("tpm.ak.anchor", 0), 0u) << FailedCheck(v);
  EXPECT_NE(v.status().message().find("unanchored"), std::string::npos);
  // The signature itself is still checked with the bundled key.
  EXPECT_TRUE(HasPassed(v, "tpm.quote.signature"));
}

TEST(TpmVerify, DifferentNamedAkRefused) {
  Bytes other = ToString(P2Ak()) == "" ? Bytes{} : P2Ak();
  other[40] ^= 1;  // a different modulus
  Verdict v = VerifyWithAk(P2(), other);
  EXPECT_FALSE(v.ok());
}

TEST(TpmNegative, Pcr0FlipIsPcrDigestMismatch) {
  Verdict v = VerifyWithAk(P2("tpm/negative/p2-neg-pcr0-flip.json"), P2Ak());
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasPassed(v, "tpm.quote.signature"));
  EXPECT_TRUE(HasFailed(v, "tpm.pcr_digest"));
  EXPECT_NE(FailedCheck(v).find("pcrDigest mismatch"), std::string::npos);
}

TEST(TpmNegative, SignatureFlipIsSignatureInvalid) {
  Verdict v = VerifyWithAk(P2("tpm/negative/p2-neg-signature-flip.json"), P2Ak());
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(HasFailed(v, "tpm.quote.signature"));
  EXPECT_TRUE(HasPassed(v, "tpm.pcr_digest"));
}

TEST(TpmNegative, MessageTruncatedIsParseError) {
  auto j = ParseJson(ReadVectorText("tpm/negative/p2-neg-message-truncated.json"), "neg");
  Bytes msg = *Base64Decode((*j)["tpm_quote"]["message"].get<std::string>());
  auto a = ParseTpmsAttest(msg);
  ASSERT_THAT(a.status(), HasCode(StatusCode::kInvalidArgument));
  EXPECT_NE(a.status().message().find("pcrDigest at offset 145 needs 32 bytes, 31 remain"), std::string::npos)
      << a.status().ToString();
  BundleBuilder b;
  EXPECT_THAT(b.SetTpmEvidence(ReadVectorText("tpm/negative/p2-neg-message-truncated.json")),
              HasCode(StatusCode::kInvalidArgument));
}

TEST(TpmNegative, TrailingByteRefused) {
  Bytes msg = P2().tpm_quote->message;
  msg.push_back(0);
  EXPECT_NE(ParseTpmsAttest(msg).status().message().find("trailing"), std::string::npos);
}

TEST(TpmNegative, WrongMagicAndTypeRefused) {
  Bytes msg = P2().tpm_quote->message;
  msg[0] = 0;
  EXPECT_NE(ParseTpmsAttest(msg).status().message().find("magic expected ff544347"), std::string::npos);
  msg = P2().tpm_quote->message;
  msg[5] = 0x17;
  EXPECT_NE(ParseTpmsAttest(msg).status().message().find("type expected 8018"), std::string::npos);
}

TEST(TpmNegative, OversizedRefused) {
  EXPECT_THAT(ParseTpmsAttest(Bytes(kMaxTpmsAttestBytes + 1)).status(), HasCode(StatusCode::kResourceExhausted));
}

TEST(TpmNegative, UnknownSignatureAlgorithmRefused) {
  EvidenceBundle b = P2();
  b.tpm_quote->signature[1] = 0x99;  // sigAlg 0x0099
  Verdict v = VerifyWithAk(b, P2Ak());
  EXPECT_TRUE(HasFailed(v, "tpm.quote.signature"));
  EXPECT_NE(FailedCheck(v).find("sigAlg expected"), std::string::npos) << FailedCheck(v);
}

TEST(TpmNegative, EveryTruncationRefused) {
  Bytes msg = P2().tpm_quote->message;
  for (std::size_t n = 0; n < msg.size(); ++n) EXPECT_FALSE(ParseTpmsAttest(ByteSpan(msg).first(n)).ok()) << n;
}


// --- AK certificates: a TPM quote anchored by a certificate for its AK ---

namespace akcert {

EvpPkeyPtr NewP256() { return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

// Cert issues a certificate for `key` named `cn` by `issuer` (self-signed
// when null) valid [not_before, not_after]; `eku` adds an extended key usage.
X509Ptr Cert(const std::string& cn, EVP_PKEY* key, const X509* issuer, EVP_PKEY* issuer_key, bool ca, const char* eku,
             time_t not_before = 1704067200, time_t not_after = 4102444799) {
  X509Ptr x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), ca ? 1 : 2);
  X509_time_adj_ex(X509_getm_notBefore(x.get()), 0, 0, &not_before);
  X509_time_adj_ex(X509_getm_notAfter(x.get()), 0, 0, &not_after);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(x.get(), key);
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer ? const_cast<X509*>(issuer) : x.get(), x.get(), nullptr, nullptr, 0);
  auto add = [&](int nid, const char* value) {
    X509ExtensionPtr e(X509V3_EXT_conf_nid(nullptr, &v3, nid, value));
    EXPECT_TRUE(e && X509_add_ext(x.get(), e.get(), -1) == 1) << value;
  };
  add(NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  if (eku) add(NID_ext_key_usage, eku);
  EXPECT_GT(X509_sign(x.get(), issuer_key, EVP_sha256()), 0);
  return x;
}

Bytes Der(const X509* x) { return internal::CertDer(x); }

std::string Pem(const X509* x) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), const_cast<X509*>(x));
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, std::size_t(n));
}

void Be(Bytes& o, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) o.push_back(std::uint8_t(v >> (8 * i)));
}
void Tpm2b(Bytes& o, ByteSpan b) {
  Be(o, b.size(), 2);
  o.insert(o.end(), b.begin(), b.end());
}

// Quote returns a TPM quote over PCR 23 (SHA-256 bank) with `nonce`,
// signed ECDSA P-256/SHA-256 by `ak` (TPM 2.0 Part 2 §10.12.8, §11.3.4).
TpmQuote Quote(EVP_PKEY* ak, ByteSpan nonce) {
  Bytes pcr(32, 0x23);
  auto digest = crypto::Sha256::Hash(pcr);
  Bytes m;
  Be(m, 0xff544347, 4);
  Be(m, 0x8018, 2);
  Tpm2b(m, Bytes{0x00, 0x0b, 1, 2, 3});
  Tpm2b(m, nonce);
  Be(m, 123456, 8);
  Be(m, 1, 4);
  Be(m, 0, 4);
  m.push_back(1);
  Be(m, 0x2019102300163636ull, 8);
  Be(m, 1, 4);           // one selection
  Be(m, 0x000b, 2);      // SHA-256
  m.push_back(3);        // three bitmap bytes
  m.insert(m.end(), {0x00, 0x00, 0x80});  // PCR 23
  Tpm2b(m, digest);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, ak), 1);
  std::size_t len = 0;
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, m.data(), m.size()), 1);
  Bytes der(len);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), der.data(), &len, m.data(), m.size()), 1);
  der.resize(len);
  Bytes rs = *crypto::EcdsaDerToRaw(crypto::KeyType::kEcdsaP256Sha256, der);
  Bytes sig;
  Be(sig, 0x0018, 2);
  Be(sig, 0x000b, 2);
  Tpm2b(sig, ByteSpan(rs).first(32));
  Tpm2b(sig, ByteSpan(rs).subspan(32));
  return {m, sig, {pcr}};
}

struct Fixture {
  EvpPkeyPtr ca_key = NewP256(), ak = NewP256();
  X509Ptr ca = Cert("Test AK CA", ca_key.get(), nullptr, ca_key.get(), true, nullptr);
  X509Ptr ak_cert = Cert("Test AK", ak.get(), ca.get(), ca_key.get(), false, "2.23.133.8.3");
  Bytes nonce = Bytes(32, 0x5a);

  EvidenceBundle Bundle(const X509* cert) const {
    EvidenceBundle b;
    b.platform = Platform::kTpm;
    b.tpm_quote = Quote(ak.get(), nonce);
    b.tpm_ak_public = internal::PublicKeyToDer(ak.get());
    b.certificates = {Der(cert), Der(ca.get())};
    return b;
  }
  RootStore TpmRoots() const {
    std::string pem = Pem(ca.get());
    return *RootStore::FromCertificates({}, {Bytes(pem.begin(), pem.end())});
  }
};

const UnixSeconds kT = 1780000000;  // 2026-05-28

Verdict Verify(const EvidenceBundle& b, const RootStore& roots, UnixSeconds t = kT) {
  return VerifyBundle(b, roots, {t, std::nullopt});
}

}  // namespace akcert

TEST(TpmAkCertificate, AnchorsTheAkWhenItChainsToAConfiguredTpmRoot) {
  akcert::Fixture f;
  Verdict v = akcert::Verify(f.Bundle(f.ak_cert.get()), f.TpmRoots());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(HasPassed(v, "tpm.ak.anchor"));
  EXPECT_EQ(v.claims["reportData"], HexEncode(f.nonce));
  bool named = false;
  for (const auto& c : v.checks())
    if (c.name == "tpm.ak.anchor") named = c.detail.find("Test AK <- Test AK CA") != std::string::npos;
  EXPECT_TRUE(named);
  // The bundle need not repeat the key: the certificate carries it.
  EvidenceBundle no_key = f.Bundle(f.ak_cert.get());
  no_key.tpm_ak_public.clear();
  EXPECT_TRUE(akcert::Verify(no_key, f.TpmRoots()).ok());
}

TEST(TpmAkCertificate, IsRefusedWithoutATpmRoot) {
  akcert::Fixture f;
  // Pinned roots (no TPM root), and the same CA configured as an ordinary
  // (Intel-kind) root: neither anchors an AK certificate.
  for (const RootStore& roots : {*RootStore::Pinned(), [&] {
         std::string pem = akcert::Pem(f.ca.get());
         return *RootStore::FromCertificates({Bytes(pem.begin(), pem.end())});
       }()}) {
    Verdict v = akcert::Verify(f.Bundle(f.ak_cert.get()), roots);
    EXPECT_FALSE(v.ok());
    EXPECT_TRUE(HasFailed(v, "tpm.ak.anchor")) << FailedCheck(v);
    EXPECT_NE(v.status().message().find("AK certificate Test AK"), std::string::npos) << v.status().message();
  }
}

TEST(TpmAkCertificate, RefusalsNameTheCertificate) {
  akcert::Fixture f;
  // Without the AK EKU it is not an AK certificate: the AK stays unanchored.
  X509Ptr no_eku = akcert::Cert("Test AK", f.ak.get(), f.ca.get(), f.ca_key.get(), false, "clientAuth");
  Verdict v1 = akcert::Verify(f.Bundle(no_eku.get()), f.TpmRoots());
  EXPECT_TRUE(HasFailed(v1, "tpm.ak.anchor")) << FailedCheck(v1);
  EXPECT_NE(v1.status().message().find("unanchored"), std::string::npos) << v1.status().message();
  // A certificate for another key than the bundle's AK.
  EvpPkeyPtr other = akcert::NewP256();
  X509Ptr wrong_key = akcert::Cert("Test AK", other.get(), f.ca.get(), f.ca_key.get(), false, "2.23.133.8.3");
  Verdict v2 = akcert::Verify(f.Bundle(wrong_key.get()), f.TpmRoots());
  EXPECT_TRUE(HasFailed(v2, "tpm.ak.anchor")) << FailedCheck(v2);
  EXPECT_NE(v2.status().message().find("differs from the bundle's tpmAkPublic"), std::string::npos);
  // ... and with the bundle's claimed key removed, the quote's signature
  // (by the real AK) does not verify under the certified key.
  EvidenceBundle b3 = f.Bundle(wrong_key.get());
  b3.tpm_ak_public.clear();
  Verdict v3 = akcert::Verify(b3, f.TpmRoots());
  EXPECT_TRUE(HasFailed(v3, "tpm.quote.signature")) << FailedCheck(v3);
  // Expired at the verification time.
  Verdict v4 = akcert::Verify(f.Bundle(f.ak_cert.get()), f.TpmRoots(), 4102444800);
  EXPECT_TRUE(HasFailed(v4, "tpm.ak.anchor")) << FailedCheck(v4);
  EXPECT_NE(v4.status().message().find("expired"), std::string::npos) << v4.status().message();
  // Issued by a CA that is not the configured root.
  EvpPkeyPtr rogue_key = akcert::NewP256();
  X509Ptr rogue = akcert::Cert("Test AK CA", rogue_key.get(), nullptr, rogue_key.get(), true, nullptr);
  X509Ptr rogue_ak = akcert::Cert("Test AK", f.ak.get(), rogue.get(), rogue_key.get(), false, "2.23.133.8.3");
  EvidenceBundle b5 = f.Bundle(rogue_ak.get());
  b5.certificates[1] = akcert::Der(rogue.get());
  Verdict v5 = akcert::Verify(b5, f.TpmRoots());
  EXPECT_TRUE(HasFailed(v5, "tpm.ak.anchor")) << FailedCheck(v5);
}

TEST(TpmAkCertificate, RootsDirectoryTpmSubdirectoryHoldsTpmRoots) {
  akcert::Fixture f;
  testing_util::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/tpm");
  std::string pem = akcert::Pem(f.ca.get());
  ASSERT_TRUE(WriteFileAtomic(FileSystem::Default(), dir.path() + "/tpm/ak-ca.pem", AsBytes(pem), 0644).ok());
  auto roots = RootStore::FromDirectory(dir.path());
  ASSERT_TRUE(roots.ok()) << roots.status().ToString();
  EXPECT_EQ(roots->Anchors(RootVendor::kTpm).size(), 1u);
  EXPECT_EQ(roots->Anchors(RootVendor::kIntel).size(), 0u);
  EXPECT_TRUE(akcert::Verify(f.Bundle(f.ak_cert.get()), *roots).ok());
  // The same file one level up is an ordinary (Intel-kind, EC) root.
  ASSERT_TRUE(WriteFileAtomic(FileSystem::Default(), dir.path() + "/ak-ca.pem", AsBytes(pem), 0644).ok());
  std::filesystem::remove(dir.path() + "/tpm/ak-ca.pem");
  auto flat = RootStore::FromDirectory(dir.path());
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(flat->Anchors(RootVendor::kTpm).size(), 0u);
  EXPECT_FALSE(akcert::Verify(f.Bundle(f.ak_cert.get()), *flat).ok());
}

// A TPM2B_PUBLIC as `tpm2_readpublic -f tss` wrote it for an AK made by
// `tpm2_createak -G ecc -g sha256 -s ecdsa` on swtpm 0.7 (tpm2-tools 5.4);
// layout per TPM 2.0 Part 2 §12.2.5 TPM2B_PUBLIC.
Bytes SwtpmAkPublic() {
  return *HexDecode("00580023000b00050072000000100018000b000300100020ff666d2b27fd307a601b285008a1cb1310fe53c180a80d890970795ac4bfd7b500201b056938397aae1d252ff8397598b721c87900d566b02b13b17013cb5dcbbf4b");
}

TEST(Tpm2bPublic, ParsesAnEcdsaP256AttestationKey) {
  auto p = ParseTpm2bPublic(SwtpmAkPublic());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name_alg, 0x000b);
  EXPECT_EQ(p->attributes, 0x00050072u);  // fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign
  EXPECT_EQ(p->symmetric, 0x0010);
  EXPECT_EQ(p->scheme, 0x0018);
  EXPECT_EQ(p->scheme_hash, 0x000b);
  EXPECT_EQ(p->curve, 0x0003);
  EXPECT_EQ(p->kdf, 0x0010);
  EXPECT_EQ(HexEncode(p->x), "ff666d2b27fd307a601b285008a1cb1310fe53c180a80d890970795ac4bfd7b5");
  EXPECT_EQ(HexEncode(p->y), "1b056938397aae1d252ff8397598b721c87900d566b02b13b17013cb5dcbbf4b");
}

TEST(Tpm2bPublic, EveryTruncationIsRefused) {
  Bytes b = SwtpmAkPublic();
  for (std::size_t n = 0; n < b.size(); ++n) {
    EXPECT_THAT(ParseTpm2bPublic(ByteSpan(b).first(n)).status(), HasCode(StatusCode::kInvalidArgument)) << n;
  }
}

TEST(Tpm2bPublic, TrailingByteAndWrongSizeRefused) {
  Bytes b = SwtpmAkPublic();
  b.push_back(0);
  EXPECT_THAT(ParseTpm2bPublic(b).status(), HasCodeAndMessage(StatusCode::kInvalidArgument, "size says"));
  b[1] += 1;  // the outer size now covers the extra byte
  EXPECT_THAT(ParseTpm2bPublic(b).status(), HasCodeAndMessage(StatusCode::kInvalidArgument, "trailing"));
}

TEST(Tpm2bPublic, RsaKeyRefusedNamingTheType) {
  Bytes b = SwtpmAkPublic();
  b[3] = 0x01;  // TPM_ALG_RSA
  EXPECT_THAT(ParseTpm2bPublic(b).status(), HasCodeAndMessage(StatusCode::kInvalidArgument, "got 0001"));
}

TEST(Tpm2bPublic, OversizedRefused) {
  Bytes b(kMaxTpmPublicBytes + 1);
  EXPECT_THAT(ParseTpm2bPublic(b).status(), HasCode(StatusCode::kResourceExhausted));
}

}  // namespace
}  // namespace arca::attest
