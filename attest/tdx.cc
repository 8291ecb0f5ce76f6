#include "attest/tdx.h"

#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "attest/internal/cache.h"
#include "attest/internal/der.h"
#include "attest/internal/extensions.h"
#include "attest/internal/json_raw.h"
#include "attest/internal/le_codec.h"
#include "attest/internal/x509.h"
#include "base/crypto.h"
#include "base/json.h"

namespace arca::attest {
namespace {

// AlgorithmIdentifier ecdsa-with-SHA256 (RFC 5758, no parameters).
constexpr std::uint8_t kEcdsaSha256Algorithm[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                                  0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
constexpr std::uint8_t kIntelQeVendorId[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                               0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

std::uint16_t Le16(const std::uint8_t* p) { return std::uint16_t(p[0] | (p[1] << 8)); }

template <std::size_t N>
void Copy(std::array<std::uint8_t, N>& out, const std::uint8_t* p) {
  std::memcpy(out.data(), p, N);
}

std::string Hex(ByteSpan b) { return HexEncode(b); }

// Cursor reads fixed fields and never past its end.
class Cursor {
 public:
  Cursor(ByteSpan d, std::size_t pos) : d_(d), pos_(pos) {}
  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return d_.size() - pos_; }
  Status Need(std::size_t n, const std::string& field) const {
    if (remaining() < n) {
      return InvalidArgumentError("TDX quote: " + field + " at offset " + std::to_string(pos_) + " needs " +
                                  std::to_string(n) + " bytes, " + std::to_string(remaining()) + " remain");
    }
    return Status::Ok();
  }
  const std::uint8_t* Take(std::size_t n) {
    const std::uint8_t* p = d_.data() + pos_;
    pos_ += n;
    return p;
  }

 private:
  ByteSpan d_;
  std::size_t pos_;
};

// TdReportFields visits the TD report body (TDREPORT 1.0 offsets; 1.5
// appends TEE_TCB_SVN_2 and MRSERVICETD, visited when `v15`).
template <typename R, typename V>
void TdReportFields(R& b, bool v15, const V& f) {
  f(0, b.tee_tcb_svn);
  f(16, b.mrseam);
  f(64, b.mrsignerseam);
  f(112, b.seam_attributes);
  f(120, b.td_attributes);
  f(128, b.xfam);
  f(136, b.mrtd);
  f(184, b.mrconfigid);
  f(232, b.mrowner);
  f(280, b.mrownerconfig);
  for (int i = 0; i < 4; ++i) f(328 + 48 * i, b.rtmr[i]);
  f(520, b.report_data);
  if (v15) {
    f(584, b.tee_tcb_svn2);
    f(600, b.mrservicetd);
  }
}

// SgxReportBodyFields visits the 384-byte SGX REPORT body (reserved bytes
// are not visited).
template <typename R, typename V>
void SgxReportBodyFields(R& r, const V& f) {
  f(0, r.cpusvn);
  f(16, r.miscselect);
  f(48, r.attributes);
  f(64, r.mrenclave);
  f(128, r.mrsigner);
  f(256, r.isvprodid);
  f(258, r.isvsvn);
  f(320, r.report_data);
}

// QuoteHeaderFields visits the 48-byte quote header.
template <typename Q, typename V>
void QuoteHeaderFields(Q& q, const V& f) {
  f(0, q.version);
  f(2, q.attestation_key_type);
  f(4, q.tee_type);
  f(8, q.qe_svn);
  f(10, q.pce_svn);
  f(12, q.qe_vendor_id);
  f(28, q.user_data);
}

void ParseTdReport(const std::uint8_t* p, bool v15, TdReport* b) {
  TdReportFields(*b, v15, internal::LeReader{p});
  b->is_v15 = v15;
}

void ParseSgxReportBody(const std::uint8_t* p, SgxReportBody* r) { SgxReportBodyFields(*r, internal::LeReader{p}); }

std::string Lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int StatusRank(const std::string& s) {
  static const std::map<std::string, int> kRank = {
      {"UpToDate", 0}, {"SWHardeningNeeded", 1}, {"ConfigurationNeeded", 2}, {"ConfigurationAndSWHardeningNeeded", 3},
      {"OutOfDate", 4}, {"OutOfDateConfigurationNeeded", 5}, {"Revoked", 6}};
  auto it = kRank.find(s);
  return it == kRank.end() ? -1 : it->second;
}

// Converge folds the QE or TDX-module status into the platform status, as
// Intel's QVL does: an out-of-date component makes the platform out of date
// (keeping "configuration needed"), a revoked one revokes it.
std::string Converge(const std::string& platform, const std::string& component) {
  if (component == "Revoked") return "Revoked";
  if (component == "OutOfDate") {
    if (platform == "UpToDate" || platform == "SWHardeningNeeded") return "OutOfDate";
    if (platform == "ConfigurationNeeded" || platform == "ConfigurationAndSWHardeningNeeded") {
      return "OutOfDateConfigurationNeeded";
    }
  }
  return platform;
}

// Signed JSON collateral: finds the signing certificate in the pool, checks
// its chain, the signature over the raw bytes and the issue/next window.
struct SignedJson {
  std::shared_ptr<const Json> value;  // shared with the parse memo: immutable
  const X509* signer = nullptr;
};

Status VerifySignedJson(const std::string& what, const std::string& raw, const Bytes& sig,
                        std::span<const X509* const> pool, std::span<const internal::Anchor> anchors, UnixSeconds t,
                        const std::string& check, Verdict* v, SignedJson* out) {
  if (raw.empty()) return NotFoundError(what + ": not in the bundle");
  ARCA_ASSIGN_OR_RETURN(Bytes der, internal::EcdsaRawToDerAny(sig));
  // Several certificates may carry the signing key (Intel re-issues the TCB
  // signing certificate with the same key); the first whose chain verifies
  // at `t` is the signer.
  const X509* signer = nullptr;
  Status chain_error;
  Result<internal::VerifiedChain> chain = InternalError("unset");
  internal::ChainPolicy policy{kEcdsaSha256Algorithm, {}, "ecdsa-with-SHA256"};
  for (const X509* c : pool) {
    if (X509_check_ca(const_cast<X509*>(c)) != 0) continue;
    EVP_PKEY* key = X509_get0_pubkey(c);
    if (!key || !EVP_PKEY_is_a(key, "EC")) continue;
    // Collateral signatures are memoized (pure facts of key, bytes and
    // signature; internal/cache.h); the quote's own signatures never are.
    internal::SignatureFact fact = internal::MakeSignatureFact("tdx collateral ecdsa-p256-sha256", c, AsBytes(raw), sig);
    std::optional<bool> known = internal::RecallSignature(fact);
    bool verifies = known ? *known : internal::VerifySignature(key, EVP_sha256(), AsBytes(raw), der, 0, what).ok();
    if (!known) internal::RememberSignature(fact, verifies);
    if (!verifies) continue;
    chain = internal::BuildChain(c, pool, anchors, t, policy);
    if (chain.ok()) {
      signer = c;
      break;
    }
    if (chain_error.ok()) chain_error = chain.status();
  }
  if (!signer && !chain_error.ok()) return chain_error.WithContext(what + " signing certificate");
  if (!signer) {
    return UnauthenticatedError(what + ": signature over the served bytes does not verify under any signing "
                                       "certificate in the bundle");
  }
  v->Pass(check + ".signature", "ECDSA P-256 over the served bytes by " + chain->Describe());
  ARCA_ASSIGN_OR_RETURN(std::shared_ptr<const Json> j, internal::CachedJson(raw, what));
  if (!j->is_object()) return InvalidArgumentError(what + ": expected a JSON object");
  out->value = std::move(j);
  out->signer = signer;
  return Status::Ok();
}

Status CheckWindow(const std::string& what, const Json& j, UnixSeconds t) {
  ARCA_ASSIGN_OR_RETURN(std::string issue_s, RequireString(j, "issueDate", what));
  ARCA_ASSIGN_OR_RETURN(std::string next_s, RequireString(j, "nextUpdate", what));
  ARCA_ASSIGN_OR_RETURN(UnixSeconds issue, ParseRfc3339(issue_s, what + " issueDate"));
  ARCA_ASSIGN_OR_RETURN(UnixSeconds next, ParseRfc3339(next_s, what + " nextUpdate"));
  if (t < issue) {
    return UnauthenticatedError(what + ": issueDate " + issue_s + " is in the future of the verification time " +
                                FormatRfc3339(t));
  }
  if (t >= next) {
    return UnauthenticatedError(what + ": expired, nextUpdate " + next_s + " <= verification time " + FormatRfc3339(t));
  }
  return Status::Ok();
}

Result<Bytes> HexField(const Json& j, const char* field, const std::string& where) {
  ARCA_ASSIGN_OR_RETURN(std::string s, RequireString(j, field, where));
  return HexDecode(s);
}

bool MaskedEquals(ByteSpan value, ByteSpan expected, ByteSpan mask) {
  if (value.size() != expected.size() || value.size() != mask.size()) return false;
  for (std::size_t i = 0; i < value.size(); ++i)
    if ((value[i] & mask[i]) != (expected[i] & mask[i])) return false;
  return true;
}

// FirstLevelByIsvsvn returns the status of the first level whose isvsvn is
// at most `svn` (levels are ordered newest first), or "" when none.
Result<std::string> FirstLevelByIsvsvn(const Json& levels, unsigned svn, const std::string& where) {
  if (!levels.is_array()) return InvalidArgumentError(where + ": tcbLevels expected an array");
  for (const Json& l : levels) {
    const Json* tcb = nullptr;
    ARCA_ASSIGN_OR_RETURN(tcb, RequireObject(l, "tcb", where + " tcbLevel"));
    ARCA_ASSIGN_OR_RETURN(std::uint64_t isvsvn, RequireUint(*tcb, "isvsvn", where + " tcbLevel.tcb", 65535));
    if (isvsvn <= svn) return RequireString(l, "tcbStatus", where + " tcbLevel");
  }
  return std::string();
}

}  // namespace

Result<TdxQuote> ParseTdxQuote(ByteSpan d) {
  if (d.size() > kMaxTdxQuoteBytes) {
    return ResourceExhaustedError("TDX quote: " + std::to_string(d.size()) + " bytes exceeds the limit of " +
                                  std::to_string(kMaxTdxQuoteBytes));
  }
  TdxQuote q;
  Cursor c(d, 0);
  ARCA_RETURN_IF_ERROR(c.Need(48, "header"));
  QuoteHeaderFields(q, internal::LeReader{c.Take(48)});
  if (q.version != 4 && q.version != 5) {
    return InvalidArgumentError("TDX quote: header version expected 4 or 5, got " + std::to_string(q.version));
  }
  if (q.attestation_key_type != 2) {
    return InvalidArgumentError("TDX quote: attestation key type expected 2 (ECDSA P-256), got " +
                                std::to_string(q.attestation_key_type));
  }
  if (q.tee_type != 0x81) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "TDX quote: TEE type expected 0x81 (TDX), got 0x%x", q.tee_type);
    return InvalidArgumentError(buf);
  }
  std::size_t body_size = 584;
  if (q.version == 5) {
    ARCA_RETURN_IF_ERROR(c.Need(6, "v5 body descriptor"));
    const std::uint8_t* bd = c.Take(6);
    q.body_type = Le16(bd);
    std::uint32_t size = LoadLe32(bd + 2);
    if (q.body_type == 2 && size == 584) {
      body_size = 584;
    } else if (q.body_type == 3 && size == 648) {
      body_size = 648;
    } else {
      return InvalidArgumentError("TDX quote v5: body type/size expected 2/584 or 3/648, got " +
                                  std::to_string(q.body_type) + "/" + std::to_string(size));
    }
  }
  ARCA_RETURN_IF_ERROR(c.Need(body_size, "TD report body"));
  ParseTdReport(c.Take(body_size), body_size == 648, &q.body);
  q.signed_size = c.pos();
  ARCA_RETURN_IF_ERROR(c.Need(4, "signature data length"));
  std::uint32_t sig_len = LoadLe32(c.Take(4));
  std::size_t sig_start = c.pos();
  if (sig_len > c.remaining()) {
    return InvalidArgumentError("TDX quote: sig_data_len declares " + std::to_string(sig_len) + " bytes but only " +
                                std::to_string(c.remaining()) + " follow offset " + std::to_string(sig_start));
  }
  Cursor s(d.first(sig_start + sig_len), sig_start);
  ARCA_RETURN_IF_ERROR(s.Need(134, "quote signature, attestation key and certification data header"));
  Copy(q.quote_signature, s.Take(64));
  Copy(q.attestation_key, s.Take(64));
  std::uint16_t cert_type = Le16(s.Take(2));
  std::uint32_t cert_size = LoadLe32(s.Take(4));
  if (cert_type != 6) {
    return InvalidArgumentError("TDX quote: certification data type expected 6 (QE report certification data), got " +
                                std::to_string(cert_type));
  }
  if (cert_size != s.remaining()) {
    return InvalidArgumentError("TDX quote: certification data size expected " + std::to_string(s.remaining()) +
                                " (rest of the signature data), got " + std::to_string(cert_size));
  }
  ARCA_RETURN_IF_ERROR(s.Need(384 + 64 + 2, "QE report"));
  const std::uint8_t* qe = s.Take(384);
  q.qe_report_raw.assign(qe, qe + 384);
  ParseSgxReportBody(qe, &q.qe_report);
  Copy(q.qe_report_signature, s.Take(64));
  std::uint16_t auth_len = Le16(s.Take(2));
  ARCA_RETURN_IF_ERROR(s.Need(auth_len, "QE authentication data"));
  const std::uint8_t* auth = s.Take(auth_len);
  q.qe_auth_data.assign(auth, auth + auth_len);
  ARCA_RETURN_IF_ERROR(s.Need(6, "PCK certification data header"));
  q.pck_cert_data_type = Le16(s.Take(2));
  std::uint32_t pck_size = LoadLe32(s.Take(4));
  if (q.pck_cert_data_type != 5) {
    return InvalidArgumentError("TDX quote: PCK certification data type expected 5 (PEM chain), got " +
                                std::to_string(q.pck_cert_data_type));
  }
  if (pck_size != s.remaining()) {
    return InvalidArgumentError("TDX quote: PCK certification data size expected " + std::to_string(s.remaining()) +
                                ", got " + std::to_string(pck_size));
  }
  const std::uint8_t* pck = s.Take(pck_size);
  q.pck_cert_chain.assign(pck, pck + pck_size);
  q.quote_size = sig_start + sig_len;
  q.trailing_bytes = d.size() - q.quote_size;
  q.raw.assign(d.begin(), d.end());
  return q;
}

