#include "attest/sim.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "attest/internal/der.h"
#include "attest/internal/sim_keys.h"
#include "attest/internal/x509.h"
#include "attest/snp.h"
#include "attest/tdx.h"
#include "base/crypto.h"
#include "base/signature.h"

namespace arca::attest {
namespace {

using crypto::KeyType;

constexpr char kSimOrganization[] = "Arca simulated TEE (TEST ONLY)";
constexpr UnixSeconds kDay = 86400;

// Fixed platform values of the simulated TDX machine (spec §10.2).
constexpr int kSimSgxComponents[16] = {3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0};
constexpr int kSimPceSvn = 13;
constexpr std::uint8_t kSimFmspc[6] = {0xa7, 0xca, 0x00, 0x00, 0x00, 0x01};
constexpr std::uint16_t kSimQeIsvSvn = 8;
constexpr std::uint16_t kSimQeIsvProdId = 2;
constexpr std::uint8_t kSimTeeTcbSvn[16] = {5, 1, 2};
constexpr std::uint8_t kIntelQeVendorId[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                               0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

template <std::size_t N>
std::array<std::uint8_t, N> Derived(std::string_view label) {
  Bytes d = crypto::Sha512(AsBytes(label));
  std::array<std::uint8_t, N> out{};
  std::copy(d.begin(), d.begin() + N, out.begin());
  return out;
}

Result<EvpPkeyPtr> LoadKey(const char* pem, const char* what) {
  BioPtr bio(BIO_new_mem_buf(pem, -1));
  EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return OpenSslError(StatusCode::kInternal, std::string("simulated TEE: loading the ") + what + " key");
  return key;
}

// InitSigning prepares `ctx` to sign as the vendor does: RSA keys (AMD's
// ARK and ASK) with RSASSA-PSS SHA-384, MGF1-SHA-384, salt 48; EC keys with
// ECDSA and `ec_md`.
Status InitSigning(EVP_MD_CTX* ctx, EVP_PKEY* key, const EVP_MD* ec_md) {
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  bool rsa = EVP_PKEY_is_a(key, "RSA");
  if (EVP_DigestSignInit(ctx, &pctx, rsa ? EVP_sha384() : ec_md, nullptr, key) != 1) {
    return OpenSslError(StatusCode::kInternal, "simulated TEE: signing init");
  }
  if (rsa && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) != 1 ||
              EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) != 1)) {
    return OpenSslError(StatusCode::kInternal, "simulated TEE: RSA-PSS parameters");
  }
  return Status::Ok();
}

// SignRaw signs `msg` with an EC key and returns r || s big-endian.
Result<Bytes> SignRaw(EVP_PKEY* key, KeyType type, ByteSpan msg) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return InternalError("simulated TEE: EVP_MD_CTX_new");
  ARCA_RETURN_IF_ERROR(InitSigning(ctx.get(), key, type == KeyType::kEcdsaP384Sha384 ? EVP_sha384() : EVP_sha256()));
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, msg.data(), msg.size()) != 1) {
    return OpenSslError(StatusCode::kInternal, "simulated TEE: signature size");
  }
  Bytes der(len);
  if (EVP_DigestSign(ctx.get(), der.data(), &len, msg.data(), msg.size()) != 1) {
    return OpenSslError(StatusCode::kInternal, "simulated TEE: signing");
  }
  der.resize(len);
  return crypto::EcdsaDerToRaw(type, der);
}

// Extension is a raw X.509 extension: OID and the bytes of extnValue.
struct Extension {
  std::string oid;
  Bytes value;
};

Status AddExtension(X509* x, int nid, const char* value, X509V3_CTX* v3) {
  X509ExtensionPtr e(X509V3_EXT_conf_nid(nullptr, v3, nid, value));
  if (!e || X509_add_ext(x, e.get(), -1) != 1) return OpenSslError(StatusCode::kInternal, "simulated TEE: extension");
  return Status::Ok();
}

