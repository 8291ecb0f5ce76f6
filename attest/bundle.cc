#include "attest/bundle.h"

#include <algorithm>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <nlohmann/json.hpp>

#include "attest/internal/cache.h"
#include "attest/internal/der.h"
#include "attest/internal/x509.h"
#include "attest/snp.h"
#include "base/crypto.h"
#include "base/json.h"

namespace arca::attest {
namespace {

constexpr std::size_t kHclSnpOffset = 0x20;
constexpr std::size_t kHclRequestOffset = 0x4C0;

Result<Bytes> B64Field(const Json& obj, std::string_view field, std::string_view where) {
  ARCA_ASSIGN_OR_RETURN(std::string s, RequireString(obj, field, where));
  auto b = Base64Decode(s);
  if (!b.ok()) return b.status().WithContext(std::string(where) + "." + std::string(field));
  return b;
}

Result<Bytes> ByteArray(const Json& arr, std::string_view where) {
  if (!arr.is_array()) return InvalidArgumentError(std::string(where) + ": expected an array of bytes");
  Bytes out;
  out.reserve(arr.size());
  for (const Json& v : arr) {
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() > 255) {
      return InvalidArgumentError(std::string(where) + ": expected bytes 0..255");
    }
    out.push_back(std::uint8_t(v.get<std::uint64_t>()));
  }
  return out;
}

void AddUnique(std::vector<Bytes>* list, Bytes item) {
  if (std::find(list->begin(), list->end(), item) == list->end()) list->push_back(std::move(item));
}

Json TpmQuoteJson(const TpmQuote& q) {
  Json pcrs = Json::array();
  for (const auto& p : q.pcrs) pcrs.push_back(HexEncode(p));
  return {{"message", Base64Encode(q.message)}, {"signature", Base64Encode(q.signature)}, {"pcrs", pcrs}};
}

Result<TpmQuote> ParseTpmQuoteJson(const Json& j, std::string_view where) {
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(j, {"message", "signature", "pcrs"}, where));
  TpmQuote q;
  ARCA_ASSIGN_OR_RETURN(q.message, B64Field(j, "message", where));
  ARCA_ASSIGN_OR_RETURN(q.signature, B64Field(j, "signature", where));
  const Json* pcrs = nullptr;
  ARCA_ASSIGN_OR_RETURN(pcrs, RequireArray(j, "pcrs", where));
  if (pcrs->size() > 64) return ResourceExhaustedError(std::string(where) + ".pcrs: more than 64 values");
  for (const Json& p : *pcrs) {
    if (!p.is_string()) return InvalidArgumentError(std::string(where) + ".pcrs: expected hex strings");
    ARCA_ASSIGN_OR_RETURN(Bytes v, HexDecode(p.get<std::string>()));
    q.pcrs.push_back(std::move(v));
  }
  return q;
}

Result<Platform> PlatformFromName(std::string_view n) {
  if (n == "sev-snp") return Platform::kSevSnp;
  if (n == "tdx") return Platform::kTdx;
  if (n == "tpm") return Platform::kTpm;
  if (n == "azure-sev-snp-vtpm") return Platform::kAzureSevSnpVtpm;
  return InvalidArgumentError("bundle platform: expected sev-snp, tdx, tpm or azure-sev-snp-vtpm, got \"" +
                              internal::Printable(n.substr(0, 40)) + "\"");
}

}  // namespace

std::string_view PlatformName(Platform p) {
  switch (p) {
    case Platform::kSevSnp: return "sev-snp";
    case Platform::kTdx: return "tdx";
    case Platform::kTpm: return "tpm";
    case Platform::kAzureSevSnpVtpm: return "azure-sev-snp-vtpm";
  }
  return "?";
}

