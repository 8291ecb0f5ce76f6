#include "attest/snp.h"

#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

#include "attest/internal/der.h"
#include "attest/internal/extensions.h"
#include "attest/internal/le_codec.h"
#include "attest/internal/x509.h"

namespace arca::attest {
namespace {

// AlgorithmIdentifier of RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48,
// trailer 1: the only signature algorithm AMD uses for ARK, ASK and VCEK.
constexpr std::uint8_t kAmdPssAlgorithm[] = {
    0x30, 0x46, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x39, 0xa0, 0x0f, 0x30,
    0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a,
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
    0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x30, 0xa3, 0x03, 0x02, 0x01, 0x01};
// The same parameters with the default trailerField omitted (strict DER);
// newer AMD certificates (Genoa VCEKs from 2025) use this form.
constexpr std::uint8_t kAmdPssAlgorithmNoTrailer[] = {
    0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34, 0xa0, 0x0f, 0x30,
    0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a,
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
    0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x30};

std::string Hex(ByteSpan b) { return HexEncode(b); }

Json TcbJson(const SnpTcb& t) {
  Json j = {{"raw", Hex(ByteSpan(reinterpret_cast<const std::uint8_t*>(&t.raw), 8))},
            {"bootloader", t.bootloader}, {"tee", t.tee}, {"snp", t.snp}, {"microcode", t.microcode}};
  std::uint8_t le[8];
  StoreLe64(le, t.raw);
  j["raw"] = Hex(le);
  if (t.turin_layout) j["fmc"] = t.fmc;
  return j;
}

bool IsEcP384(EVP_PKEY* key) {
  if (!key || !EVP_PKEY_is_a(key, "EC")) return false;
  char group[64] = {0};
  std::size_t len = 0;
  return EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1 && std::string(group) == "secp384r1";
}

}  // namespace

SnpTcb DecodeSnpTcb(std::uint64_t raw, bool turin) {
  SnpTcb t;
  t.raw = raw;
  t.turin_layout = turin;
  std::uint8_t b[8];
  StoreLe64(b, raw);
  if (turin) {
    t.fmc = b[0];
    t.bootloader = b[1];
    t.tee = b[2];
    t.snp = b[3];
  } else {
    t.bootloader = b[0];
    t.tee = b[1];
    t.snp = b[6];
  }
  t.microcode = b[7];
  return t;
}

SnpPolicy DecodeSnpPolicy(std::uint64_t raw) {
  SnpPolicy p;
  p.raw = raw;
  p.abi_minor = std::uint8_t(raw & 0xff);
  p.abi_major = std::uint8_t((raw >> 8) & 0xff);
  auto bit = [&](int n) { return ((raw >> n) & 1) != 0; };
  p.smt = bit(16);
  p.reserved_bit17 = bit(17);
  p.migrate_ma = bit(18);
  p.debug = bit(19);
  p.single_socket = bit(20);
  p.cxl_allow = bit(21);
  p.mem_aes_256_xts = bit(22);
  p.rapl_dis = bit(23);
  p.ciphertext_hiding = bit(24);
  p.page_swap_disable = bit(25);
  return p;
}

namespace {

// SnpReportFields visits every field of Table 22 at its offset except
// SIGNER_INFO (0x048, bit fields) and the decoded POLICY (visited as raw).
// `R` is SnpReport (parsing) or const SnpReport (serializing).
template <typename R, typename V>
void SnpReportFields(R& r, const V& f) {
  f(0x000, r.version);
  f(0x004, r.guest_svn);
  f(0x008, r.policy.raw);
  f(0x010, r.family_id);
  f(0x020, r.image_id);
  f(0x030, r.vmpl);
  f(0x034, r.signature_algo);
  f(0x038, r.current_tcb);
  f(0x040, r.platform_info);
  f(0x050, r.report_data);
  f(0x090, r.measurement);
  f(0x0C0, r.host_data);
  f(0x0E0, r.id_key_digest);
  f(0x110, r.author_key_digest);
  f(0x140, r.report_id);
  f(0x160, r.report_id_ma);
  f(0x180, r.reported_tcb);
  f(0x188, r.cpuid_fam_id);
  f(0x189, r.cpuid_mod_id);
  f(0x18A, r.cpuid_step);
  f(0x1A0, r.chip_id);
  f(0x1E0, r.committed_tcb);
  f(0x1E8, r.current_build);
  f(0x1E9, r.current_minor);
  f(0x1EA, r.current_major);
  f(0x1EC, r.committed_build);
  f(0x1ED, r.committed_minor);
  f(0x1EE, r.committed_major);
  f(0x1F0, r.launch_tcb);
  f(0x2A0, r.signature_r);
  f(0x2E8, r.signature_s);
}

constexpr std::size_t kSignerInfoOffset = 0x048;

}  // namespace

Result<SnpReport> ParseSnpReport(ByteSpan d) {
  if (d.size() != kSnpReportSize) {
    return InvalidArgumentError("SNP report: length expected " + std::to_string(kSnpReportSize) + " bytes, got " +
                                std::to_string(d.size()));
  }
  SnpReport r;
  SnpReportFields(r, internal::LeReader{d.data()});
  if (r.version != 2 && r.version != 3 && r.version != 5) {
    return InvalidArgumentError("SNP report: VERSION expected 2, 3 or 5, got " + std::to_string(r.version));
  }
  if (r.signature_algo != 1) {
    return InvalidArgumentError("SNP report: SIGNATURE_ALGO expected 1 (ECDSA P-384 with SHA-384), got " +
                                std::to_string(r.signature_algo));
  }
  r.policy = DecodeSnpPolicy(r.policy.raw);
  if (!r.policy.reserved_bit17) return InvalidArgumentError("SNP report: POLICY bit 17 must be one, got zero");
  std::uint32_t info = LoadLe32(d.data() + kSignerInfoOffset);
  r.author_key_en = info & 1;
  r.mask_chip_key = (info >> 1) & 1;
  r.signing_key = (info >> 2) & 7;
  if (r.version < 3) {
    // CPUID_FAM_ID/MOD_ID/STEP are reserved before version 3.
    r.cpuid_fam_id = r.cpuid_mod_id = r.cpuid_step = 0;
  }
  r.raw.assign(d.begin(), d.end());
  return r;
}

Bytes SerializeSnpReport(const SnpReport& r) {
  Bytes out(kSnpReportSize, 0);
  SnpReportFields(r, internal::LeWriter{out.data()});
  std::uint32_t info = std::uint32_t(r.author_key_en) | std::uint32_t(r.mask_chip_key) << 1 | (r.signing_key & 7) << 2;
  StoreLe32(out.data() + kSignerInfoOffset, info);
  return out;
}

Json SnpReportJson(const SnpReport& r, bool turin) {
  const SnpPolicy& p = r.policy;
  char policy_hex[24];
  std::snprintf(policy_hex, sizeof policy_hex, "0x%llx", static_cast<unsigned long long>(p.raw));
  static const char* kSigningKey[] = {"vcek", "vlek", "reserved", "reserved", "reserved", "reserved", "reserved", "none"};
  Json j = {
      {"version", r.version},
      {"guestSvn", r.guest_svn},
      {"policy",
       {{"raw", policy_hex}, {"abiMajor", p.abi_major}, {"abiMinor", p.abi_minor}, {"smt", p.smt},
        {"migrationAgent", p.migrate_ma}, {"debug", p.debug}, {"singleSocket", p.single_socket},
        {"cxlAllow", p.cxl_allow}, {"memAes256Xts", p.mem_aes_256_xts}, {"raplDisable", p.rapl_dis},
        {"ciphertextHiding", p.ciphertext_hiding}, {"pageSwapDisable", p.page_swap_disable}}},
      {"familyId", Hex(r.family_id)},
      {"imageId", Hex(r.image_id)},
      {"vmpl", r.vmpl},
      {"signatureAlgo", r.signature_algo},
      {"platformInfo", r.platform_info},
      {"authorKeyEn", r.author_key_en},
      {"maskChipKey", r.mask_chip_key},
      {"signingKey", kSigningKey[r.signing_key & 7]},
      {"reportData", Hex(r.report_data)},
      {"measurement", Hex(r.measurement)},
      {"hostData", Hex(r.host_data)},
      {"idKeyDigest", Hex(r.id_key_digest)},
      {"authorKeyDigest", Hex(r.author_key_digest)},
      {"reportId", Hex(r.report_id)},
      {"reportIdMa", Hex(r.report_id_ma)},
      {"currentTcb", TcbJson(DecodeSnpTcb(r.current_tcb, turin))},
      {"reportedTcb", TcbJson(DecodeSnpTcb(r.reported_tcb, turin))},
      {"committedTcb", TcbJson(DecodeSnpTcb(r.committed_tcb, turin))},
      {"launchTcb", TcbJson(DecodeSnpTcb(r.launch_tcb, turin))},
      {"chipId", Hex(r.chip_id)},
      {"currentFirmware", std::to_string(r.current_major) + "." + std::to_string(r.current_minor) + "." +
                              std::to_string(r.current_build)},
      {"committedFirmware", std::to_string(r.committed_major) + "." + std::to_string(r.committed_minor) + "." +
                                std::to_string(r.committed_build)},
  };
  if (r.version >= 3) {
    char cpuid[8];
    std::snprintf(cpuid, sizeof cpuid, "%02x%02x%02x", r.cpuid_fam_id, r.cpuid_mod_id, r.cpuid_step);
    j["cpuid"] = cpuid;
  }
  return j;
}

void VerifySnpReport(const SnpReport& r, std::span<const X509* const> certs, const RootStore& roots, UnixSeconds time,
                     Verdict* v) {
  Json& c = v->claims;
  c["platform"] = c.value("platform", "sev-snp");
  c["verificationTime"] = FormatRfc3339(time);
  c["measurement"] = Hex(r.measurement);
  c["measurements"] = {{"measurement", Hex(r.measurement)}};
  c["reportData"] = Hex(r.report_data);
  c["hostData"] = Hex(r.host_data);
  c["debug"] = r.policy.debug;
  c["chipId"] = Hex(r.chip_id);

  // Select the endorsement key named by SIGNER_INFO.SIGNING_KEY.
  if (r.signing_key != 0 && r.signing_key != 1) {
    v->Fail("snp.signing_key", UnauthenticatedError("SIGNER_INFO.SIGNING_KEY expected 0 (VCEK) or 1 (VLEK), got " +
                                                    std::to_string(r.signing_key)));
    return;
  }
  const char* want_cn = r.signing_key == 0 ? "SEV-VCEK" : "SEV-VLEK";
  const char* key_name = r.signing_key == 0 ? "VCEK" : "VLEK";
  const X509* leaf = nullptr;
  for (const X509* x : certs)
    if (internal::CommonName(x) == want_cn && IsEcP384(X509_get0_pubkey(x))) leaf = x;
  if (!leaf) {
    for (const X509* x : certs)
      if (!leaf && X509_check_ca(const_cast<X509*>(x)) == 0 && IsEcP384(X509_get0_pubkey(x))) leaf = x;
  }
  if (!leaf) {
    v->Fail("snp.vcek", NotFoundError(std::string("no ") + key_name + " certificate (CN=" + want_cn +
                                      ", EC P-384 key) in the bundle"));
    return;
  }
  v->Pass("snp.vcek", std::string(key_name) + " CN=" + internal::CommonName(leaf));

  // Chain VCEK -> ASK -> ARK (or VLEK -> ASVK -> ARK) to a pinned root.
  std::vector<internal::Anchor> anchors = roots.Anchors(RootVendor::kAmd);
  internal::ChainPolicy policy{kAmdPssAlgorithm, kAmdPssAlgorithmNoTrailer, "RSASSA-PSS SHA-384/MGF1-SHA-384/salt 48"};
  auto chain = internal::BuildChain(leaf, certs, anchors, time, policy);
  bool turin = r.IsTurinLayout();
  if (chain.ok()) {
    v->Pass("snp.chain", chain->Describe());
    Json names = Json::array();
    for (const X509* x : chain->certs) names.push_back(internal::CommonName(x));
    c["signerChain"] = names;
    if (chain->anchor->name.find("Turin") != std::string::npos && r.version < 3) turin = true;
  } else {
    v->Fail("snp.chain", chain.status());
  }

  // Report signature: ECDSA P-384/SHA-384 over 0x000..0x29F; R and S are
  // little-endian 72-byte fields of which only the low 48 bytes may be set.
  Status sig_status = [&]() -> Status {
    for (std::size_t i = 48; i < 72; ++i) {
      if (r.signature_r[i] || r.signature_s[i]) {
        return UnauthenticatedError("report signature: R/S bytes 48..71 expected zero, got non-zero");
      }
    }
    // The rest of the 512-byte signature field is reserved and covered by
    // no signature: it must be zero, or it could carry anything.
    for (std::size_t i = kSnpSignatureReservedOffset; i < kSnpReportSize; ++i) {
      if (r.raw[i] != 0) {
        char buf[112];
        std::snprintf(buf, sizeof buf, "report signature: reserved byte 0x%03zX expected zero, got 0x%02x", i, r.raw[i]);
        return UnauthenticatedError(buf);
      }
    }
    Bytes rs(96);
    for (std::size_t i = 0; i < 48; ++i) {
      rs[47 - i] = r.signature_r[i];
      rs[95 - i] = r.signature_s[i];
    }
    ARCA_ASSIGN_OR_RETURN(Bytes der, internal::EcdsaRawToDerAny(rs));
    return internal::VerifySignature(X509_get0_pubkey(leaf), EVP_sha384(), r.signed_bytes(), der, 0,
                                     std::string("report signature (ECDSA P-384/SHA-384) under the ") + key_name +
                                         " " + internal::CommonName(leaf));
  }();
  v->Record("snp.report.signature", sig_status, "ECDSA P-384/SHA-384 over bytes 0x000..0x29F");

  // The VCEK's TCB extensions must equal REPORTED_TCB, and its hwID CHIP_ID.
  SnpTcb tcb = DecodeSnpTcb(r.reported_tcb, turin);
  c["tcb"] = TcbJson(tcb);
  c["snp"] = SnpReportJson(r, turin);
  auto ext = internal::ReadVcekExtensions(leaf);
  if (!ext.ok()) {
    v->Fail("snp.vcek.tcb", ext.status());
    return;
  }
  if (!ext->product_name.empty()) c["productName"] = ext->product_name;
  Status tcb_status = [&]() -> Status {
    if (!ext->has_tcb) return UnauthenticatedError(std::string(key_name) + " has no TCB extensions (1.3.6.1.4.1.3704.1.3.x)");
    auto cmp = [&](const char* field, const char* oid, int cert_value, int report_value) -> Status {
      if (cert_value != report_value) {
        return UnauthenticatedError(std::string(key_name) + " " + field + " (" + oid + ") expected REPORTED_TCB value " +
                                    std::to_string(report_value) + ", got " + std::to_string(cert_value));
      }
      return Status::Ok();
    };
    ARCA_RETURN_IF_ERROR(cmp("blSPL", "1.3.6.1.4.1.3704.1.3.1", ext->bl, tcb.bootloader));
    ARCA_RETURN_IF_ERROR(cmp("teeSPL", "1.3.6.1.4.1.3704.1.3.2", ext->tee, tcb.tee));
    ARCA_RETURN_IF_ERROR(cmp("snpSPL", "1.3.6.1.4.1.3704.1.3.3", ext->snp, tcb.snp));
    ARCA_RETURN_IF_ERROR(cmp("ucodeSPL", "1.3.6.1.4.1.3704.1.3.8", ext->ucode, tcb.microcode));
    if (turin) ARCA_RETURN_IF_ERROR(cmp("fmcSPL", "1.3.6.1.4.1.3704.1.3.9", ext->fmc, tcb.fmc));
    return Status::Ok();
  }();
  v->Record("snp.vcek.tcb", tcb_status, "VCEK TCB extensions equal REPORTED_TCB");
  if (r.signing_key == 0) {
    Status hw = [&]() -> Status {
      if (!ext->has_hwid) return UnauthenticatedError("VCEK has no hwID extension (1.3.6.1.4.1.3704.1.4)");
      if (r.mask_chip_key) return UnauthenticatedError("CHIP_ID is masked (MASK_CHIP_KEY set); hwID cannot be compared");
      if (!ConstantTimeEquals(ext->hwid, r.chip_id)) {
        return UnauthenticatedError("VCEK hwID (1.3.6.1.4.1.3704.1.4) expected CHIP_ID " + Hex(r.chip_id).substr(0, 16) +
                                    "..., got " + Hex(ext->hwid).substr(0, 16) + "...");
      }
      return Status::Ok();
    }();
    v->Record("snp.vcek.hwid", hw, "VCEK hwID equals CHIP_ID");
  }
  // An SNP TCB status is "Endorsed" when AMD's certificate for exactly the
  // reported TCB verified; there is no further TCB collateral for SNP.
  if (v->ok()) c["tcbStatus"] = "Endorsed";
}

}  // namespace arca::attest
