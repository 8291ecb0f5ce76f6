#include "runtime/tpm.h"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string_view>
#include <filesystem>

#include "attest/tpm.h"
#include "base/crypto.h"
#include "base/signature.h"
#include "base/file_system.h"
#include "runtime/internal/subprocess.h"

namespace arca::runtime {
namespace {

// TempDir is a private directory removed on destruction.
class TempDir {
 public:
  static Result<TempDir> Create() {
    std::string base = std::filesystem::temp_directory_path().string() + "/arca-tpm-XXXXXX";
    if (!::mkdtemp(base.data())) return InternalError("mkdtemp " + base);
    return TempDir(base);
  }
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const char* name) const { return path_ + "/" + name; }

 private:
  explicit TempDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

}  // namespace

std::array<std::uint8_t, 32> ExpectedRuntimePcr(const std::array<std::uint8_t, 48>& measurement) {
  auto m = crypto::Sha256::Hash(measurement);
  crypto::Sha256 h;
  std::array<std::uint8_t, 32> zero{};
  h.Update(zero);
  h.Update(m);
  return h.Finish();
}

namespace {

std::string HandleHex(std::uint32_t handle) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", handle);
  return buf;
}

// AkKindProblem says what makes `p` unfit as the runtime's AK ("" if fit).
std::string AkKindProblem(const attest::TpmEccPublic& p) {
  constexpr std::uint32_t kRequired = attest::kTpmaFixedTpm | attest::kTpmaFixedParent |
                                      attest::kTpmaSensitiveDataOrigin | attest::kTpmaUserWithAuth |
                                      attest::kTpmaRestricted | attest::kTpmaSign;
  char buf[160];
  if (p.curve != 0x0003) {
    std::snprintf(buf, sizeof buf, "curve %04x, not NIST P-256 (0003)", p.curve);
  } else if (p.scheme != 0x0018 || p.scheme_hash != 0x000b) {
    std::snprintf(buf, sizeof buf, "scheme %04x/%04x, not ECDSA/SHA-256 (0018/000b)", p.scheme, p.scheme_hash);
  } else if (p.name_alg != 0x000b) {
    std::snprintf(buf, sizeof buf, "name algorithm %04x, not SHA-256 (000b)", p.name_alg);
  } else if ((p.attributes & kRequired) != kRequired || (p.attributes & attest::kTpmaDecrypt)) {
    std::snprintf(buf, sizeof buf,
                  "attributes %08x, not a restricted signing key with fixedTPM, fixedParent, sensitiveDataOrigin "
                  "and userWithAuth (%08x, without decrypt)", p.attributes, kRequired);
  } else if (p.x.size() != 32 || p.y.size() != 32) {
    std::snprintf(buf, sizeof buf, "a point of %zu+%zu bytes, not 32+32", p.x.size(), p.y.size());
  } else {
    return "";
  }
  return buf;
}

// HasPersistentHandle reads `tpm2_getcap handles-persistent` output (YAML
// list lines "- 0x81010002") for `handle`.
bool HasPersistentHandle(std::string_view listing, std::uint32_t handle) {
  const std::string want = "- " + HandleHex(handle);
  std::size_t start = 0;
  while (start < listing.size()) {
    std::size_t nl = listing.find('\n', start);
    std::string_view line = listing.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (line == want) return true;
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return false;
}

// ReadAk reads the public area at kAkHandle and turns it into SPKI DER,
// refusing a key of the wrong kind.
Result<Bytes> ReadAk(const std::function<Status(std::vector<std::string>)>& run, const TempDir& dir) {
  const std::string handle = HandleHex(kAkHandle);
  ARCA_RETURN_IF_ERROR(run({"tpm2_readpublic", "-c", handle, "-f", "tss", "-o", dir / "ak.tss"}));
  ARCA_ASSIGN_OR_RETURN(Bytes pub, ReadFileBounded(FileSystem::Default(), dir / "ak.tss", attest::kMaxTpmPublicBytes));
  auto parsed = attest::ParseTpm2bPublic(pub);
  if (!parsed.ok()) {
    return FailedPreconditionError("the key at persistent handle " + handle + " is not the runtime's attestation key (" +
                                   parsed.status().message() + "); evict it (tpm2_evictcontrol -C o -c " + handle +
                                   ") if nothing else uses it");
  }
  if (std::string why = AkKindProblem(*parsed); !why.empty()) {
    return FailedPreconditionError("the key at persistent handle " + handle + " is not the runtime's attestation key: " +
                                   why + "; evict it (tpm2_evictcontrol -C o -c " + handle + ") if nothing else uses it");
  }
  Bytes point = {0x04};
  point.insert(point.end(), parsed->x.begin(), parsed->x.end());
  point.insert(point.end(), parsed->y.begin(), parsed->y.end());
  auto key = crypto::PublicKey::FromEcPoint(crypto::KeyType::kEcdsaP256Sha256, point);
  if (!key.ok()) return key.status().WithContext("the attestation key at " + handle);
  return key->ToDer();
}

}  // namespace

Result<AttestationKey> LoadOrCreateAttestationKey(const std::string& tcti) {
  if (tcti.empty()) return InvalidArgumentError("--tpm-tcti: expected a TCTI (e.g. swtpm:host=127.0.0.1,port=2321), got none");
  ARCA_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create());
  const std::vector<std::string> env = {"TPM2TOOLS_TCTI=" + tcti};
  std::function<Status(std::vector<std::string>)> run = [&](std::vector<std::string> argv) {
    return internal::RunTool(argv, env);
  };
  auto present = [&]() -> Result<bool> {
    ARCA_RETURN_IF_ERROR(internal::RunTool({"tpm2_getcap", "handles-persistent"}, env, dir / "handles.yaml"));
    ARCA_ASSIGN_OR_RETURN(Bytes listing, ReadFileBounded(FileSystem::Default(), dir / "handles.yaml", 64 << 10));
    return HasPersistentHandle(ToString(listing), kAkHandle);
  };
  AttestationKey ak;
  ARCA_ASSIGN_OR_RETURN(bool have, present());
  if (!have) {
    // No resource manager on swtpm: flush transient objects after each
    // key-loading command, or the TPM runs out of slots.
    auto flush = [&] { return run({"tpm2_flushcontext", "-t"}); };
    ARCA_RETURN_IF_ERROR(run({"tpm2_createek", "-c", dir / "ek.ctx", "-G", "ecc", "-u", dir / "ek.pub"}));
    ARCA_RETURN_IF_ERROR(flush());
    ARCA_RETURN_IF_ERROR(run({"tpm2_createak", "-C", dir / "ek.ctx", "-c", dir / "ak.ctx", "-G", "ecc", "-g", "sha256",
                              "-s", "ecdsa", "-u", dir / "ak.pub"}));
    ARCA_RETURN_IF_ERROR(flush());
    Status persisted = run({"tpm2_evictcontrol", "-C", "o", "-c", dir / "ak.ctx", HandleHex(kAkHandle)});
    ARCA_RETURN_IF_ERROR(flush());
    if (!persisted.ok()) {
      // Another runtime may have persisted its AK in between: use that one.
      ARCA_ASSIGN_OR_RETURN(bool now_have, present());
      if (!now_have) return persisted;
    } else {
      ak.created = true;
    }
  }
  ARCA_ASSIGN_OR_RETURN(ak.spki_der, ReadAk(run, dir));
  return ak;
}

