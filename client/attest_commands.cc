#include "client/attest_commands.h"

#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attest/bundle.h"
#include "attest/roots.h"
#include "attest/sim.h"
#include "base/file_system.h"
#include "client/output.h"

namespace arca::client {
namespace {

constexpr std::uint64_t kMaxInputBytes = 16 << 20;

struct AttestOptions {
  std::string output;
  std::string snp_report, tdx_quote, tpm_evidence, az_evidence;
  std::vector<std::string> certs, collateral, crls;
  std::string bundle;
  EvidenceFlags evidence;
  bool json = false;
};

Result<Bytes> ReadInput(const std::string& path, const char* flag) {
  auto b = ReadFileBounded(FileSystem::Default(), path, kMaxInputBytes);
  if (!b.ok()) return b.status().WithContext(std::string(flag) + " " + path);
  return b;
}

Status BuildBundle(const AttestOptions& o, std::string* out) {
  attest::BundleBuilder b;
  int given = !o.snp_report.empty() + !o.tdx_quote.empty() + !o.tpm_evidence.empty() + !o.az_evidence.empty();
  if (given != 1) {
    return InvalidArgumentError("give exactly one of --snp-report, --tdx-quote, --tpm-evidence, --az-evidence (got " +
                                std::to_string(given) + ")");
  }
  if (!o.snp_report.empty()) {
    ARCA_ASSIGN_OR_RETURN(Bytes d, ReadInput(o.snp_report, "--snp-report"));
    ARCA_RETURN_IF_ERROR(b.SetSnpReport(d).WithContext("--snp-report " + o.snp_report));
  } else if (!o.tdx_quote.empty()) {
    ARCA_ASSIGN_OR_RETURN(Bytes d, ReadInput(o.tdx_quote, "--tdx-quote"));
    ARCA_RETURN_IF_ERROR(b.SetTdxQuote(d).WithContext("--tdx-quote " + o.tdx_quote));
  } else if (!o.tpm_evidence.empty()) {
    ARCA_ASSIGN_OR_RETURN(Bytes d, ReadInput(o.tpm_evidence, "--tpm-evidence"));
    ARCA_RETURN_IF_ERROR(b.SetTpmEvidence(ToString(d)).WithContext("--tpm-evidence " + o.tpm_evidence));
  } else {
    ARCA_ASSIGN_OR_RETURN(Bytes d, ReadInput(o.az_evidence, "--az-evidence"));
    ARCA_RETURN_IF_ERROR(b.SetAzureEvidence(ToString(d)).WithContext("--az-evidence " + o.az_evidence));
  }
  for (const auto& f : o.certs) {
    ARCA_ASSIGN_OR_RETURN(Bytes d, ReadInput(f, "--cert"));
    ARCA_RETURN_IF_ERROR(b.AddCertificates(d).WithContext("--cert " + f));
  }
  for (const auto& f : o.collateral) {
    ARCA_ASSIGN_OR_RETURN(Bytes d, ReadInput(f, "--collateral"));
    ARCA_RETURN_IF_ERROR(b.AddCollateral(d).WithContext("--collateral " + f));
  }
  for (const auto& f : o.crls) {
    ARCA_ASSIGN_OR_RETURN(Bytes d, ReadInput(f, "--crl"));
    ARCA_RETURN_IF_ERROR(b.AddCrl(d).WithContext("--crl " + f));
  }
  ARCA_ASSIGN_OR_RETURN(attest::EvidenceBundle bundle, b.Finish());
  ARCA_ASSIGN_OR_RETURN(*out, attest::SerializeBundle(bundle));
  return Status::Ok();
}

int BundleCmd(const AttestOptions& o) {
  std::string text;
  Status s = BuildBundle(o, &text);
  if (!s.ok()) return ReportError(s, o.json);
  s = WriteFileAtomic(FileSystem::Default(), o.output, AsBytes(text), 0644);
  if (!s.ok()) return ReportError(s.WithContext("writing " + o.output), o.json);
  auto parsed = attest::ParseBundle(text);
  if (o.json) {
    PrintJson({{"bundle", o.output},
               {"platform", std::string(attest::PlatformName(parsed->platform))},
               {"certificates", parsed->certificates.size()},
               {"crls", parsed->crls.size()},
               {"bytes", text.size()}});
  } else {
    std::printf("wrote %s evidence bundle %s (%zu certificates, %zu CRLs, %zu bytes)\n",
                std::string(attest::PlatformName(parsed->platform)).c_str(), o.output.c_str(),
                parsed->certificates.size(), parsed->crls.size(), text.size());
  }
  return 0;
}

int VerifyCmd(const AttestOptions& o) {
  auto judged = JudgeEvidenceFile(o.bundle, o.evidence);
  if (!judged.ok()) return ReportError(judged.status(), o.json);
  const attest::Verdict& v = *judged;
  if (o.json) {
    PrintJson(v.ToJson());
  } else {
    const Json& c = v.claims;
    std::printf("%s: %s evidence %s at %s\n", o.bundle.c_str(), c.value("platform", "?").c_str(),
                v.ok() ? "VERIFIED" : "NOT VERIFIED", c.value("verificationTime", "?").c_str());
    for (const char* k : {"measurement", "reportData", "hostData", "chipId", "tcbStatus"}) {
      if (c.contains(k) && c[k].is_string()) std::printf("  %-12s %s\n", k, c[k].get<std::string>().c_str());
    }
    if (c.contains("debug")) std::printf("  %-12s %s\n", "debug", c["debug"].get<bool>() ? "true" : "false");
    if (c.contains("signerChain")) {
      std::string chain;
      for (const auto& n : c["signerChain"]) chain += (chain.empty() ? "" : " <- ") + n.get<std::string>();
      std::printf("  %-12s %s\n", "signer", chain.c_str());
    }
    for (const auto& ch : v.checks()) {
      std::printf("  [%s] %s: %s\n", ch.passed ? "ok" : "FAIL", ch.name.c_str(), ch.detail.c_str());
    }
  }
  if (!v.ok()) {
    std::fprintf(stderr, "arca: %s\n", v.status().ToString().c_str());
    return ExitCodeFor(v.status().code());
  }
  return 0;
}

}  // namespace

void AddEvidenceFlags(CLI::App* cmd, EvidenceFlags* f, bool sim) {
  cmd->add_option("--roots", f->roots_dir, "Use exactly the root certificates in DIR instead of the built-in ones (DIR/tpm/: roots of TPM AK certificates)");
  cmd->add_option("--time", f->time, "Verification time, RFC 3339 UTC (default: now)");
  cmd->add_option("--tpm-ak", f->tpm_ak, "Trusted TPM attestation key (PEM or DER SubjectPublicKeyInfo)");
  if (sim) cmd->add_flag("--allow-sim", f->allow_sim, "Also accept the simulated TEE's evidence (its test roots): development only");
}

Result<attest::Verdict> JudgeEvidenceFile(const std::string& path, const EvidenceFlags& f) {
  ARCA_ASSIGN_OR_RETURN(Bytes text, ReadInput(path, "bundle"));
  return JudgeEvidence(ToString(text), path, f);
}

Result<attest::Verdict> JudgeEvidence(std::string_view text, const std::string& what, const EvidenceFlags& f) {
  auto bundle = attest::ParseBundle(text);
  if (!bundle.ok()) return bundle.status().WithContext(what);
  ARCA_ASSIGN_OR_RETURN(attest::RootStore roots,
                        f.roots_dir.empty() ? attest::RootStore::Pinned() : attest::RootStore::FromDirectory(f.roots_dir));
  if (f.allow_sim) {
    ARCA_ASSIGN_OR_RETURN(attest::RootStore sim, attest::SimRootStore());
    roots = attest::RootStore::Union(roots, sim);
  }
  attest::VerifyOptions vo;
  if (f.time.empty()) {
    vo.time = static_cast<attest::UnixSeconds>(std::time(nullptr));  // the CLI's default only
  } else {
    ARCA_ASSIGN_OR_RETURN(vo.time, attest::ParseRfc3339(f.time, "--time"));
  }
  if (!f.tpm_ak.empty()) {
    ARCA_ASSIGN_OR_RETURN(Bytes ak, ReadInput(f.tpm_ak, "--tpm-ak"));
    auto der = attest::PublicKeyToSpkiDer(ak);
    if (!der.ok()) return der.status().WithContext("--tpm-ak " + f.tpm_ak);
    vo.tpm_ak_spki = std::move(*der);
  }
  return attest::VerifyBundle(*bundle, roots, vo);
}

void AddAttestCommands(CLI::App& app, Command* run) {
  auto o = std::make_shared<AttestOptions>();
  auto* attest = app.add_subcommand("attest", "Assemble and verify SEV-SNP, TDX and TPM attestation evidence");
  attest->require_subcommand(1);

  auto* bundle = attest->add_subcommand("bundle", "Assemble an evidence bundle from raw evidence, certificates, CRLs and collateral");
  bundle->add_option("-o,--output", o->output, "Bundle file to write")->required();
  bundle->add_option("--snp-report", o->snp_report, "SEV-SNP attestation report (1184 bytes)");
  bundle->add_option("--tdx-quote", o->tdx_quote, "TDX quote (v4/v5)");
  bundle->add_option("--tpm-evidence", o->tpm_evidence, "TPM quote evidence JSON (ak_public, tpm_quote)");
  bundle->add_option("--az-evidence", o->az_evidence, "Azure vTPM evidence JSON (quote, report, vcek)");
  bundle->add_option("--cert", o->certs, "Certificate file (DER or PEM, one or more; repeatable)");
  bundle->add_option("--collateral", o->collateral, "TDX collateral JSON: PCS tcbInfo / enclaveIdentity response or dcap-qvl collateral (repeatable)");
  bundle->add_option("--crl", o->crls, "CRL file, DER or PEM (repeatable)");
  bundle->add_flag("--json", o->json, "Print the result as JSON");
  bundle->callback([run, o] { *run = [o] { return BundleCmd(*o); }; });

  auto* verify = attest->add_subcommand("verify", "Verify an evidence bundle against the pinned vendor roots");
  verify->add_option("bundle", o->bundle, "Evidence bundle (arca attest bundle)")->required();
  AddEvidenceFlags(verify, &o->evidence, /*sim=*/false);
  verify->add_flag("--json", o->json, "Print the verdict, claims and checks as JSON");
  verify->callback([run, o] { *run = [o] { return VerifyCmd(*o); }; });
}

}  // namespace arca::client