Result<std::string> SerializeBundle(const EvidenceBundle& b) {
  Json ev = Json::object();
  switch (b.platform) {
    case Platform::kSevSnp:
      if (b.snp_report.empty()) return InvalidArgumentError("bundle: sev-snp without a report");
      ev["snpReport"] = Base64Encode(b.snp_report);
      break;
    case Platform::kTdx:
      if (b.tdx_quote.empty()) return InvalidArgumentError("bundle: tdx without a quote");
      ev["tdxQuote"] = Base64Encode(b.tdx_quote);
      break;
    case Platform::kTpm:
      if (!b.tpm_quote) return InvalidArgumentError("bundle: tpm without a quote");
      ev["tpmQuote"] = TpmQuoteJson(*b.tpm_quote);
      if (!b.tpm_ak_public.empty()) ev["tpmAkPublic"] = Base64Encode(b.tpm_ak_public);
      break;
    case Platform::kAzureSevSnpVtpm:
      if (b.hcl_report.empty() || !b.tpm_quote) return InvalidArgumentError("bundle: azure-sev-snp-vtpm needs an HCL report and a TPM quote");
      ev["hclReport"] = Base64Encode(b.hcl_report);
      ev["tpmQuote"] = TpmQuoteJson(*b.tpm_quote);
      break;
  }
  Json certs = Json::array(), crls = Json::array();
  for (const auto& c : b.certificates) certs.push_back(Base64Encode(c));
  for (const auto& c : b.crls) crls.push_back(Base64Encode(c));
  Json doc = {{"mediaType", kBundleMediaType}, {"platform", PlatformName(b.platform)}, {"evidence", ev},
              {"certificates", certs}, {"crls", crls}};
  if (b.tdx_collateral) {
    const TdxCollateral& t = *b.tdx_collateral;
    doc["tdxCollateral"] = {{"tcbInfo", t.tcb_info},
                            {"tcbInfoSignature", HexEncode(t.tcb_info_signature)},
                            {"qeIdentity", t.qe_identity},
                            {"qeIdentitySignature", HexEncode(t.qe_identity_signature)}};
  }
  return CanonicalJson(doc);
}