Bytes SerializeSgxReportBody(const SgxReportBody& r) {
  Bytes out(384, 0);
  SgxReportBodyFields(r, internal::LeWriter{out.data()});
  return out;
}

std::size_t TdxSignedSize(const TdxQuote& q) {
  return 48 + (q.version == 5 ? 6 : 0) + (q.body.is_v15 ? 648 : 584);
}

Result<Bytes> SerializeTdxQuote(const TdxQuote& q) {
  if (q.version != 4 && q.version != 5) {
    return InvalidArgumentError("TDX quote serializer: version expected 4 or 5, got " + std::to_string(q.version));
  }
  if (q.version == 4 && q.body.is_v15) return InvalidArgumentError("TDX quote serializer: a v4 quote carries a TD report 1.0, got 1.5");
  if (q.version == 5 && q.body_type != (q.body.is_v15 ? 3 : 2)) {
    return InvalidArgumentError("TDX quote serializer: v5 body type expected " + std::to_string(q.body.is_v15 ? 3 : 2) +
                                " for a TD report " + (q.body.is_v15 ? "1.5" : "1.0") + ", got " + std::to_string(q.body_type));
  }
  if (q.qe_auth_data.size() > 0xffff) return InvalidArgumentError("TDX quote serializer: QE auth data above 65535 bytes");
  auto le16 = [](Bytes& o, std::uint16_t v) { o.push_back(std::uint8_t(v)); o.push_back(std::uint8_t(v >> 8)); };
  auto le32 = [](Bytes& o, std::uint32_t v) { for (int i = 0; i < 4; ++i) o.push_back(std::uint8_t(v >> (8 * i))); };
  const std::size_t body_size = q.body.is_v15 ? 648 : 584;
  const std::size_t body_at = q.version == 5 ? 48 + 6 : 48;
  Bytes out(body_at + body_size, 0);
  QuoteHeaderFields(q, internal::LeWriter{out.data()});
  if (q.version == 5) {
    out[48] = std::uint8_t(q.body_type);
    out[49] = std::uint8_t(q.body_type >> 8);
    StoreLe32(out.data() + 50, std::uint32_t(body_size));
  }
  TdReportFields(q.body, q.body.is_v15, internal::LeWriter{out.data() + body_at});
  // Certification data type 5: the PCK chain as PEM.
  Bytes pck;
  le16(pck, 5);
  le32(pck, std::uint32_t(q.pck_cert_chain.size()));
  pck.insert(pck.end(), q.pck_cert_chain.begin(), q.pck_cert_chain.end());
  // Certification data type 6: QE report, its signature, auth data, then
  // the nested type 5.
  Bytes qe = SerializeSgxReportBody(q.qe_report);
  qe.insert(qe.end(), q.qe_report_signature.begin(), q.qe_report_signature.end());
  le16(qe, std::uint16_t(q.qe_auth_data.size()));
  qe.insert(qe.end(), q.qe_auth_data.begin(), q.qe_auth_data.end());
  qe.insert(qe.end(), pck.begin(), pck.end());
  Bytes sig(q.quote_signature.begin(), q.quote_signature.end());
  sig.insert(sig.end(), q.attestation_key.begin(), q.attestation_key.end());
  le16(sig, 6);
  le32(sig, std::uint32_t(qe.size()));
  sig.insert(sig.end(), qe.begin(), qe.end());
  le32(out, std::uint32_t(sig.size()));
  out.insert(out.end(), sig.begin(), sig.end());
  if (out.size() > kMaxTdxQuoteBytes) return ResourceExhaustedError("TDX quote serializer: quote above the 64 KiB limit");
  return out;
}