// MakeCert issues a certificate for `subject_key` named `cn`, signed by
// `issuer_key` under `issuer`'s name (self-signed when issuer is null).
Result<X509Ptr> MakeCert(const std::string& cn, EVP_PKEY* subject_key, const X509* issuer, EVP_PKEY* issuer_key,
                         long serial, bool ca, const std::vector<Extension>& extensions) {
  X509Ptr x(X509_new());
  if (!x) return InternalError("simulated TEE: X509_new");
  time_t not_before = kSimNotBefore, not_after = kSimNotAfter;
  X509_NAME* name = X509_get_subject_name(x.get());
  if (X509_set_version(x.get(), X509_VERSION_3) != 1 || ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial) != 1 ||
      !X509_time_adj_ex(X509_getm_notBefore(x.get()), 0, 0, &not_before) ||
      !X509_time_adj_ex(X509_getm_notAfter(x.get()), 0, 0, &not_after) ||
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(kSimOrganization), -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                                 -1, 0) != 1 ||
      X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name) != 1 ||
      X509_set_pubkey(x.get(), subject_key) != 1) {
    return OpenSslError(StatusCode::kInternal, "simulated TEE: certificate fields for " + cn);
  }
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer ? const_cast<X509*>(issuer) : x.get(), x.get(), nullptr, nullptr, 0);
  ARCA_RETURN_IF_ERROR(AddExtension(x.get(), NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE", &v3));
  ARCA_RETURN_IF_ERROR(AddExtension(x.get(), NID_key_usage,
                                    ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,nonRepudiation", &v3));
  for (const Extension& e : extensions) {
    Asn1ObjectPtr obj(OBJ_txt2obj(e.oid.c_str(), 1));
    Asn1OctetStringPtr data(ASN1_OCTET_STRING_new());
    if (!obj || !data || ASN1_OCTET_STRING_set(data.get(), e.value.data(), int(e.value.size())) != 1) {
      return OpenSslError(StatusCode::kInternal, "simulated TEE: extension " + e.oid);
    }
    X509ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), 0, data.get()));
    if (!ext || X509_add_ext(x.get(), ext.get(), -1) != 1) {
      return OpenSslError(StatusCode::kInternal, "simulated TEE: extension " + e.oid);
    }
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return InternalError("simulated TEE: EVP_MD_CTX_new");
  ARCA_RETURN_IF_ERROR(InitSigning(ctx.get(), issuer_key, EVP_sha256()));
  if (X509_sign_ctx(x.get(), ctx.get()) <= 0) return OpenSslError(StatusCode::kInternal, "simulated TEE: signing " + cn);
  return x;
}

Result<Bytes> MakeCrl(const X509* issuer, EVP_PKEY* key, UnixSeconds now) {
  X509CrlPtr crl(X509_CRL_new());
  Asn1TimePtr this_update(ASN1_TIME_set(nullptr, time_t(now - kDay)));
  Asn1TimePtr next_update(ASN1_TIME_set(nullptr, time_t(now + 30 * kDay)));
  if (!crl || !this_update || !next_update || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer)) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1 || X509_CRL_sign(crl.get(), key, EVP_sha256()) <= 0) {
    return OpenSslError(StatusCode::kInternal, "simulated TEE: CRL of " + internal::CommonName(issuer));
  }
  return internal::CrlDer(crl.get());
}

Result<std::string> CertPem(const X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), const_cast<X509*>(cert)) != 1) {
    return OpenSslError(StatusCode::kInternal, "simulated TEE: PEM encoding");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, std::size_t(n));
}

Bytes DerInt(unsigned v) {
  std::uint8_t b[4] = {std::uint8_t(v >> 24), std::uint8_t(v >> 16), std::uint8_t(v >> 8), std::uint8_t(v)};
  return internal::DerUnsignedInteger(b);
}