Result<EvidenceBundle> ParseBundle(std::string_view text) {
  JsonLimits limits;
  limits.max_bytes = kMaxBundleBytes;
  limits.max_depth = 8;
  ARCA_ASSIGN_OR_RETURN(Json doc, ParseJson(text, "evidence bundle", limits));
  if (!doc.is_object()) return InvalidArgumentError("evidence bundle: expected a JSON object");
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(doc, {"mediaType", "platform", "evidence", "certificates", "crls", "tdxCollateral"},
                                           "evidence bundle"));
  ARCA_ASSIGN_OR_RETURN(std::string media, RequireString(doc, "mediaType", "evidence bundle"));
  if (media != kBundleMediaType) {
    return InvalidArgumentError("evidence bundle mediaType: expected " + std::string(kBundleMediaType) + ", got \"" +
                                internal::Printable(std::string_view(media).substr(0, 80)) + "\"");
  }
  EvidenceBundle b;
  ARCA_ASSIGN_OR_RETURN(std::string pname, RequireString(doc, "platform", "evidence bundle"));
  ARCA_ASSIGN_OR_RETURN(b.platform, PlatformFromName(pname));
  const Json* ev = nullptr;
  ARCA_ASSIGN_OR_RETURN(ev, RequireObject(doc, "evidence", "evidence bundle"));
  switch (b.platform) {
    case Platform::kSevSnp: {
      ARCA_RETURN_IF_ERROR(RejectUnknownFields(*ev, {"snpReport"}, "evidence"));
      ARCA_ASSIGN_OR_RETURN(b.snp_report, B64Field(*ev, "snpReport", "evidence"));
      break;
    }
    case Platform::kTdx: {
      ARCA_RETURN_IF_ERROR(RejectUnknownFields(*ev, {"tdxQuote"}, "evidence"));
      ARCA_ASSIGN_OR_RETURN(b.tdx_quote, B64Field(*ev, "tdxQuote", "evidence"));
      break;
    }
    case Platform::kTpm: {
      ARCA_RETURN_IF_ERROR(RejectUnknownFields(*ev, {"tpmQuote", "tpmAkPublic"}, "evidence"));
      const Json* q = nullptr;
      ARCA_ASSIGN_OR_RETURN(q, RequireObject(*ev, "tpmQuote", "evidence"));
      ARCA_ASSIGN_OR_RETURN(b.tpm_quote, ParseTpmQuoteJson(*q, "evidence.tpmQuote"));
      if (ev->contains("tpmAkPublic")) {
        ARCA_ASSIGN_OR_RETURN(b.tpm_ak_public, B64Field(*ev, "tpmAkPublic", "evidence"));
      }
      break;
    }
    case Platform::kAzureSevSnpVtpm: {
      ARCA_RETURN_IF_ERROR(RejectUnknownFields(*ev, {"hclReport", "tpmQuote"}, "evidence"));
      ARCA_ASSIGN_OR_RETURN(b.hcl_report, B64Field(*ev, "hclReport", "evidence"));
      const Json* q = nullptr;
      ARCA_ASSIGN_OR_RETURN(q, RequireObject(*ev, "tpmQuote", "evidence"));
      ARCA_ASSIGN_OR_RETURN(b.tpm_quote, ParseTpmQuoteJson(*q, "evidence.tpmQuote"));
      break;
    }
  }
  for (const char* list : {"certificates", "crls"}) {
    const Json* arr = nullptr;
    ARCA_ASSIGN_OR_RETURN(arr, RequireArray(doc, list, "evidence bundle"));
    if (arr->size() > 64) return ResourceExhaustedError(std::string("evidence bundle ") + list + ": more than 64 entries");
    for (const Json& e : *arr) {
      if (!e.is_string()) return InvalidArgumentError(std::string("evidence bundle ") + list + ": expected base64 strings");
      auto der = Base64Decode(e.get<std::string>());
      if (!der.ok()) return der.status().WithContext(std::string("evidence bundle ") + list);
      (std::string(list) == "crls" ? b.crls : b.certificates).push_back(std::move(*der));
    }
  }
  if (doc.contains("tdxCollateral")) {
    const Json& t = doc["tdxCollateral"];
    ARCA_RETURN_IF_ERROR(RejectUnknownFields(t, {"tcbInfo", "tcbInfoSignature", "qeIdentity", "qeIdentitySignature"}, "tdxCollateral"));
    TdxCollateral col;
    ARCA_ASSIGN_OR_RETURN(col.tcb_info, RequireString(t, "tcbInfo", "tdxCollateral"));
    ARCA_ASSIGN_OR_RETURN(col.qe_identity, RequireString(t, "qeIdentity", "tdxCollateral"));
    ARCA_ASSIGN_OR_RETURN(std::string s1, RequireString(t, "tcbInfoSignature", "tdxCollateral"));
    ARCA_ASSIGN_OR_RETURN(std::string s2, RequireString(t, "qeIdentitySignature", "tdxCollateral"));
    ARCA_ASSIGN_OR_RETURN(col.tcb_info_signature, HexDecode(s1));
    ARCA_ASSIGN_OR_RETURN(col.qe_identity_signature, HexDecode(s2));
    b.tdx_collateral = std::move(col);
  }
  return b;
}

Result<Bytes> PublicKeyToSpkiDer(ByteSpan in) {
  std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
  if (text.find("-----BEGIN PUBLIC KEY-----") != std::string_view::npos) {
    BioPtr bio(BIO_new_mem_buf(in.data(), int(in.size())));
    EvpPkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (!key) return OpenSslError(StatusCode::kInvalidArgument, "public key: malformed PEM PUBLIC KEY block");
    return internal::PublicKeyToDer(key.get());
  }
  ARCA_ASSIGN_OR_RETURN(EvpPkeyPtr key, internal::ParsePublicKeyDer(in, "public key"));
  return internal::PublicKeyToDer(key.get());
}

