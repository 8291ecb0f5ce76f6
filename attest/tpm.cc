#include "attest/tpm.h"

#include <openssl/rsa.h>

#include "attest/internal/x509.h"
#include "base/crypto.h"

namespace arca::attest {
namespace {

class BeReader {
 public:
  explicit BeReader(ByteSpan d, std::string what) : d_(d), what_(std::move(what)) {}
  Status Need(std::size_t n, const char* field) const {
    if (d_.size() - pos_ < n) {
      return InvalidArgumentError(what_ + ": " + field + " at offset " + std::to_string(pos_) + " needs " +
                                  std::to_string(n) + " bytes, " + std::to_string(d_.size() - pos_) + " remain");
    }
    return Status::Ok();
  }
  Result<std::uint64_t> Uint(std::size_t n, const char* field) {
    ARCA_RETURN_IF_ERROR(Need(n, field));
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | d_[pos_++];
    return v;
  }
  Result<Bytes> Sized(const char* field, std::size_t max) {
    ARCA_ASSIGN_OR_RETURN(std::uint64_t n, Uint(2, field));
    if (n > max) return InvalidArgumentError(what_ + ": " + field + " size " + std::to_string(n) + " exceeds " + std::to_string(max));
    ARCA_RETURN_IF_ERROR(Need(n, field));
    Bytes out(d_.begin() + pos_, d_.begin() + pos_ + n);
    pos_ += n;
    return out;
  }
  bool done() const { return pos_ == d_.size(); }
  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return d_.size() - pos_; }

 private:
  ByteSpan d_;
  std::string what_;
  std::size_t pos_ = 0;
};

const EVP_MD* TpmHash(std::uint16_t alg) {
  switch (alg) {
    case 0x0004: return EVP_sha1();
    case 0x000b: return EVP_sha256();
    case 0x000c: return EVP_sha384();
    case 0x000d: return EVP_sha512();
  }
  return nullptr;
}

Bytes Digest(const EVP_MD* md, ByteSpan data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &n, md, nullptr);
  out.resize(n);
  return out;
}

}  // namespace

std::size_t TpmHashSize(std::uint16_t alg) {
  const EVP_MD* md = TpmHash(alg);
  return md ? std::size_t(EVP_MD_get_size(md)) : 0;
}

