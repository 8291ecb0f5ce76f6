#include "runtime/tpm.h"

#include <cstdlib>
#include <filesystem>

#include "attest/tpm.h"
#include "base/crypto.h"
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

Result<attest::EvidenceBundle> CollectTpmEvidence(const TpmRequest& req) {
  if (req.tcti.empty()) return InvalidArgumentError("--tpm-tcti: expected a TCTI (e.g. swtpm:host=127.0.0.1,port=2321), got none");
  ARCA_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create());
  const std::vector<std::string> env = {"TPM2TOOLS_TCTI=" + req.tcti};
  const std::string pcr = std::to_string(kRuntimePcr);
  auto run = [&](std::vector<std::string> argv) { return internal::RunTool(argv, env); };
  // No resource manager on swtpm: flush transient objects after each
  // key-loading command, or the TPM runs out of slots.
  auto flush = [&] { return run({"tpm2_flushcontext", "-t"}); };
  ARCA_RETURN_IF_ERROR(run({"tpm2_pcrreset", pcr}));
  ARCA_RETURN_IF_ERROR(run({"tpm2_pcrextend", pcr + ":sha256=" + HexEncode(crypto::Sha256::Hash(req.measurement))}));
  ARCA_RETURN_IF_ERROR(run({"tpm2_createek", "-c", dir / "ek.ctx", "-G", "ecc", "-u", dir / "ek.pub"}));
  ARCA_RETURN_IF_ERROR(flush());
  ARCA_RETURN_IF_ERROR(run({"tpm2_createak", "-C", dir / "ek.ctx", "-c", dir / "ak.ctx", "-G", "ecc", "-g", "sha256",
                            "-s", "ecdsa", "-u", dir / "ak.pem", "-f", "pem"}));
  ARCA_RETURN_IF_ERROR(flush());
  ARCA_RETURN_IF_ERROR(run({"tpm2_quote", "-c", dir / "ak.ctx", "-l", "sha256:" + pcr, "-q", HexEncode(req.report_data),
                            "-m", dir / "quote.msg", "-s", dir / "quote.sig", "-g", "sha256"}));
  ARCA_RETURN_IF_ERROR(flush());
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
  ARCA_ASSIGN_OR_RETURN(Bytes ak_pem, ReadFileBounded(fs, dir / "ak.pem", 4096));
  ARCA_ASSIGN_OR_RETURN(Bytes ak_spki, attest::PublicKeyToSpkiDer(ak_pem));
  // Refuse junk before it becomes a bundle.
  auto attest_msg = attest::ParseTpmsAttest(q.message);
  if (!attest_msg.ok()) return attest_msg.status().WithContext("tpm2_quote message");
  attest::EvidenceBundle b;
  b.platform = attest::Platform::kTpm;
  b.tpm_quote = std::move(q);
  b.tpm_ak_public = std::move(ak_spki);
  return b;
}

}  // namespace arca::runtime