Result<HclReport> ParseHclReport(ByteSpan d) {
  if (d.size() < kHclRequestOffset + 20) {
    return InvalidArgumentError("HCL report: length expected at least " + std::to_string(kHclRequestOffset + 20) +
                                ", got " + std::to_string(d.size()));
  }
  if (d.size() > 64 * 1024) return ResourceExhaustedError("HCL report: larger than 64 KiB");
  if (!(d[0] == 'H' && d[1] == 'C' && d[2] == 'L' && d[3] == 'A')) {
    return InvalidArgumentError("HCL report: signature expected \"HCLA\", got " + HexEncode(d.first(4)));
  }
  std::uint32_t request_type = LoadLe32(d.data() + 12);
  if (request_type != 2) return InvalidArgumentError("HCL report: request type expected 2 (SNP), got " + std::to_string(request_type));
  HclReport h;
  h.snp_report = d.subspan(kHclSnpOffset, kSnpReportSize);
  const std::uint8_t* rq = d.data() + kHclRequestOffset;
  std::uint32_t data_size = LoadLe32(rq), report_type = LoadLe32(rq + 8);
  h.hash_type = LoadLe32(rq + 12);
  std::uint32_t var_size = LoadLe32(rq + 16);
  if (report_type != 2) return InvalidArgumentError("HCL request data: report_type expected 2 (SNP), got " + std::to_string(report_type));
  if (std::uint64_t(var_size) + 20 != data_size) {
    return InvalidArgumentError("HCL request data: data_size expected variable_data_size + 20 = " +
                                std::to_string(std::uint64_t(var_size) + 20) + ", got " + std::to_string(data_size));
  }
  if (var_size > d.size() - kHclRequestOffset - 20) {
    return InvalidArgumentError("HCL request data: variable_data_size " + std::to_string(var_size) + " exceeds the report");
  }
  h.variable_data = d.subspan(kHclRequestOffset + 20, var_size);
  return h;
}

// ---- Builder ----

Status BundleBuilder::SetPlatform(Platform p) {
  if (platform_) return InvalidArgumentError("bundle: evidence already set (one of --snp-report, --tdx-quote, --tpm-evidence, --az-evidence)");
  platform_ = p;
  b_.platform = p;
  return Status::Ok();
}

Status BundleBuilder::SetSnpReport(ByteSpan report) {
  ARCA_RETURN_IF_ERROR(ParseSnpReport(report).status());
  ARCA_RETURN_IF_ERROR(SetPlatform(Platform::kSevSnp));
  b_.snp_report.assign(report.begin(), report.end());
  return Status::Ok();
}

Status BundleBuilder::SetTdxQuote(ByteSpan quote) {
  ARCA_RETURN_IF_ERROR(ParseTdxQuote(quote).status());
  ARCA_RETURN_IF_ERROR(SetPlatform(Platform::kTdx));
  b_.tdx_quote.assign(quote.begin(), quote.end());
  return Status::Ok();
}

Status BundleBuilder::SetTpmEvidence(std::string_view text) {
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(text, "TPM evidence"));
  const Json* q = nullptr;
  ARCA_ASSIGN_OR_RETURN(q, RequireObject(j, "tpm_quote", "TPM evidence"));
  TpmQuote quote;
  ARCA_ASSIGN_OR_RETURN(quote.message, B64Field(*q, "message", "tpm_quote"));
  ARCA_ASSIGN_OR_RETURN(quote.signature, B64Field(*q, "signature", "tpm_quote"));
  const Json* pcrs = nullptr;
  ARCA_ASSIGN_OR_RETURN(pcrs, RequireArray(*q, "pcrs", "tpm_quote"));
  for (const Json& p : *pcrs) {
    if (!p.is_string()) return InvalidArgumentError("tpm_quote.pcrs: expected hex strings");
    ARCA_ASSIGN_OR_RETURN(Bytes v, HexDecode(p.get<std::string>()));
    quote.pcrs.push_back(std::move(v));
  }
  ARCA_RETURN_IF_ERROR(ParseTpmsAttest(quote.message).status());
  ARCA_RETURN_IF_ERROR(SetPlatform(Platform::kTpm));
  if (j.contains("ak_public")) {
    ARCA_ASSIGN_OR_RETURN(b_.tpm_ak_public, B64Field(j, "ak_public", "TPM evidence"));
  }
  b_.tpm_quote = std::move(quote);
  return Status::Ok();
}