Result<TpmsAttest> ParseTpmsAttest(ByteSpan d) {
  if (d.size() > kMaxTpmsAttestBytes) {
    return ResourceExhaustedError("TPMS_ATTEST: " + std::to_string(d.size()) + " bytes exceeds " + std::to_string(kMaxTpmsAttestBytes));
  }
  BeReader r(d, "TPMS_ATTEST");
  TpmsAttest a;
  ARCA_ASSIGN_OR_RETURN(std::uint64_t magic, r.Uint(4, "magic"));
  a.magic = std::uint32_t(magic);
  if (a.magic != 0xff544347) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "TPMS_ATTEST: magic expected ff544347, got %08x", a.magic);
    return InvalidArgumentError(buf);
  }
  ARCA_ASSIGN_OR_RETURN(std::uint64_t type, r.Uint(2, "type"));
  a.type = std::uint16_t(type);
  if (a.type != 0x8018) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "TPMS_ATTEST: type expected 8018 (TPM_ST_ATTEST_QUOTE), got %04x", a.type);
    return InvalidArgumentError(buf);
  }
  ARCA_ASSIGN_OR_RETURN(a.qualified_signer, r.Sized("qualifiedSigner", 68));
  ARCA_ASSIGN_OR_RETURN(a.extra_data, r.Sized("extraData", 64));
  ARCA_ASSIGN_OR_RETURN(a.clock, r.Uint(8, "clockInfo.clock"));
  ARCA_ASSIGN_OR_RETURN(std::uint64_t reset, r.Uint(4, "clockInfo.resetCount"));
  ARCA_ASSIGN_OR_RETURN(std::uint64_t restart, r.Uint(4, "clockInfo.restartCount"));
  ARCA_ASSIGN_OR_RETURN(std::uint64_t safe, r.Uint(1, "clockInfo.safe"));
  a.reset_count = std::uint32_t(reset);
  a.restart_count = std::uint32_t(restart);
  if (safe > 1) return InvalidArgumentError("TPMS_ATTEST: clockInfo.safe expected 0 or 1, got " + std::to_string(safe));
  a.safe = safe == 1;
  ARCA_ASSIGN_OR_RETURN(a.firmware_version, r.Uint(8, "firmwareVersion"));
  ARCA_ASSIGN_OR_RETURN(std::uint64_t count, r.Uint(4, "pcrSelect.count"));
  if (count > 16) return InvalidArgumentError("TPMS_ATTEST: pcrSelect.count expected at most 16, got " + std::to_string(count));
  for (std::uint64_t i = 0; i < count; ++i) {
    TpmPcrSelection sel;
    ARCA_ASSIGN_OR_RETURN(std::uint64_t hash, r.Uint(2, "pcrSelections.hash"));
    sel.hash_alg = std::uint16_t(hash);
    ARCA_ASSIGN_OR_RETURN(std::uint64_t size, r.Uint(1, "pcrSelections.sizeofSelect"));
    if (size > 4) return InvalidArgumentError("TPMS_ATTEST: sizeofSelect expected at most 4, got " + std::to_string(size));
    for (std::uint64_t byte = 0; byte < size; ++byte) {
      ARCA_ASSIGN_OR_RETURN(std::uint64_t bits, r.Uint(1, "pcrSelections.pcrSelect"));
      for (int bit = 0; bit < 8; ++bit)
        if (bits & (1u << bit)) sel.pcrs.push_back(int(byte * 8 + bit));
    }
    a.pcr_select.push_back(std::move(sel));
  }
  ARCA_ASSIGN_OR_RETURN(a.pcr_digest, r.Sized("pcrDigest", 64));
  if (!r.done()) {
    return InvalidArgumentError("TPMS_ATTEST: " + std::to_string(r.remaining()) + " trailing bytes after pcrDigest at offset " +
                                std::to_string(r.pos()));
  }
  return a;
}

Result<TpmEccPublic> ParseTpm2bPublic(ByteSpan d) {
  if (d.size() > kMaxTpmPublicBytes) {
    return ResourceExhaustedError("TPM2B_PUBLIC: " + std::to_string(d.size()) + " bytes exceeds " +
                                  std::to_string(kMaxTpmPublicBytes));
  }
  BeReader r(d, "TPM2B_PUBLIC");
  constexpr std::uint16_t kAlgNull = 0x0010;
  ARCA_ASSIGN_OR_RETURN(std::uint64_t size, r.Uint(2, "size"));
  if (size != r.remaining()) {
    return InvalidArgumentError("TPM2B_PUBLIC: size says " + std::to_string(size) + " bytes, " +
                                std::to_string(r.remaining()) + " follow");
  }
  ARCA_ASSIGN_OR_RETURN(std::uint64_t type, r.Uint(2, "type"));
  if (type != 0x0023) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "TPM2B_PUBLIC: type expected 0023 (TPM_ALG_ECC), got %04x", unsigned(type));
    return InvalidArgumentError(buf);
  }
  TpmEccPublic p;
  auto u16 = [&](const char* field, std::uint16_t* out) -> Status {
    ARCA_ASSIGN_OR_RETURN(std::uint64_t v, r.Uint(2, field));
    *out = std::uint16_t(v);
    return Status::Ok();
  };
  ARCA_RETURN_IF_ERROR(u16("nameAlg", &p.name_alg));
  ARCA_ASSIGN_OR_RETURN(std::uint64_t attributes, r.Uint(4, "objectAttributes"));
  p.attributes = std::uint32_t(attributes);
  ARCA_ASSIGN_OR_RETURN(p.auth_policy, r.Sized("authPolicy", 64));
  ARCA_RETURN_IF_ERROR(u16("symmetric.algorithm", &p.symmetric));
  if (p.symmetric != kAlgNull) {
    std::uint16_t bits = 0, mode = 0;
    ARCA_RETURN_IF_ERROR(u16("symmetric.keyBits", &bits));
    ARCA_RETURN_IF_ERROR(u16("symmetric.mode", &mode));
  }
  ARCA_RETURN_IF_ERROR(u16("scheme.scheme", &p.scheme));
  if (p.scheme != kAlgNull) {
    ARCA_RETURN_IF_ERROR(u16("scheme.hashAlg", &p.scheme_hash));
    if (p.scheme == 0x001a) {  // TPM_ALG_ECDAA: TPMS_SCHEME_ECDAA has a count too
      std::uint16_t count = 0;
      ARCA_RETURN_IF_ERROR(u16("scheme.count", &count));
    }
  }
  ARCA_RETURN_IF_ERROR(u16("curveID", &p.curve));
  ARCA_RETURN_IF_ERROR(u16("kdf.scheme", &p.kdf));
  if (p.kdf != kAlgNull) {
    std::uint16_t hash = 0;
    ARCA_RETURN_IF_ERROR(u16("kdf.hashAlg", &hash));
  }
  ARCA_ASSIGN_OR_RETURN(p.x, r.Sized("unique.x", 66));
  ARCA_ASSIGN_OR_RETURN(p.y, r.Sized("unique.y", 66));
  if (!r.done()) {
    return InvalidArgumentError("TPM2B_PUBLIC: " + std::to_string(r.remaining()) + " trailing bytes after unique at offset " +
                                std::to_string(r.pos()));
  }
  return p;
}

