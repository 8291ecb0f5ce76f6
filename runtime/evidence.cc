#include "runtime/evidence.h"

#include <filesystem>

#include "attest/sim.h"
#include "attest/snp.h"
#include "attest/snp_cert_table.h"
#include "attest/tdx.h"
#include "base/crypto.h"
#include "base/file_system.h"
#include "runtime/tpm.h"

namespace arca::runtime {

Result<Tee> ParseTee(std::string_view name) {
  if (name == "sim-snp") return Tee::kSimSnp;
  if (name == "sim-tdx") return Tee::kSimTdx;
  if (name == "snp") return Tee::kSnp;
  if (name == "tdx") return Tee::kTdx;
  if (name == "tpm") return Tee::kTpm;
  return InvalidArgumentError("--tee: expected sim-snp, sim-tdx, snp, tdx or tpm, got \"" + std::string(name.substr(0, 40)) +
                              "\"");
}

Result<std::array<std::uint8_t, 48>> SimMeasurement() {
  // The file system seam refuses symlinks; resolve /proc/self/exe first.
  std::error_code ec;
  std::filesystem::path path = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return NotFoundError("simulated measurement: resolving /proc/self/exe: " + ec.message());
  ARCA_ASSIGN_OR_RETURN(Bytes exe, ReadFileBounded(FileSystem::Default(), path.string(), 1ull << 30));
  Bytes d = crypto::Sha384(exe);
  std::array<std::uint8_t, 48> m{};
  std::copy(d.begin(), d.end(), m.begin());
  return m;
}

Result<attest::EvidenceBundle> CollectEvidence(const EvidenceRequest& req, TsmFs& fs) {
  std::array<std::uint8_t, 48> measurement{};
  if (IsSimulated(req.tee) || req.tee == Tee::kTpm) {
    if (req.measurement) {
      measurement = *req.measurement;
    } else {
      ARCA_ASSIGN_OR_RETURN(measurement, SimMeasurement());
    }
  }
  switch (req.tee) {
    case Tee::kSimSnp: {
      attest::SimSnpOptions o;
      o.report_data = req.report_data;
      o.measurement = measurement;
      std::copy(req.host_data.begin(), req.host_data.begin() + 32, o.host_data.begin());
      o.debug = req.debug;
      o.vlek = req.vlek;
      o.turin = req.turin;
      if (req.turin) o.reported_tcb = attest::kSimTurinTcb;
      return attest::SimSnpEvidence(o);
    }
    case Tee::kSimTdx: {
      attest::SimTdxOptions o;
      o.report_data = req.report_data;
      o.mrtd = measurement;
      o.mrconfigid = req.host_data;
      o.debug = req.debug;
      o.now = req.now;
      o.quote_version = req.quote_version;
      o.td_report_15 = req.td_report_15;
      return attest::SimTdxEvidence(o);
    }
    case Tee::kTpm: {
      TpmRequest t;
      t.tcti = req.tpm_tcti;
      t.report_data = req.report_data;
      t.measurement = measurement;
      return CollectTpmEvidence(t);
    }
    case Tee::kSnp: {
      ARCA_ASSIGN_OR_RETURN(TsmReport r, CollectTsmReport(fs, req.configfs_root, req.report_data, "sev_guest"));
      auto report = attest::ParseSnpReport(r.outblob);
      if (!report.ok()) return report.status().WithContext("configfs-tsm outblob");
      if (report->report_data != req.report_data) {
        return UnauthenticatedError("configfs-tsm outblob: REPORT_DATA expected the inblob written, got other bytes");
      }
      auto table = attest::ParseSnpCertTable(r.auxblob);
      if (!table.ok()) return table.status().WithContext("configfs-tsm auxblob");
      attest::EvidenceBundle b;
      b.platform = attest::Platform::kSevSnp;
      b.snp_report = std::move(r.outblob);
      for (auto& e : *table) b.certificates.push_back(std::move(e.der));
      return b;
    }
    case Tee::kTdx: {
      ARCA_ASSIGN_OR_RETURN(TsmReport r, CollectTsmReport(fs, req.configfs_root, req.report_data, "tdx_guest"));
      auto quote = attest::ParseTdxQuote(r.outblob);
      if (!quote.ok()) return quote.status().WithContext("configfs-tsm outblob");
      if (quote->body.report_data != req.report_data) {
        return UnauthenticatedError("configfs-tsm outblob: REPORTDATA expected the inblob written, got other bytes");
      }
      attest::EvidenceBundle b;
      b.platform = attest::Platform::kTdx;
      b.tdx_quote = std::move(r.outblob);
      return b;
    }
  }
  return InternalError("unknown TEE");
}

}  // namespace arca::runtime