Status BundleBuilder::SetAzureEvidence(std::string_view text) {
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(text, "Azure vTPM evidence"));
  const Json* q = nullptr;
  ARCA_ASSIGN_OR_RETURN(q, RequireObject(j, "quote", "Azure vTPM evidence"));
  TpmQuote quote;
  try {
    ARCA_ASSIGN_OR_RETURN(quote.message, ByteArray(q->at("message"), "quote.message"));
    ARCA_ASSIGN_OR_RETURN(quote.signature, ByteArray(q->at("signature"), "quote.signature"));
    const Json& pcrs = q->at("pcrs");
    if (!pcrs.is_array()) return InvalidArgumentError("quote.pcrs: expected an array");
    for (const Json& p : pcrs) {
      ARCA_ASSIGN_OR_RETURN(Bytes v, ByteArray(p, "quote.pcrs[]"));
      quote.pcrs.push_back(std::move(v));
    }
    ARCA_ASSIGN_OR_RETURN(Bytes report, ByteArray(j.at("report"), "report"));
    ARCA_ASSIGN_OR_RETURN(HclReport hcl, ParseHclReport(report));
    ARCA_RETURN_IF_ERROR(ParseSnpReport(hcl.snp_report).status());
    ARCA_RETURN_IF_ERROR(SetPlatform(Platform::kAzureSevSnpVtpm));
    b_.hcl_report = std::move(report);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("Azure vTPM evidence: missing quote.message/signature/pcrs or report: ") + e.what());
  }
  b_.tpm_quote = std::move(quote);
  if (j.contains("vcek")) {
    if (!j["vcek"].is_string()) return InvalidArgumentError("Azure vTPM evidence: vcek expected a PEM string");
    ARCA_RETURN_IF_ERROR(AddCertificates(AsBytes(j["vcek"].get<std::string>())));
  }
  return Status::Ok();
}

Status BundleBuilder::AddCertificates(ByteSpan data) {
  ARCA_ASSIGN_OR_RETURN(auto certs, internal::ParseCertificates(data, "certificate file"));
  for (const auto& c : certs) AddUnique(&b_.certificates, internal::CertDer(c.get()));
  return Status::Ok();
}

Status BundleBuilder::AddCrl(ByteSpan data) {
  ARCA_ASSIGN_OR_RETURN(X509CrlPtr crl, internal::ParseCrl(data, "CRL file"));
  AddUnique(&b_.crls, internal::CrlDer(crl.get()));
  return Status::Ok();
}

Status BundleBuilder::AddCollateral(ByteSpan data) {
  std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(text, "collateral"));
  if (!j.is_object()) return InvalidArgumentError("collateral: expected a JSON object");
  if (!b_.tdx_collateral) b_.tdx_collateral.emplace();
  TdxCollateral& col = *b_.tdx_collateral;
  if (j.contains("tcbInfo")) {
    ARCA_ASSIGN_OR_RETURN(auto p, ParseSignedJsonResponse(text, "tcbInfo"));
    col.tcb_info = std::move(p.first);
    col.tcb_info_signature = std::move(p.second);
    return Status::Ok();
  }
  if (j.contains("enclaveIdentity")) {
    ARCA_ASSIGN_OR_RETURN(auto p, ParseSignedJsonResponse(text, "enclaveIdentity"));
    col.qe_identity = std::move(p.first);
    col.qe_identity_signature = std::move(p.second);
    return Status::Ok();
  }
  if (j.contains("tcb_info")) {
    // dcap-qvl's QuoteCollateralV3: the signed JSON values are strings
    // holding the served bytes; CRLs are hex DER.
    ARCA_ASSIGN_OR_RETURN(col.tcb_info, RequireString(j, "tcb_info", "collateral"));
    ARCA_ASSIGN_OR_RETURN(col.qe_identity, RequireString(j, "qe_identity", "collateral"));
    ARCA_ASSIGN_OR_RETURN(std::string s1, RequireString(j, "tcb_info_signature", "collateral"));
    ARCA_ASSIGN_OR_RETURN(std::string s2, RequireString(j, "qe_identity_signature", "collateral"));
    ARCA_ASSIGN_OR_RETURN(col.tcb_info_signature, HexDecode(s1));
    ARCA_ASSIGN_OR_RETURN(col.qe_identity_signature, HexDecode(s2));
    for (const char* chain : {"tcb_info_issuer_chain", "qe_identity_issuer_chain", "pck_crl_issuer_chain"}) {
      if (!j.contains(chain)) continue;
      ARCA_ASSIGN_OR_RETURN(std::string pem, RequireString(j, chain, "collateral"));
      ARCA_RETURN_IF_ERROR(AddCertificates(AsBytes(pem)));
    }
    for (const char* crl : {"pck_crl", "root_ca_crl"}) {
      if (!j.contains(crl)) continue;
      ARCA_ASSIGN_OR_RETURN(std::string hex, RequireString(j, crl, "collateral"));
      ARCA_ASSIGN_OR_RETURN(Bytes der, HexDecode(hex));
      ARCA_RETURN_IF_ERROR(AddCrl(der));
    }
    return Status::Ok();
  }
  return InvalidArgumentError("collateral: expected a PCS tcbInfo or enclaveIdentity response or a dcap-qvl collateral "
                              "JSON (tcb_info), got none of their keys");
}