void VerifyTpmQuote(const TpmQuote& q, EVP_PKEY* ak, const std::string& ak_anchor, Verdict* v) {
  auto parsed = ParseTpmsAttest(q.message);
  if (!parsed.ok()) {
    v->Fail("tpm.attest.parse", parsed.status());
    return;
  }
  v->Pass("tpm.attest.parse", "TPMS_ATTEST quote, " + std::to_string(q.message.size()) + " bytes");
  const TpmsAttest& a = *parsed;
  Json pcrs = Json::object();
  Json& c = v->claims;
  Json tpm = {{"nonce", HexEncode(a.extra_data)},
              {"qualifiedSigner", HexEncode(a.qualified_signer)},
              {"clock", a.clock},
              {"resetCount", a.reset_count},
              {"restartCount", a.restart_count},
              {"safe", a.safe},
              {"firmwareVersion", a.firmware_version},
              {"pcrDigest", HexEncode(a.pcr_digest)}};

  // AK anchor: refuse an AK nothing vouches for.
  if (ak == nullptr || ak_anchor.empty()) {
    v->Fail("tpm.ak.anchor", UnauthenticatedError("attestation key is unanchored: name it with --tpm-ak, bundle an AK "
                                                  "certificate that chains to a configured TPM root, or bundle an "
                                                  "SNP report whose report data binds it"));
  } else {
    v->Pass("tpm.ak.anchor", ak_anchor);
  }

  // Signature: TPMT_SIGNATURE or a bare RSASSA signature of modulus size.
  std::uint16_t sig_hash = 0x000b;
  if (ak) {
    Status s = [&]() -> Status {
      bool is_rsa = EVP_PKEY_is_a(ak, "RSA");
      std::size_t mod = std::size_t(EVP_PKEY_get_size(ak));
      if (is_rsa && q.signature.size() == mod) {
        return internal::VerifySignature(ak, EVP_sha256(), q.message, q.signature, RSA_PKCS1_PADDING,
                                         "TPM quote signature (bare RSASSA-PKCS1-v1_5/SHA-256) by the AK");
      }
      BeReader r(q.signature, "TPMT_SIGNATURE");
      ARCA_ASSIGN_OR_RETURN(std::uint64_t alg, r.Uint(2, "sigAlg"));
      ARCA_ASSIGN_OR_RETURN(std::uint64_t hash, r.Uint(2, "hash"));
      sig_hash = std::uint16_t(hash);
      const EVP_MD* md = TpmHash(sig_hash);
      if (!md) return InvalidArgumentError("TPMT_SIGNATURE: unknown hash algorithm " + std::to_string(hash));
      if (alg == 0x0014 || alg == 0x0016) {
        if (!is_rsa) return UnauthenticatedError("TPMT_SIGNATURE: RSA signature but the AK is not an RSA key");
        ARCA_ASSIGN_OR_RETURN(Bytes sig, r.Sized("signature", 1024));
        if (!r.done()) return InvalidArgumentError("TPMT_SIGNATURE: trailing bytes");
        return internal::VerifySignature(ak, md, q.message, sig, alg == 0x0014 ? RSA_PKCS1_PADDING : RSA_PKCS1_PSS_PADDING,
                                         alg == 0x0014 ? "TPM quote signature (RSASSA-PKCS1-v1_5) by the AK"
                                                       : "TPM quote signature (RSA-PSS) by the AK");
      }
      if (alg == 0x0018) {
        if (!EVP_PKEY_is_a(ak, "EC")) return UnauthenticatedError("TPMT_SIGNATURE: ECDSA signature but the AK is not an EC key");
        ARCA_ASSIGN_OR_RETURN(Bytes rr, r.Sized("signatureR", 66));
        ARCA_ASSIGN_OR_RETURN(Bytes ss, r.Sized("signatureS", 66));
        if (!r.done()) return InvalidArgumentError("TPMT_SIGNATURE: trailing bytes");
        std::size_t n = std::max(rr.size(), ss.size());
        Bytes raw(2 * n, 0);
        std::copy(rr.begin(), rr.end(), raw.begin() + (n - rr.size()));
        std::copy(ss.begin(), ss.end(), raw.begin() + (2 * n - ss.size()));
        ARCA_ASSIGN_OR_RETURN(Bytes der, internal::EcdsaRawToDerAny(raw));
        return internal::VerifySignature(ak, md, q.message, der, 0, "TPM quote signature (ECDSA) by the AK");
      }
      char buf[96];
      std::snprintf(buf, sizeof buf, "TPMT_SIGNATURE: sigAlg expected 0x0014, 0x0016 or 0x0018, got 0x%04x", unsigned(alg));
      return InvalidArgumentError(buf);
    }();
    v->Record("tpm.quote.signature", s, "AK signature over TPMS_ATTEST");
  }

  // pcrDigest = H(PCR values of every selected PCR, in selection order),
  // H being the signing scheme's hash.
  Status d = [&]() -> Status {
    std::size_t total = 0;
    for (const auto& sel : a.pcr_select) total += sel.pcrs.size();
    if (q.pcrs.size() != total) {
      return UnauthenticatedError("PCR values: expected " + std::to_string(total) + " (the quote's selection), got " +
                                  std::to_string(q.pcrs.size()));
    }
    Bytes concat;
    std::size_t i = 0;
    for (const auto& sel : a.pcr_select) {
      std::size_t size = TpmHashSize(sel.hash_alg);
      if (size == 0) return InvalidArgumentError("PCR selection: unknown bank hash " + std::to_string(sel.hash_alg));
      Json bank = Json::object();
      for (int pcr : sel.pcrs) {
        const Bytes& val = q.pcrs[i++];
        if (val.size() != size) {
          return InvalidArgumentError("PCR " + std::to_string(pcr) + ": expected " + std::to_string(size) + " bytes, got " +
                                      std::to_string(val.size()));
        }
        bank[std::to_string(pcr)] = HexEncode(val);
        concat.insert(concat.end(), val.begin(), val.end());
      }
      pcrs[sel.hash_alg == 0x000b ? "sha256" : sel.hash_alg == 0x0004 ? "sha1" : sel.hash_alg == 0x000c ? "sha384" : "sha512"] = bank;
    }
    const EVP_MD* md = TpmHash(sig_hash);
    if (!md) md = EVP_sha256();
    Bytes digest = Digest(md, concat);
    if (!ConstantTimeEquals(digest, a.pcr_digest)) {
      return UnauthenticatedError("pcrDigest mismatch: quote says " + HexEncode(a.pcr_digest) +
                                  ", the reported PCR values hash to " + HexEncode(digest));
    }
    return Status::Ok();
  }();
  v->Record("tpm.pcr_digest", d, "pcrDigest recomputed from the PCR values");
  tpm["pcrs"] = pcrs;
  c["tpm"] = tpm;
  if (!c.contains("platform")) c["platform"] = "tpm";
  if (!c.contains("reportData")) c["reportData"] = HexEncode(a.extra_data);
  if (!c.contains("measurements")) c["measurements"] = {{"pcrs", pcrs}};
}

}  // namespace arca::attest