Result<attest::EvidenceBundle> CollectTpmEvidence(const TpmRequest& req) {
  if (req.tcti.empty()) return InvalidArgumentError("--tpm-tcti: expected a TCTI (e.g. swtpm:host=127.0.0.1,port=2321), got none");
  ARCA_ASSIGN_OR_RETURN(AttestationKey ak, LoadOrCreateAttestationKey(req.tcti));
  ARCA_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create());
  const std::vector<std::string> env = {"TPM2TOOLS_TCTI=" + req.tcti};
  const std::string pcr = std::to_string(kRuntimePcr);
  auto run = [&](std::vector<std::string> argv) { return internal::RunTool(argv, env); };
  ARCA_RETURN_IF_ERROR(run({"tpm2_pcrreset", pcr}));
  ARCA_RETURN_IF_ERROR(run({"tpm2_pcrextend", pcr + ":sha256=" + HexEncode(crypto::Sha256::Hash(req.measurement))}));
  ARCA_RETURN_IF_ERROR(run({"tpm2_quote", "-c", HandleHex(kAkHandle), "-l", "sha256:" + pcr, "-q",
                            HexEncode(req.report_data), "-m", dir / "quote.msg", "-s", dir / "quote.sig", "-g", "sha256"}));
  ARCA_RETURN_IF_ERROR(run({"tpm2_pcrread", "sha256:" + pcr, "-o", dir / "pcr.bin"}));

  auto& fs = FileSystem::Default();
  attest::TpmQuote q;
  ARCA_ASSIGN_OR_RETURN(q.message, ReadFileBounded(fs, dir / "quote.msg", 4096));
  ARCA_ASSIGN_OR_RETURN(q.signature, ReadFileBounded(fs, dir / "quote.sig", 4096));
  ARCA_ASSIGN_OR_RETURN(Bytes pcr_value, ReadFileBounded(fs, dir / "pcr.bin", 64));
  if (pcr_value.size() != 32) {
    return InternalError("tpm2_pcrread: PCR " + pcr + " expected 32 bytes, got " + std::to_string(pcr_value.size()));
  }
  q.pcrs.push_back(std::move(pcr_value));
  // Refuse junk before it becomes a bundle.
  auto attest_msg = attest::ParseTpmsAttest(q.message);
  if (!attest_msg.ok()) return attest_msg.status().WithContext("tpm2_quote message");
  attest::EvidenceBundle b;
  b.platform = attest::Platform::kTpm;
  b.tpm_quote = std::move(q);
  b.tpm_ak_public = std::move(ak.spki_der);
  return b;
}

}  // namespace arca::runtime