Result<EvidenceBundle> BundleBuilder::Finish() const {
  if (!platform_) return InvalidArgumentError("bundle: no evidence (give --snp-report, --tdx-quote, --tpm-evidence or --az-evidence)");
  if (b_.tdx_collateral && b_.platform != Platform::kTdx) return InvalidArgumentError("bundle: --collateral is only for TDX quotes");
  return b_;
}

// ---- Verification ----

namespace {

struct ParsedPool {
  std::vector<X509Ptr> certs;
  std::vector<X509CrlPtr> crls;
  std::vector<const X509*> cert_ptrs;
  std::vector<const X509_CRL*> crl_ptrs;
};

Status LoadPool(const EvidenceBundle& b, ParsedPool* p) {
  for (std::size_t i = 0; i < b.certificates.size(); ++i) {
    ARCA_ASSIGN_OR_RETURN(X509Ptr c, internal::CachedCertificateDer(b.certificates[i], "bundle certificates[" + std::to_string(i) + "]"));
    p->cert_ptrs.push_back(c.get());
    p->certs.push_back(std::move(c));
  }
  for (std::size_t i = 0; i < b.crls.size(); ++i) {
    ARCA_ASSIGN_OR_RETURN(X509CrlPtr c, internal::CachedCrl(b.crls[i], "bundle crls[" + std::to_string(i) + "]"));
    p->crl_ptrs.push_back(c.get());
    p->crls.push_back(std::move(c));
  }
  return Status::Ok();
}

// AkFromHclVariableData finds the HCLAkPub RSA JWK in the HCL runtime data.
Result<EvpPkeyPtr> AkFromHclVariableData(ByteSpan data) {
  std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  // The runtime data is JSON, possibly followed by NUL padding.
  while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(text, "HCL runtime data"));
  const Json* keys = nullptr;
  ARCA_ASSIGN_OR_RETURN(keys, RequireArray(j, "keys", "HCL runtime data"));
  for (const Json& k : *keys) {
    if (!k.is_object() || k.value("kid", "") != "HCLAkPub") continue;
    if (k.value("kty", "") != "RSA") return InvalidArgumentError("HCLAkPub: kty expected RSA, got " + k.value("kty", ""));
    ARCA_ASSIGN_OR_RETURN(std::string n, RequireString(k, "n", "HCLAkPub"));
    ARCA_ASSIGN_OR_RETURN(std::string e, RequireString(k, "e", "HCLAkPub"));
    ARCA_ASSIGN_OR_RETURN(Bytes nb, Base64Decode(n));
    ARCA_ASSIGN_OR_RETURN(Bytes eb, Base64Decode(e));
    return internal::ParsePublicKeyDer(internal::RsaSpkiFromModulus(nb, eb), "HCLAkPub");
  }
  return NotFoundError("HCL runtime data: no key with kid HCLAkPub");
}

// kTcgAkCertificateEku is tcg-kp-AIKCertificate (TCG "EK Credential
// Profile" §2.2.1.3 / "TPM 2.0 Keys for Device Identity and Attestation"):
// the extended key usage of a certificate for an attestation key.
constexpr char kTcgAkCertificateEku[] = "2.23.133.8.3";