Result<std::pair<std::string, Bytes>> ParseSignedJsonResponse(std::string_view body, std::string_view member) {
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(body, member));
  if (!j.is_object()) return InvalidArgumentError(std::string(member) + " response: expected an object");
  ARCA_ASSIGN_OR_RETURN(std::string sig_hex, RequireString(j, "signature", std::string(member) + " response"));
  ARCA_ASSIGN_OR_RETURN(Bytes sig, HexDecode(sig_hex));
  ARCA_ASSIGN_OR_RETURN(std::string_view raw, internal::RawJsonMember(body, member));
  return std::make_pair(std::string(raw), std::move(sig));
}

void VerifyTdxQuote(const TdxQuote& q, const TdxCollateral& col, std::span<const X509* const> pool_in,
                    std::span<const X509_CRL* const> crls, const RootStore& roots, UnixSeconds t, Verdict* v) {
  const TdReport& b = q.body;
  Json& c = v->claims;
  c["platform"] = "tdx";
  c["verificationTime"] = FormatRfc3339(t);
  c["measurement"] = Hex(b.mrtd);
  c["measurements"] = {{"mrtd", Hex(b.mrtd)}, {"rtmr0", Hex(b.rtmr[0])}, {"rtmr1", Hex(b.rtmr[1])},
                       {"rtmr2", Hex(b.rtmr[2])}, {"rtmr3", Hex(b.rtmr[3])}, {"mrseam", Hex(b.mrseam)}};
  c["reportData"] = Hex(b.report_data);
  c["hostData"] = Hex(b.mrconfigid);
  c["debug"] = b.debug();
  Json td = {{"version", q.version},          {"teeTcbSvn", Hex(b.tee_tcb_svn)},
             {"mrseam", Hex(b.mrseam)},       {"mrsignerseam", Hex(b.mrsignerseam)},
             {"seamAttributes", Hex(b.seam_attributes)}, {"tdAttributes", Hex(b.td_attributes)},
             {"xfam", Hex(b.xfam)},           {"mrtd", Hex(b.mrtd)},
             {"mrconfigid", Hex(b.mrconfigid)}, {"mrowner", Hex(b.mrowner)},
             {"mrownerconfig", Hex(b.mrownerconfig)}, {"rtmr0", Hex(b.rtmr[0])},
             {"rtmr1", Hex(b.rtmr[1])},       {"rtmr2", Hex(b.rtmr[2])},
             {"rtmr3", Hex(b.rtmr[3])},       {"reportData", Hex(b.report_data)},
             {"qeVendorId", Hex(q.qe_vendor_id)}, {"qeSvn", q.qe_svn}, {"pceSvn", q.pce_svn},
             {"quoteBytes", q.quote_size},    {"trailingBytes", q.trailing_bytes},
             {"qe", {{"mrsigner", Hex(q.qe_report.mrsigner)}, {"mrenclave", Hex(q.qe_report.mrenclave)},
                     {"isvprodid", q.qe_report.isvprodid}, {"isvsvn", q.qe_report.isvsvn}}}};
  if (b.is_v15) {
    td["teeTcbSvn2"] = Hex(b.tee_tcb_svn2);
    td["mrservicetd"] = Hex(b.mrservicetd);
  }
  c["tdx"] = td;

  // 1. Header: the QE vendor is Intel.
  v->Record("tdx.header",
            std::equal(q.qe_vendor_id.begin(), q.qe_vendor_id.end(), std::begin(kIntelQeVendorId))
                ? Status::Ok()
                : UnauthenticatedError("QE vendor id expected 939a7233f79c4ca9940a0db3957f0607, got " + Hex(q.qe_vendor_id)),
            "version " + std::to_string(q.version) + ", ECDSA P-256, TEE type 0x81, Intel QE");

  // 2. Quote signature by the attestation key over header || body.
  {
    Status s = [&]() -> Status {
      auto key = internal::EcP256PublicKey(q.attestation_key, "attestation key");
      if (!key.ok()) return UnauthenticatedError("attestation key is not a P-256 point: " + key.status().message());
      ARCA_ASSIGN_OR_RETURN(Bytes der, internal::EcdsaRawToDerAny(q.quote_signature));
      Status vs = internal::VerifySignature(key->get(), EVP_sha256(), q.signed_bytes(), der, 0, "quote signature");
      if (!vs.ok()) return UnauthenticatedError("quote signature (ECDSA P-256, r||s) over header||body by the attestation key does not verify");
      return Status::Ok();
    }();
    v->Record("tdx.quote.signature", s, "ECDSA P-256 over bytes 0.." + std::to_string(q.signed_size - 1));
  }

  // 3. PCK chain from the quote's certification data to the Intel root.
  auto pck_certs = internal::CachedCertificates(q.pck_cert_chain, "PCK certificate chain");
  if (!pck_certs.ok() || pck_certs->empty()) {
    v->Fail("tdx.pck.chain", pck_certs.ok() ? InvalidArgumentError("PCK chain empty") : pck_certs.status());
    return;
  }
  std::vector<const X509*> pool;
  for (const auto& x : *pck_certs) pool.push_back(x.get());
  for (const X509* x : pool_in) pool.push_back(x);
  const X509* pck = (*pck_certs)[0].get();
  std::vector<internal::Anchor> anchors = roots.Anchors(RootVendor::kIntel);
  internal::ChainPolicy policy{kEcdsaSha256Algorithm, {}, "ecdsa-with-SHA256"};
  auto chain = internal::BuildChain(pck, pool, anchors, t, policy);
  if (!chain.ok()) {
    v->Fail("tdx.pck.chain", chain.status());
  } else {
    v->Pass("tdx.pck.chain", chain->Describe());
    Json names = Json::array();
    for (const X509* x : chain->certs) names.push_back(internal::CommonName(x));
    c["signerChain"] = names;
  }

  // 4. QE report signature by the PCK key.
  {
    Status s = [&]() -> Status {
      ARCA_ASSIGN_OR_RETURN(Bytes der, internal::EcdsaRawToDerAny(q.qe_report_signature));
      return internal::VerifySignature(X509_get0_pubkey(pck), EVP_sha256(), q.qe_report_raw, der, 0,
                                       "QE report signature by the PCK certificate");
    }();
    v->Record("tdx.qe_report.signature", s, "ECDSA P-256 by " + internal::CommonName(pck));
  }

  // 5. QE REPORTDATA = SHA-256(attestation key || QE auth data) || 32 zero bytes.
  {
    crypto::Sha256 h;
    h.Update(q.attestation_key);
    h.Update(q.qe_auth_data);
    auto digest = h.Finish();
    Bytes want(digest.begin(), digest.end());
    want.resize(64, 0);
    v->Record("tdx.qe_report.binding",
              ConstantTimeEquals(want, q.qe_report.report_data)
                  ? Status::Ok()
                  : UnauthenticatedError("QE REPORTDATA expected SHA-256(attestation key || QE auth data) || zeros = " +
                                         Hex(ByteSpan(want).first(32)) + ", got " + Hex(ByteSpan(q.qe_report.report_data).first(32))),
              "QE REPORTDATA binds the attestation key");
  }

  // 6. CRLs: the PCK CRL (issuer = the PCK's issuing CA) and the root CA CRL.
  if (chain.ok() && chain->certs.size() >= 2) {
    const X509* pck_ca = chain->certs[1];
    const X509* root = chain->certs.back();
    auto find_crl = [&](const X509* issuer) -> const X509_CRL* {
      for (const X509_CRL* crl : crls)
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) == 0) return crl;
      return nullptr;
    };
    const X509_CRL* pck_crl = find_crl(pck_ca);
    v->Record("tdx.crl.pck",
              pck_crl ? internal::CheckCrl(pck_crl, pck_ca, pck, t, "PCK CRL")
                      : NotFoundError("PCK CRL issued by " + internal::CommonName(pck_ca) + ": not in the bundle"),
              "PCK not revoked by " + internal::CommonName(pck_ca));
    if (chain->certs.size() >= 3) {
      const X509_CRL* root_crl = find_crl(root);
      v->Record("tdx.crl.root",
                root_crl ? internal::CheckCrl(root_crl, root, chain->certs[chain->certs.size() - 2], t, "root CA CRL")
                         : NotFoundError("root CA CRL issued by " + internal::CommonName(root) + ": not in the bundle"),
                internal::CommonName(chain->certs[chain->certs.size() - 2]) + " not revoked");
    }
  }

  auto pck_ext = internal::ReadPckExtensions(pck);
  if (!pck_ext.ok()) {
    v->Fail("tdx.pck.extensions", pck_ext.status());
    return;
  }
  c["tdx"]["fmspc"] = Hex(pck_ext->fmspc);
  Json comps = Json::array();
  for (int s : pck_ext->comp_svn) comps.push_back(s);
  c["tdx"]["pckTcb"] = {{"sgxTcbComponents", comps}, {"pcesvn", pck_ext->pcesvn}, {"cpusvn", Hex(pck_ext->cpusvn)}};

  // 7. TCB info: signature over the served bytes, window, FMSPC, level walk.
  SignedJson tcb;
  Status ts = VerifySignedJson("TCB info", col.tcb_info, col.tcb_info_signature, pool, anchors, t, "tdx.tcb_info", v, &tcb);
  if (!ts.ok()) {
    v->Fail("tdx.tcb_info.signature", ts);
  }
  SignedJson qeid;
  Status qs = VerifySignedJson("QE identity", col.qe_identity, col.qe_identity_signature, pool, anchors, t,
                               "tdx.qe_identity", v, &qeid);
  if (!qs.ok()) v->Fail("tdx.qe_identity.signature", qs);
  if (!ts.ok() || !qs.ok()) return;

  std::string platform_status, qe_status, module_status;
  try {
    const Json& ti = *tcb.value;
    v->Record("tdx.tcb_info.freshness", CheckWindow("TCB info", ti, t),
              "issueDate " + ti.value("issueDate", "") + " <= time < nextUpdate " + ti.value("nextUpdate", ""));
    c["tdx"]["tcbEvaluationDataNumber"] = ti.value("tcbEvaluationDataNumber", Json(nullptr));
    Status id_ok = (ti.value("id", "") == "TDX" && ti.value("version", 0) == 3)
                       ? Status::Ok()
                       : InvalidArgumentError("TCB info: id/version expected TDX/3, got " + ti.value("id", "?") + "/" +
                                              std::to_string(ti.value("version", 0)));
    std::string fmspc = Lower(ti.value("fmspc", ""));
    Status fm = fmspc == Hex(pck_ext->fmspc)
                    ? Status::Ok()
                    : UnauthenticatedError("TCB info fmspc expected " + Hex(pck_ext->fmspc) + " (from the PCK certificate), got " + fmspc);
    if (fm.ok() && !id_ok.ok()) fm = id_ok;
    if (fm.ok() && !pck_ext->pceid.empty() && Lower(ti.value("pceId", "")) != Hex(pck_ext->pceid)) {
      fm = UnauthenticatedError("TCB info pceId expected " + Hex(pck_ext->pceid) + ", got " + ti.value("pceId", ""));
    }
    v->Record("tdx.tcb_info.fmspc", fm, "fmspc " + fmspc);

    // QE identity: window, identity match, QE TCB level.
    const Json& qi = *qeid.value;
    v->Record("tdx.qe_identity.freshness", CheckWindow("QE identity", qi, t),
              "issueDate " + qi.value("issueDate", "") + " <= time < nextUpdate " + qi.value("nextUpdate", ""));
    Status qm = [&]() -> Status {
      if (qi.value("id", "") != "TD_QE") return InvalidArgumentError("QE identity: id expected TD_QE, got " + qi.value("id", ""));
      ARCA_ASSIGN_OR_RETURN(Bytes mrsigner, HexField(qi, "mrsigner", "QE identity"));
      if (mrsigner != Bytes(q.qe_report.mrsigner.begin(), q.qe_report.mrsigner.end())) {
        return UnauthenticatedError("QE MRSIGNER expected " + Lower(Hex(mrsigner)) + ", got " + Hex(q.qe_report.mrsigner));
      }
      ARCA_ASSIGN_OR_RETURN(std::uint64_t prodid, RequireUint(qi, "isvprodid", "QE identity", 65535));
      if (prodid != q.qe_report.isvprodid) {
        return UnauthenticatedError("QE ISVPRODID expected " + std::to_string(prodid) + ", got " + std::to_string(q.qe_report.isvprodid));
      }
      ARCA_ASSIGN_OR_RETURN(Bytes misc, HexField(qi, "miscselect", "QE identity"));
      ARCA_ASSIGN_OR_RETURN(Bytes misc_mask, HexField(qi, "miscselectMask", "QE identity"));
      std::uint8_t m[4];
      StoreLe32(m, q.qe_report.miscselect);
      // miscselect is printed big-endian in the JSON.
      Bytes mine{m[3], m[2], m[1], m[0]};
      if (!MaskedEquals(mine, misc, misc_mask)) return UnauthenticatedError("QE MISCSELECT does not match the QE identity under its mask");
      ARCA_ASSIGN_OR_RETURN(Bytes attr, HexField(qi, "attributes", "QE identity"));
      ARCA_ASSIGN_OR_RETURN(Bytes attr_mask, HexField(qi, "attributesMask", "QE identity"));
      if (!MaskedEquals(q.qe_report.attributes, attr, attr_mask)) {
        return UnauthenticatedError("QE ATTRIBUTES " + Hex(q.qe_report.attributes) + " do not match the QE identity under its mask");
      }
      ARCA_ASSIGN_OR_RETURN(qe_status, FirstLevelByIsvsvn(qi.contains("tcbLevels") ? qi.at("tcbLevels") : Json(), q.qe_report.isvsvn, "QE identity"));
      if (qe_status.empty()) {
        return UnauthenticatedError("QE identity: no TCB level matches QE ISVSVN " + std::to_string(q.qe_report.isvsvn));
      }
      return Status::Ok();
    }();
    v->Record("tdx.qe_identity.match", qm, "QE TCB status " + qe_status);
    c["tdx"]["qeTcbStatus"] = qe_status;

    // TDX module identity (TEE_TCB_SVN[1] > 0) or the single tdxModule.
    Status mm = [&]() -> Status {
      std::uint8_t minor = b.tee_tcb_svn[1];
      const Json* ident = nullptr;
      std::string id;
      if (minor > 0 && ti.contains("tdxModuleIdentities")) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "TDX_%02X", minor);
        id = buf;
        for (const Json& m : ti["tdxModuleIdentities"])
          if (m.is_object() && m.value("id", "") == id) ident = &m;
        if (!ident) return UnauthenticatedError("TCB info: no tdxModuleIdentities entry " + id + " for TEE_TCB_SVN[1] = " + std::to_string(minor));
      } else if (ti.contains("tdxModule")) {
        ident = &ti["tdxModule"];
        id = "tdxModule";
      } else {
        return Status::Ok();
      }
      ARCA_ASSIGN_OR_RETURN(Bytes mrsigner, HexField(*ident, "mrsigner", "TCB info " + id));
      if (mrsigner != Bytes(b.mrsignerseam.begin(), b.mrsignerseam.end())) {
        return UnauthenticatedError("MRSIGNERSEAM expected " + Lower(Hex(mrsigner)) + " (" + id + "), got " + Hex(b.mrsignerseam));
      }
      ARCA_ASSIGN_OR_RETURN(Bytes attr, HexField(*ident, "attributes", "TCB info " + id));
      ARCA_ASSIGN_OR_RETURN(Bytes mask, HexField(*ident, "attributesMask", "TCB info " + id));
      if (!MaskedEquals(b.seam_attributes, attr, mask)) return UnauthenticatedError("SEAMATTRIBUTES do not match " + id + " under its mask");
      if (ident->contains("tcbLevels")) {
        ARCA_ASSIGN_OR_RETURN(module_status, FirstLevelByIsvsvn((*ident)["tcbLevels"], b.tee_tcb_svn[0], "TCB info " + id));
        if (module_status.empty()) {
          return UnauthenticatedError("TDX module " + id + ": no TCB level matches ISVSVN TEE_TCB_SVN[0] = " + std::to_string(b.tee_tcb_svn[0]));
        }
      }
      return Status::Ok();
    }();
    v->Record("tdx.module_identity", mm, module_status.empty() ? "module identity matches" : "module TCB status " + module_status);

    // Platform TCB level walk: the first level (newest first) whose SGX
    // components and PCESVN are <= the PCK's and whose TDX components are <=
    // TEE_TCB_SVN (indices 0 and 1 skipped when TEE_TCB_SVN[1] > 0).
    Status lw = [&]() -> Status {
      if (!ti.contains("tcbLevels") || !ti["tcbLevels"].is_array()) return InvalidArgumentError("TCB info: tcbLevels expected an array");
      std::size_t tdx_start = b.tee_tcb_svn[1] > 0 ? 2 : 0;
      for (const Json& level : ti["tcbLevels"]) {
        const Json& lt = level.at("tcb");
        const Json& sgx = lt.at("sgxtcbcomponents");
        const Json& tdx = lt.at("tdxtcbcomponents");
        if (!sgx.is_array() || sgx.size() != 16 || !tdx.is_array() || tdx.size() != 16) {
          return InvalidArgumentError("TCB info: tcbLevel components expected 16 SGX and 16 TDX entries");
        }
        bool match = true;
        for (int i = 0; i < 16 && match; ++i) match = sgx[i].at("svn").get<int>() <= pck_ext->comp_svn[i];
        match = match && lt.at("pcesvn").get<int>() <= pck_ext->pcesvn;
        for (std::size_t i = tdx_start; i < 16 && match; ++i) match = tdx[i].at("svn").get<int>() <= b.tee_tcb_svn[i];
        if (match) {
          platform_status = level.at("tcbStatus").get<std::string>();
          c["tdx"]["tcbDate"] = level.value("tcbDate", "");
          if (level.contains("advisoryIDs")) c["tdx"]["advisoryIds"] = level["advisoryIDs"];
          return Status::Ok();
        }
      }
      return FailedPreconditionError("no matching TCB level: TCB level not supported (PCK SGX components, PCESVN " +
                                     std::to_string(pck_ext->pcesvn) + " and TEE_TCB_SVN " + Hex(b.tee_tcb_svn) +
                                     " are below every level of the TCB info)");
    }();
    v->Record("tdx.tcb.level", lw, "platform TCB status " + platform_status);
  } catch (const nlohmann::json::exception& e) {
    v->Fail("tdx.collateral.schema", InvalidArgumentError(std::string("TCB info / QE identity: unexpected JSON shape: ") + e.what()));
    return;
  }
  if (platform_status.empty()) return;
  std::string status = platform_status;
  if (!qe_status.empty()) status = Converge(status, qe_status);
  if (!module_status.empty()) status = Converge(status, module_status);
  if (StatusRank(status) < 0) {
    v->Fail("tdx.tcb.status", FailedPreconditionError("TCB status expected one of Intel's statuses, got " + status));
    return;
  }
  c["tdx"]["platformTcbStatus"] = platform_status;
  if (!module_status.empty()) c["tdx"]["moduleTcbStatus"] = module_status;
  c["tcbStatus"] = status;
  c["tcb"] = {{"teeTcbSvn", Hex(b.tee_tcb_svn)}, {"sgxTcbComponents", comps}, {"pcesvn", pck_ext->pcesvn}};
  v->Pass("tdx.tcb.status", status);
}

}  // namespace arca::attest