Bytes DerOid(const std::string& text) {
  Asn1ObjectPtr obj(OBJ_txt2obj(text.c_str(), 1));
  unsigned char* buf = nullptr;
  int n = obj ? i2d_ASN1_OBJECT(obj.get(), &buf) : 0;
  Bytes out;
  if (n > 0) out.assign(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// PckSgxExtension is the Intel SGX extension (1.2.840.113741.1.13.1) of the
// simulated PCK: PPID, TCB (16 components, PCESVN, CPUSVN), PCE-ID, FMSPC,
// SGX type, as ReadPckExtensions reads it.
Bytes PckSgxExtension() {
  const std::string base = "1.2.840.113741.1.13.1";
  auto item = [](const std::string& oid, const Bytes& value) { return internal::DerEncode(0x30, Cat({DerOid(oid), value})); };
  Bytes tcb;
  Bytes cpusvn;
  for (int i = 0; i < 16; ++i) {
    tcb = Cat({tcb, item(base + ".2." + std::to_string(i + 1), DerInt(unsigned(kSimSgxComponents[i])))});
    cpusvn.push_back(std::uint8_t(kSimSgxComponents[i]));
  }
  tcb = Cat({tcb, item(base + ".2.17", DerInt(kSimPceSvn)), item(base + ".2.18", internal::DerEncode(0x04, cpusvn))});
  auto ppid = Derived<16>("arca-sim-ppid-v1");
  Bytes body = Cat({item(base + ".1", internal::DerEncode(0x04, ppid)),
                    item(base + ".2", internal::DerEncode(0x30, tcb)),
                    item(base + ".3", internal::DerEncode(0x04, Bytes{0, 0})),
                    item(base + ".4", internal::DerEncode(0x04, Bytes(std::begin(kSimFmspc), std::end(kSimFmspc)))),
                    item(base + ".5", internal::DerEncode(0x0a, Bytes{0}))});
  return internal::DerEncode(0x30, body);
}

// Hierarchy is the fixed test PKI, made once per process.
struct Hierarchy {
  EvpPkeyPtr ark_key, ask_key, vcek_key, asvk_key, vlek_key, root_key, pck_ca_key, pck_key, tcb_key;
  X509Ptr ark, ask, asvk, root, pck_ca, pck, tcb;
  std::string pck_chain_pem;
};

Result<std::shared_ptr<const Hierarchy>> MakeHierarchy() {
  auto h = std::make_shared<Hierarchy>();
  ARCA_ASSIGN_OR_RETURN(h->ark_key, LoadKey(internal::kSimArkKeyPem, "ARK"));
  ARCA_ASSIGN_OR_RETURN(h->ask_key, LoadKey(internal::kSimAskKeyPem, "ASK"));
  ARCA_ASSIGN_OR_RETURN(h->vcek_key, LoadKey(internal::kSimVcekKeyPem, "VCEK"));
  ARCA_ASSIGN_OR_RETURN(h->asvk_key, LoadKey(internal::kSimAsvkKeyPem, "ASVK"));
  ARCA_ASSIGN_OR_RETURN(h->vlek_key, LoadKey(internal::kSimVlekKeyPem, "VLEK"));
  ARCA_ASSIGN_OR_RETURN(h->root_key, LoadKey(internal::kSimIntelRootKeyPem, "SGX root"));
  ARCA_ASSIGN_OR_RETURN(h->pck_ca_key, LoadKey(internal::kSimPckCaKeyPem, "PCK CA"));
  ARCA_ASSIGN_OR_RETURN(h->pck_key, LoadKey(internal::kSimPckKeyPem, "PCK"));
  ARCA_ASSIGN_OR_RETURN(h->tcb_key, LoadKey(internal::kSimTcbSigningKeyPem, "TCB signing"));
  ARCA_ASSIGN_OR_RETURN(h->ark, MakeCert(kSimArkName, h->ark_key.get(), nullptr, h->ark_key.get(), 1, true, {}));
  ARCA_ASSIGN_OR_RETURN(h->ask, MakeCert("ARCA-SIM-ASK", h->ask_key.get(), h->ark.get(), h->ark_key.get(), 2, true, {}));
  ARCA_ASSIGN_OR_RETURN(h->asvk, MakeCert("ARCA-SIM-ASVK", h->asvk_key.get(), h->ark.get(), h->ark_key.get(), 3, true, {}));
  ARCA_ASSIGN_OR_RETURN(h->root,
                        MakeCert(kSimIntelRootName, h->root_key.get(), nullptr, h->root_key.get(), 1, true, {}));
  ARCA_ASSIGN_OR_RETURN(h->pck_ca, MakeCert("ARCA-SIM SGX PCK Platform CA", h->pck_ca_key.get(), h->root.get(),
                                            h->root_key.get(), 2, true, {}));
  ARCA_ASSIGN_OR_RETURN(h->pck, MakeCert("ARCA-SIM SGX PCK Certificate", h->pck_key.get(), h->pck_ca.get(),
                                         h->pck_ca_key.get(), 3, false, {{"1.2.840.113741.1.13.1", PckSgxExtension()}}));
  ARCA_ASSIGN_OR_RETURN(h->tcb, MakeCert("ARCA-SIM SGX TCB Signing", h->tcb_key.get(), h->root.get(), h->root_key.get(),
                                         4, false, {}));
  for (const X509* c : {h->pck.get(), h->pck_ca.get(), h->root.get()}) {
    ARCA_ASSIGN_OR_RETURN(std::string pem, CertPem(c));
    h->pck_chain_pem += pem;
  }
  return std::shared_ptr<const Hierarchy>(std::move(h));
}

const Result<std::shared_ptr<const Hierarchy>>& GetHierarchy() {
  static const Result<std::shared_ptr<const Hierarchy>> kHierarchy = MakeHierarchy();
  return kHierarchy;
}

// VcekExtensions are AMD's VCEK/VLEK extensions (1.3.6.1.4.1.3704.1.x) for
// the reported TCB and chip: Milan layout SPLs .3.1-.3.8 (.3.4-.3.7 the
// reserved bytes), Turin layout .3.1-.3.3, .3.8 and FMC .3.9; hwID .4 on a
// VCEK, CSP id .5 on a VLEK.
std::vector<Extension> VcekExtensions(std::uint64_t tcb, const std::array<std::uint8_t, 64>& chip_id, bool turin,
                                      bool vlek) {
  SnpTcb t = DecodeSnpTcb(tcb, turin);
  const std::string p = "1.3.6.1.4.1.3704.1.";
  std::vector<Extension> ext = {
      {p + "1", DerInt(1)},
      {p + "2", internal::DerEncode(0x16, AsBytes(turin ? "Turin-B0" : "Milan-B0"))},
      {p + "3.1", DerInt(t.bootloader)},
      {p + "3.2", DerInt(t.tee)},
  };
  if (turin) {
    ext.push_back({p + "3.3", DerInt(t.snp)});
  } else {
    for (int i = 3; i <= 7; ++i) {
      std::uint8_t b[8];
      StoreLe64(b, tcb);
      // SPL 3 is SNP (byte 6); 4..7 are reserved bytes 2..5.
      ext.push_back({p + "3." + std::to_string(i), DerInt(i == 3 ? t.snp : b[i - 2])});
    }
  }
  ext.push_back({p + "3.8", DerInt(t.microcode)});
  if (turin) ext.push_back({p + "3.9", DerInt(t.fmc)});
  if (vlek) {
    ext.push_back({p + "5", internal::DerEncode(0x16, AsBytes("ARCA-SIM-CSP"))});
  } else {
    ext.push_back({p + "4", Bytes(chip_id.begin(), chip_id.end())});
  }
  return ext;
}

std::string UpperHex(ByteSpan b) {
  std::string s = HexEncode(b);
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

Json SvnList(const std::uint8_t* v, int n) {
  Json a = Json::array();
  for (int i = 0; i < n; ++i) a.push_back({{"svn", v[i]}});
  return a;
}

}  // namespace

Result<std::vector<SimRoot>> SimRoots() {
  const auto& h = GetHierarchy();
  if (!h.ok()) return h.status();
  std::vector<SimRoot> out;
  for (auto [file, cert] : {std::pair{"arca-sim-ark.pem", (*h)->ark.get()}, std::pair{"arca-sim-intel-root.pem", (*h)->root.get()}}) {
    ARCA_ASSIGN_OR_RETURN(std::string pem, CertPem(cert));
    out.push_back({file, std::move(pem), HexEncode(crypto::Sha256::Hash(internal::SpkiDer(cert)))});
  }
  return out;
}

Result<RootStore> SimRootStore() {
  ARCA_ASSIGN_OR_RETURN(std::vector<SimRoot> roots, SimRoots());
  std::vector<Bytes> pems;
  for (const auto& r : roots) pems.emplace_back(r.pem.begin(), r.pem.end());
  return RootStore::FromCertificates(pems);
}

Result<EvidenceBundle> SimSnpEvidence(const SimSnpOptions& o) {
  const auto& hr = GetHierarchy();
  if (!hr.ok()) return hr.status();
  const Hierarchy& h = **hr;

  SnpReport r;
  r.version = 3;
  r.guest_svn = 0;
  // SMT allowed (16), reserved-1 (17), DEBUG (19) on request.
  r.policy = DecodeSnpPolicy(0x30000ull | (o.debug ? 1ull << 19 : 0));
  r.vmpl = o.vmpl;
  r.signature_algo = 1;
  r.current_tcb = r.reported_tcb = r.committed_tcb = r.launch_tcb = o.reported_tcb;
  r.platform_info = 1;  // SMT enabled
  r.signing_key = o.vlek ? 1 : 0;  // VCEK or VLEK
  r.report_data = o.report_data;
  r.measurement = o.measurement;
  r.host_data = o.host_data;
  crypto::RandomBytes(r.report_id);
  r.report_id_ma.fill(0xff);  // no migration agent
  r.cpuid_fam_id = o.turin ? 0x1A : 0x19;  // Turin or Milan
  r.cpuid_mod_id = o.turin ? 0x02 : 0x01;
  r.cpuid_step = o.turin ? 0x00 : 0x01;
  r.chip_id = Derived<64>("arca-sim-chip-id-v1");
  r.current_major = r.committed_major = 1;
  r.current_minor = r.committed_minor = 55;
  r.current_build = r.committed_build = 21;

  Bytes unsigned_report = SerializeSnpReport(r);
  EVP_PKEY* signing_key = o.vlek ? h.vlek_key.get() : h.vcek_key.get();
  ARCA_ASSIGN_OR_RETURN(Bytes rs, SignRaw(signing_key, KeyType::kEcdsaP384Sha384,
                                          ByteSpan(unsigned_report).first(kSnpSignedSize)));
  // SNP ABI: R and S are little-endian, zero-extended to 72 bytes.
  for (std::size_t i = 0; i < 48; ++i) {
    r.signature_r[i] = rs[47 - i];
    r.signature_s[i] = rs[95 - i];
  }
  const X509* issuer = o.vlek ? h.asvk.get() : h.ask.get();
  EVP_PKEY* issuer_key = o.vlek ? h.asvk_key.get() : h.ask_key.get();
  ARCA_ASSIGN_OR_RETURN(X509Ptr vcek, MakeCert(o.vlek ? "SEV-VLEK" : "SEV-VCEK", signing_key, issuer, issuer_key, 0,
                                               false, VcekExtensions(o.reported_tcb, r.chip_id, o.turin, o.vlek)));
  EvidenceBundle b;
  b.platform = Platform::kSevSnp;
  b.snp_report = SerializeSnpReport(r);
  b.certificates = {internal::CertDer(vcek.get()), internal::CertDer(issuer), internal::CertDer(h.ark.get())};
  return b;
}

Result<EvidenceBundle> SimTdxEvidence(const SimTdxOptions& o) {
  if (o.now <= 0) return InvalidArgumentError("simulated TDX evidence: now expected a time, got none");
  if (o.quote_version != 4 && o.quote_version != 5) {
    return InvalidArgumentError("simulated TDX evidence: quote version expected 4 or 5, got " +
                                std::to_string(o.quote_version));
  }
  if (o.td_report_15 && o.quote_version != 5) {
    return InvalidArgumentError("simulated TDX evidence: a TD report 1.5 needs quote version 5");
  }
  const auto& hr = GetHierarchy();
  if (!hr.ok()) return hr.status();
  const Hierarchy& h = **hr;

  TdxQuote q;
  q.version = o.quote_version;
  q.body_type = o.td_report_15 ? 3 : 2;
  q.attestation_key_type = 2;
  q.tee_type = 0x81;
  q.qe_svn = kSimQeIsvSvn;
  q.pce_svn = kSimPceSvn;
  std::copy(std::begin(kIntelQeVendorId), std::end(kIntelQeVendorId), q.qe_vendor_id.begin());
  TdReport& b = q.body;
  std::copy(std::begin(kSimTeeTcbSvn), std::end(kSimTeeTcbSvn), b.tee_tcb_svn.begin());
  b.mrseam = Derived<48>("arca-sim-tdx-module-v1");
  b.td_attributes[3] = 0x10;  // SEPT_VE_DISABLE, as on real TDs
  if (o.debug) b.td_attributes[0] |= 1;
  b.xfam = {0xe7, 0x02, 0x06, 0, 0, 0, 0, 0};
  b.mrtd = o.mrtd;
  b.mrconfigid = o.mrconfigid;
  b.rtmr = o.rtmr;
  b.report_data = o.report_data;
  if (o.td_report_15) {
    b.is_v15 = true;
    b.tee_tcb_svn2 = b.tee_tcb_svn;
    b.mrservicetd = Derived<48>("arca-sim-tdx-servicetd-v1");
  }

  // A fresh attestation key, certified by the QE report below.
  EvpPkeyPtr ak(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  std::uint8_t point[65];
  std::size_t point_len = 0;
  if (!ak || EVP_PKEY_get_octet_string_param(ak.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &point_len) != 1 ||
      point_len != 65 || point[0] != 0x04) {
    return OpenSslError(StatusCode::kInternal, "simulated TEE: attestation key");
  }
  std::copy(point + 1, point + 65, q.attestation_key.begin());
  for (std::uint8_t i = 0; i < 32; ++i) q.qe_auth_data.push_back(i);

  SgxReportBody& qe = q.qe_report;
  for (int i = 0; i < 16; ++i) qe.cpusvn[i] = std::uint8_t(kSimSgxComponents[i]);
  qe.attributes[0] = 0x11;
  qe.mrenclave = Derived<32>("arca-sim-qe-mrenclave-v1");
  qe.mrsigner = Derived<32>("arca-sim-qe-mrsigner-v1");
  qe.isvprodid = kSimQeIsvProdId;
  qe.isvsvn = kSimQeIsvSvn;
  crypto::Sha256 binding;
  binding.Update(q.attestation_key);
  binding.Update(q.qe_auth_data);
  auto digest = binding.Finish();
  std::copy(digest.begin(), digest.end(), qe.report_data.begin());
  ARCA_ASSIGN_OR_RETURN(Bytes qe_sig, SignRaw(h.pck_key.get(), KeyType::kEcdsaP256Sha256, SerializeSgxReportBody(qe)));
  std::copy(qe_sig.begin(), qe_sig.end(), q.qe_report_signature.begin());
  q.pck_cert_chain.assign(h.pck_chain_pem.begin(), h.pck_chain_pem.end());

  ARCA_ASSIGN_OR_RETURN(Bytes unsigned_quote, SerializeTdxQuote(q));
  ARCA_ASSIGN_OR_RETURN(Bytes quote_sig, SignRaw(ak.get(), KeyType::kEcdsaP256Sha256, ByteSpan(unsigned_quote).first(TdxSignedSize(q))));
  std::copy(quote_sig.begin(), quote_sig.end(), q.quote_signature.begin());
  ARCA_ASSIGN_OR_RETURN(Bytes quote, SerializeTdxQuote(q));

  // Collateral in Intel's PCS shapes, signed over the exact bytes stored.
  const std::string issue = FormatRfc3339(o.now - kDay), next = FormatRfc3339(o.now + 30 * kDay);
  const std::string tcb_date = "2024-03-13T00:00:00Z";
  const std::string zeros48(96, '0');
  std::uint8_t sgx[16];
  for (int i = 0; i < 16; ++i) sgx[i] = std::uint8_t(kSimSgxComponents[i]);
  Json module = {{"mrsigner", zeros48}, {"attributes", "0000000000000000"}, {"attributesMask", "FFFFFFFFFFFFFFFF"}};
  Json module_identity = module;
  module_identity["id"] = "TDX_01";
  module_identity["tcbLevels"] = Json::array({{{"tcb", {{"isvsvn", kSimTeeTcbSvn[0]}}}, {"tcbDate", tcb_date}, {"tcbStatus", "UpToDate"}}});
  Json tcb_info = {
      {"id", "TDX"}, {"version", 3}, {"issueDate", issue}, {"nextUpdate", next},
      {"fmspc", UpperHex(kSimFmspc)}, {"pceId", "0000"}, {"tcbType", 0}, {"tcbEvaluationDataNumber", 17},
      {"tdxModule", module}, {"tdxModuleIdentities", Json::array({module_identity})},
      {"tcbLevels", Json::array({{{"tcb", {{"sgxtcbcomponents", SvnList(sgx, 16)}, {"pcesvn", kSimPceSvn},
                                           {"tdxtcbcomponents", SvnList(kSimTeeTcbSvn, 16)}}},
                                  {"tcbDate", tcb_date}, {"tcbStatus", "UpToDate"}}})}};
  Json qe_identity = {
      {"id", "TD_QE"}, {"version", 2}, {"issueDate", issue}, {"nextUpdate", next}, {"tcbEvaluationDataNumber", 17},
      {"miscselect", "00000000"}, {"miscselectMask", "FFFFFFFF"},
      {"attributes", "11000000000000000000000000000000"}, {"attributesMask", "FBFFFFFFFFFFFFFF0000000000000000"},
      {"mrsigner", UpperHex(qe.mrsigner)}, {"isvprodid", kSimQeIsvProdId},
      {"tcbLevels", Json::array({{{"tcb", {{"isvsvn", kSimQeIsvSvn}}}, {"tcbDate", tcb_date}, {"tcbStatus", "UpToDate"}}})}};
  TdxCollateral col;
  col.tcb_info = tcb_info.dump();
  col.qe_identity = qe_identity.dump();
  ARCA_ASSIGN_OR_RETURN(col.tcb_info_signature, SignRaw(h.tcb_key.get(), KeyType::kEcdsaP256Sha256, AsBytes(col.tcb_info)));
  ARCA_ASSIGN_OR_RETURN(col.qe_identity_signature,
                        SignRaw(h.tcb_key.get(), KeyType::kEcdsaP256Sha256, AsBytes(col.qe_identity)));

  EvidenceBundle out;
  out.platform = Platform::kTdx;
  out.tdx_quote = std::move(quote);
  out.certificates = {internal::CertDer(h.tcb.get()), internal::CertDer(h.root.get())};
  ARCA_ASSIGN_OR_RETURN(Bytes pck_crl, MakeCrl(h.pck_ca.get(), h.pck_ca_key.get(), o.now));
  ARCA_ASSIGN_OR_RETURN(Bytes root_crl, MakeCrl(h.root.get(), h.root_key.get(), o.now));
  out.crls = {std::move(pck_crl), std::move(root_crl)};
  out.tdx_collateral = std::move(col);
  return out;
}

}  // namespace arca::attest