bool HasExtendedKeyUsage(const X509* cert, const char* oid) {
  int crit = 0;
  auto* ekus = static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, nullptr));
  if (!ekus) return false;
  bool found = false;
  for (int i = 0; i < sk_ASN1_OBJECT_num(ekus) && !found; ++i) {
    char text[80];
    found = OBJ_obj2txt(text, sizeof text, sk_ASN1_OBJECT_value(ekus, i), 1) > 0 && std::string(text) == oid;
  }
  EXTENDED_KEY_USAGE_free(ekus);
  return found;
}

struct AnchoredAk {
  EvpPkeyPtr key;
  std::string description;
};

// AnchorAkCertificate finds the bundle's AK certificate (an end-entity
// certificate with EKU tcg-kp-AIKCertificate, whose key equals `claimed_ak`
// when the bundle names one) and builds its chain to a TPM root of `roots`
// at `t`. NotFound when the bundle carries no such certificate;
// Unauthenticated naming the certificate when one is there but does not
// anchor.
Result<AnchoredAk> AnchorAkCertificate(const EvidenceBundle& b, const ParsedPool& pool, const RootStore& roots,
                                       UnixSeconds t, EVP_PKEY* claimed_ak) {
  Bytes claimed = claimed_ak ? internal::PublicKeyToDer(claimed_ak) : Bytes();
  const X509* ak_cert = nullptr;
  for (const X509* c : pool.cert_ptrs) {
    if (X509_check_ca(const_cast<X509*>(c)) != 0 || !HasExtendedKeyUsage(c, kTcgAkCertificateEku)) continue;
    if (!claimed.empty() && internal::SpkiDer(c) != claimed) {
      return UnauthenticatedError("AK certificate " + internal::CommonName(c) +
                                  ": its key differs from the bundle's tpmAkPublic (SHA-256 " +
                                  HexEncode(crypto::Sha256::Hash(claimed)) + ")");
    }
    ak_cert = c;
    break;
  }
  if (!ak_cert) return NotFoundError("no AK certificate (EKU 2.23.133.8.3) in the bundle");
  std::vector<internal::Anchor> anchors = roots.Anchors(RootVendor::kTpm);
  // No vendor signature algorithm is imposed on a deployment's AK CA.
  internal::ChainPolicy policy{{}, {}, "any"};
  auto chain = internal::BuildChain(ak_cert, pool.cert_ptrs, anchors, t, policy);
  if (!chain.ok()) return chain.status().WithContext("AK certificate " + internal::CommonName(ak_cert));
  EVP_PKEY* key = X509_get0_pubkey(ak_cert);
  if (!key || EVP_PKEY_up_ref(key) != 1) return InternalError("AK certificate: no public key");
  AnchoredAk out;
  out.key.reset(key);
  out.description = "AK certificate " + chain->Describe() + " (TPM root, EKU 2.23.133.8.3)";
  return out;
}

}  // namespace

Verdict VerifyBundle(const EvidenceBundle& b, const RootStore& roots, const VerifyOptions& o) {
  Verdict v;
  v.claims["platform"] = std::string(PlatformName(b.platform));
  v.claims["verificationTime"] = FormatRfc3339(o.time);
  ParsedPool pool;
  if (!v.Record("bundle.parse", LoadPool(b, &pool), "certificates and CRLs parse")) return v;

  switch (b.platform) {
    case Platform::kSevSnp: {
      auto r = ParseSnpReport(b.snp_report);
      if (!v.Record("snp.report.parse", r.status(), "1184 bytes")) return v;
      VerifySnpReport(*r, pool.cert_ptrs, roots, o.time, &v);
      break;
    }
    case Platform::kTdx: {
      auto q = ParseTdxQuote(b.tdx_quote);
      if (!v.Record("tdx.quote.parse", q.status(), "quote v4/v5")) return v;
      VerifyTdxQuote(*q, b.tdx_collateral.value_or(TdxCollateral{}), pool.cert_ptrs, pool.crl_ptrs, roots, o.time, &v);
      break;
    }
    case Platform::kTpm: {
      EvpPkeyPtr ak;
      std::string anchor;
      if (o.tpm_ak_spki) {
        auto k = internal::ParsePublicKeyDer(*o.tpm_ak_spki, "--tpm-ak");
        if (!v.Record("tpm.ak.parse", k.status())) return v;
        Bytes named = internal::PublicKeyToDer(k->get());
        if (!b.tpm_ak_public.empty()) {
          auto bk = internal::ParsePublicKeyDer(b.tpm_ak_public, "bundle tpmAkPublic");
          if (!bk.ok() || internal::PublicKeyToDer(bk->get()) != named) {
            v.Fail("tpm.ak.anchor", UnauthenticatedError("the bundle's AK (SHA-256 " +
                                                         HexEncode(crypto::Sha256::Hash(b.tpm_ak_public)) +
                                                         ") differs from the key named by --tpm-ak (SHA-256 " +
                                                         HexEncode(crypto::Sha256::Hash(named)) + ")"));
            return v;
          }
        }
        anchor = "named by the verifier (--tpm-ak, SPKI SHA-256 " + HexEncode(crypto::Sha256::Hash(named)) + ")";
        ak = std::move(*k);
      } else {
        if (!b.tpm_ak_public.empty()) {
          auto k = internal::ParsePublicKeyDer(b.tpm_ak_public, "bundle tpmAkPublic");
          if (k.ok()) ak = std::move(*k);  // used to check the signature; by itself never an anchor
        }
        // An AK certificate in the bundle, chained to a configured TPM root.
        auto cert = AnchorAkCertificate(b, pool, roots, o.time, ak.get());
        if (cert.ok()) {
          anchor = std::move(cert->description);
          ak = std::move(cert->key);
        } else if (cert.status().code() != StatusCode::kNotFound) {
          v.Fail("tpm.ak.anchor", cert.status());
          return v;
        }
      }
      VerifyTpmQuote(*b.tpm_quote, ak.get(), anchor, &v);
      v.claims["platform"] = "tpm";
      break;
    }
    case Platform::kAzureSevSnpVtpm: {
      auto hcl = ParseHclReport(b.hcl_report);
      if (!v.Record("azure.hcl.parse", hcl.status(), "HCL report")) return v;
      auto r = ParseSnpReport(hcl->snp_report);
      if (!v.Record("snp.report.parse", r.status(), "1184 bytes at HCL offset 0x20")) return v;
      v.claims["platform"] = "azure-sev-snp-vtpm";
      VerifySnpReport(*r, pool.cert_ptrs, roots, o.time, &v);
      // REPORT_DATA binds the HCL runtime data (which carries the AK).
      Status bind = [&]() -> Status {
        Bytes digest;
        if (hcl->hash_type == 1) {
          auto d = crypto::Sha256::Hash(hcl->variable_data);
          digest.assign(d.begin(), d.end());
        } else if (hcl->hash_type == 2) {
          digest = crypto::Sha384(hcl->variable_data);
        } else if (hcl->hash_type == 3) {
          digest = crypto::Sha512(hcl->variable_data);
        } else {
          return InvalidArgumentError("HCL request data: hash_type expected 1, 2 or 3, got " + std::to_string(hcl->hash_type));
        }
        digest.resize(64, 0);
        if (!ConstantTimeEquals(digest, r->report_data)) {
          return UnauthenticatedError("SNP REPORT_DATA expected hash of the HCL runtime data " +
                                      HexEncode(ByteSpan(digest).first(32)) + ", got " +
                                      HexEncode(ByteSpan(r->report_data).first(32)));
        }
        return Status::Ok();
      }();
      bool bound = v.Record("azure.report_data.binding", bind, "REPORT_DATA = H(HCL runtime data) || zeros");
      auto ak = AkFromHclVariableData(hcl->variable_data);
      if (!v.Record("azure.ak", ak.status(), "HCLAkPub from the HCL runtime data")) return v;
      Bytes ak_der = internal::PublicKeyToDer(ak->get());
      v.claims["tpmAk"] = HexEncode(crypto::Sha256::Hash(ak_der));
      std::string snp_tcb = v.claims.value("tcbStatus", "");
      VerifyTpmQuote(*b.tpm_quote, ak->get(), bound ? "bound by the SNP report (REPORT_DATA covers HCLAkPub)" : "", &v);
      break;
    }
  }
  return v;
}

}  // namespace arca::attest
