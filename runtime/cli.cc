#include "runtime/cli.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "attest/binding.h"
#include "attest/bundle.h"
#include "attest/sim.h"
#include "base/crypto.h"
#include "base/file_system.h"
#include "base/json.h"
#include "base/listen_address.h"
#include "base/stop_signals.h"
#include "runtime/evidence.h"
#include "runtime/serve.h"
#include "runtime/tpm.h"

namespace arca::runtime {
namespace {

using Command = std::function<int()>;

struct Options {
  std::string tee = "sim-snp";
  std::string output;
  std::string report_data, measurement, host_data;
  std::string nonce, public_key, package_digest, policy_digest;
  std::string roots_out;
  std::string configfs_root = kDefaultConfigfsRoot;
  std::string tpm_tcti, ak_out;
  bool debug = false;
  bool vlek = false, turin = false, td_report_15 = false;
  int quote_version = 4;
  bool json = false;
  // serve
  std::string reference, store, engine, model_file, listen = "127.0.0.1:8720";
  std::vector<std::string> brokers;
  double rate = 10, burst = 20;
};

void PrintJson(const Json& value) { std::cout << value.dump(2) << "\n"; }

int ReportError(const Status& status, bool json) {
  if (json) {
    PrintJson({{"error", {{"code", std::string(StatusCodeName(status.code()))}, {"message", status.message()}}}});
  }
  std::fprintf(stderr, "arca-runtime: %s\n", status.ToString().c_str());
  return ExitCodeFor(status.code());
}

// HexInto decodes at most N bytes of hex into a zero-padded array (exactly N
// when `exact`).
template <std::size_t N>
Status HexInto(const std::string& hex, const char* flag, bool exact, std::array<std::uint8_t, N>* out) {
  auto b = HexDecode(hex);
  if (!b.ok()) return b.status().WithContext(flag);
  if (exact ? b->size() != N : b->size() > N) {
    return InvalidArgumentError(std::string(flag) + ": expected " + (exact ? "" : "at most ") + std::to_string(N) +
                                " bytes of hex, got " + std::to_string(b->size()));
  }
  out->fill(0);
  std::copy(b->begin(), b->end(), out->begin());
  return Status::Ok();
}

Status WriteSimRoots(const std::string& dir, Json* written) {
  ARCA_ASSIGN_OR_RETURN(auto roots, attest::SimRoots());
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return InternalError("creating " + dir);
  for (const auto& r : roots) {
    std::string path = JoinPath(dir, r.file_name);
    ARCA_RETURN_IF_ERROR(WriteFileAtomic(FileSystem::Default(), path, AsBytes(r.pem), 0644));
    written->push_back({{"file", path}, {"spkiSha256", r.spki_sha256_hex}});
  }
  return Status::Ok();
}

// ReportData is --report-data, or the evidence binding of --nonce,
// --public-key, --package-digest and --policy-digest, or zeros.
Status ReportData(const Options& o, std::array<std::uint8_t, 64>* out) {
  int binding = !o.nonce.empty() + !o.public_key.empty() + !o.package_digest.empty() + !o.policy_digest.empty();
  if (binding != 0 && binding != 4) {
    return InvalidArgumentError("binding: give all of --nonce, --public-key, --package-digest, --policy-digest (got " +
                                std::to_string(binding) + " of 4)");
  }
  if (binding == 4 && !o.report_data.empty()) {
    return InvalidArgumentError("give either --report-data or the binding flags, not both");
  }
  out->fill(0);
  if (!o.report_data.empty()) return HexInto(o.report_data, "--report-data", false, out);
  if (binding == 0) return Status::Ok();
  ARCA_ASSIGN_OR_RETURN(Bytes nonce, HexDecode(o.nonce));
  auto key = ReadFileBounded(FileSystem::Default(), o.public_key, 64 * 1024);
  if (!key.ok()) return key.status().WithContext("--public-key");
  ARCA_ASSIGN_OR_RETURN(*out, attest::ComputeEvidenceBinding({nonce, *key, o.package_digest, o.policy_digest}));
  return Status::Ok();
}

// TeeRequest fills everything of an evidence request but the report data
// from the flags, refusing flags that do not apply to the TEE.
Status TeeRequest(const Options& o, EvidenceRequest* out) {
  EvidenceRequest& req = *out;
  ARCA_ASSIGN_OR_RETURN(req.tee, ParseTee(o.tee));
  Status s;
  if (!o.measurement.empty()) {
    req.measurement.emplace();
    s = HexInto(o.measurement, "--measurement", true, &*req.measurement);
  }
  if (s.ok() && !o.host_data.empty()) s = HexInto(o.host_data, "--host-data", false, &req.host_data);
  if (s.ok() && !IsSimulated(req.tee) && (!o.host_data.empty() || o.debug)) {
    s = InvalidArgumentError("--host-data and --debug are for simulated TEEs; hardware reports its own");
  }
  if (s.ok() && (req.tee == Tee::kSnp || req.tee == Tee::kTdx) && !o.measurement.empty()) {
    s = InvalidArgumentError("--measurement is for simulated TEEs and the TPM; SNP/TDX hardware measures the launch");
  }
  if (s.ok() && req.tee != Tee::kTpm && (!o.tpm_tcti.empty() || !o.ak_out.empty())) {
    s = InvalidArgumentError("--tpm-tcti and --ak-out are for --tee tpm");
  }
  if (s.ok() && req.tee != Tee::kSimSnp && (o.vlek || o.turin)) {
    s = InvalidArgumentError("--vlek and --turin are for --tee sim-snp");
  }
  if (s.ok() && req.tee != Tee::kSimTdx && (o.quote_version != 4 || o.td_report_15)) {
    s = InvalidArgumentError("--quote-version and --td-report-15 are for --tee sim-tdx");
  }
  if (s.ok() && o.quote_version != 4 && o.quote_version != 5) {
    s = InvalidArgumentError("--quote-version: expected 4 or 5, got " + std::to_string(o.quote_version));
  }
  ARCA_RETURN_IF_ERROR(s);
  req.debug = o.debug;
  req.vlek = o.vlek;
  req.turin = o.turin;
  req.quote_version = std::uint16_t(o.quote_version);
  req.td_report_15 = o.td_report_15;
  req.configfs_root = o.configfs_root;
  req.tpm_tcti = o.tpm_tcti;
  if (req.tpm_tcti.empty() && std::getenv("TPM2TOOLS_TCTI")) req.tpm_tcti = std::getenv("TPM2TOOLS_TCTI");
  return Status::Ok();
}

// SpkiPem is a SubjectPublicKeyInfo DER as a "PUBLIC KEY" PEM block.
std::string SpkiPem(ByteSpan spki_der) {
  std::string b64 = Base64Encode(spki_der), pem = "-----BEGIN PUBLIC KEY-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
  return pem + "-----END PUBLIC KEY-----\n";
}

int EvidenceCmd(const Options& o) {
  EvidenceRequest req;
  Status s = TeeRequest(o, &req);
  if (s.ok()) s = ReportData(o, &req.report_data);
  if (!s.ok()) return ReportError(s, o.json);
  req.now = static_cast<attest::UnixSeconds>(std::time(nullptr));
  auto bundle = CollectEvidence(req);
  if (!bundle.ok()) return ReportError(bundle.status(), o.json);
  auto text = attest::SerializeBundle(*bundle);
  if (!text.ok()) return ReportError(text.status(), o.json);
  s = WriteFileAtomic(FileSystem::Default(), o.output, AsBytes(*text), 0644);
  if (!s.ok()) return ReportError(s.WithContext("writing " + o.output), o.json);
  if (!o.ak_out.empty()) {
    std::string pem = SpkiPem(bundle->tpm_ak_public);
    s = WriteFileAtomic(FileSystem::Default(), o.ak_out, AsBytes(pem), 0644);
    if (!s.ok()) return ReportError(s.WithContext("--ak-out"), o.json);
  }
  Json roots = Json::array();
  if (!o.roots_out.empty()) {
    s = WriteSimRoots(o.roots_out, &roots);
    if (!s.ok()) return ReportError(s.WithContext("--roots-out"), o.json);
  }
  std::string platform(attest::PlatformName(bundle->platform));
  if (o.json) {
    PrintJson({{"bundle", o.output}, {"tee", o.tee}, {"platform", platform}, {"simulated", IsSimulated(req.tee)},
               {"reportData", HexEncode(req.report_data)}, {"bytes", text->size()}, {"testRoots", roots}});
  } else {
    std::printf("wrote %s%s evidence bundle %s (%zu bytes)\n", IsSimulated(req.tee) ? "simulated " : "",
                platform.c_str(), o.output.c_str(), text->size());
    if (IsSimulated(req.tee)) {
      std::printf("  simulated evidence verifies only with the test roots: arca attest verify %s --roots DIR "
                  "(arca-runtime sim-roots -o DIR)\n", o.output.c_str());
    }
  }
  return 0;
}

int SimRootsCmd(const Options& o) {
  Json roots = Json::array();
  Status s = WriteSimRoots(o.output, &roots);
  if (!s.ok()) return ReportError(s, o.json);
  if (o.json) {
    PrintJson({{"roots", roots}});
  } else {
    for (const auto& r : roots) {
      std::printf("wrote test root %s (SPKI SHA-256 %s)\n", r["file"].get<std::string>().c_str(),
                  r["spkiSha256"].get<std::string>().c_str());
    }
  }
  return 0;
}

int TpmAkCmd(const Options& o) {
  std::string tcti = o.tpm_tcti;
  if (tcti.empty() && std::getenv("TPM2TOOLS_TCTI")) tcti = std::getenv("TPM2TOOLS_TCTI");
  auto ak = LoadOrCreateAttestationKey(tcti);
  if (!ak.ok()) return ReportError(ak.status(), o.json);
  Status s = WriteFileAtomic(FileSystem::Default(), o.output, AsBytes(SpkiPem(ak->spki_der)), 0644);
  if (!s.ok()) return ReportError(s.WithContext("writing " + o.output), o.json);
  char handle[16];
  std::snprintf(handle, sizeof handle, "0x%08x", kAkHandle);
  std::string id = HexEncode(crypto::Sha256::Hash(ak->spki_der));
  if (o.json) {
    PrintJson({{"ak", o.output}, {"handle", handle}, {"created", ak->created}, {"spkiSha256", id}});
  } else {
    std::printf("wrote the TPM attestation key %s (persistent handle %s, %s; SPKI SHA-256 %s)\n", o.output.c_str(),
                handle, ak->created ? "created now" : "existing", id.c_str());
    std::printf("  the lab trusts it with: arca-keybroker serve --tpm-ak %s (and arca connect/attest verify --tpm-ak)\n",
                o.output.c_str());
  }
  return 0;
}

int MeasurementCmd(const Options& o) {
  auto tee = ParseTee(o.tee);
  if (!tee.ok()) return ReportError(tee.status(), o.json);
  if (!IsSimulated(*tee) && *tee != Tee::kTpm) {
    return ReportError(InvalidArgumentError("--tee " + o.tee + ": hardware measures the launched image; collect "
                                            "evidence and read its measurement claim"), o.json);
  }
  auto m = SimMeasurement();
  if (!m.ok()) return ReportError(m.status(), o.json);
  // A TPM policy names the PCR value the runtime's measurement extends to.
  std::string hex = *tee == Tee::kTpm ? HexEncode(ExpectedRuntimePcr(*m)) : HexEncode(*m);
  if (o.json) {
    PrintJson({{"tee", o.tee}, {"measurement", hex}, {"platform", *tee == Tee::kTpm ? "tpm" : *tee == Tee::kSimTdx ? "tdx" : "sev-snp"}});
  } else {
    std::printf("%s\n", hex.c_str());
  }
  return 0;
}

int ServeCmd(const Options& o) {
  const StopSignals stop_signals;  // before any thread starts
  ServeOptions so;
  so.reference = o.reference;
  so.store = o.store;
  for (const auto& b : o.brokers) {
    for (std::size_t start = 0; start <= b.size();) {
      std::size_t comma = b.find(',', start);
      if (comma == std::string::npos) comma = b.size();
      if (comma > start) so.brokers.push_back(b.substr(start, comma - start));
      start = comma + 1;
    }
  }
  so.engine = o.engine;
  so.model_file = o.model_file;
  so.rate_per_s = o.rate;
  so.burst = o.burst;
  Status s = TeeRequest(o, &so.evidence);
  if (s.ok()) {
    auto listen = ParseListenAddress(o.listen);
    if (listen.ok()) {
      so.listen_host = listen->host;
      so.listen_port = listen->port;
    }
    s = listen.status();
  }
  if (!s.ok()) return ReportError(s, false);
  so.log = [](const std::string& m) { std::fprintf(stderr, "arca-runtime: %s\n", m.c_str()); };
  if (IsSimulated(so.evidence.tee)) {
    so.log("WARNING: simulated TEE (" + o.tee + "): the evidence proves nothing; a broker releases keys to it only with --allow-sim");
  }
  bool stopping = false;
  s = Serve(so, [&] {
    if (int sig = stop_signals.Poll(200)) {
      so.log(std::string(StopSignals::Describe(sig)) + ", stopping");
      stopping = true;
    }
    return stopping;
  });
  if (!s.ok()) return ReportError(s, false);
  return 0;
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"arca-runtime: attest, load sealed models into protected memory with released keys, and serve them"};
  app.name("arca-runtime");
  app.set_version_flag("--version", "arca-runtime 0.1.0");
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok, 1 internal error, 2 invalid argument, 3 not found, 4 already exists,\n"
      "5 unauthenticated (signature/MAC/digest/tag failed), 6 permission denied, 7 failed precondition,\n"
      "8 corruption, 9 resource limit exceeded, 10 unavailable.");
  auto o = std::make_shared<Options>();
  Command run;

  auto* ev = app.add_subcommand("evidence", "Collect attestation evidence into an evidence bundle");
  ev->add_option("--tee", o->tee, "sim-snp, sim-tdx (simulated, test roots only), snp or tdx (configfs-tsm), tpm (tpm2-tools)")
      ->required();
  ev->add_option("-o,--output", o->output, "Evidence bundle to write")->required();
  ev->add_option("--report-data", o->report_data, "REPORT_DATA as hex, at most 64 bytes (zero-padded)");
  ev->add_option("--nonce", o->nonce, "Binding: the verifier's nonce (hex, 16..64 bytes)");
  ev->add_option("--public-key", o->public_key, "Binding: file holding the ephemeral public key as sent");
  ev->add_option("--package-digest", o->package_digest, "Binding: sha256:<hex> of the package manifest");
  ev->add_option("--policy-digest", o->policy_digest, "Binding: sha256:<hex> of the policy");
  ev->add_option("--measurement", o->measurement, "Simulated: MEASUREMENT/MRTD (48 bytes hex; default SHA-384 of this executable)");
  ev->add_option("--host-data", o->host_data, "Simulated: HOST_DATA/MRCONFIGID (hex)");
  ev->add_flag("--debug", o->debug, "Simulated: report a debuggable guest");
  ev->add_flag("--vlek", o->vlek, "sim-snp: sign with a test VLEK under a test ASVK instead of the VCEK");
  ev->add_flag("--turin", o->turin, "sim-snp: report a Turin CPU (Turin TCB layout with FMC)");
  ev->add_option("--quote-version", o->quote_version, "sim-tdx: quote version 4 (default) or 5");
  ev->add_flag("--td-report-15", o->td_report_15, "sim-tdx: with --quote-version 5, a TD report 1.5 body");
  ev->add_option("--roots-out", o->roots_out, "Simulated: also write the test roots into DIR");
  ev->add_option("--tpm-tcti", o->tpm_tcti, "TPM: tpm2-tools TCTI (default $TPM2TOOLS_TCTI), e.g. swtpm:host=127.0.0.1,port=2321");
  ev->add_option("--ak-out", o->ak_out, "TPM: write the attestation key (PEM) for arca attest verify --tpm-ak");
  ev->add_option("--configfs-root", o->configfs_root, "Where configfs is mounted (default /sys/kernel/config)");
  ev->add_flag("--json", o->json, "Print the result as JSON");
  ev->callback([&run, o] { run = [o] { return EvidenceCmd(*o); }; });

  auto* roots = app.add_subcommand("sim-roots", "Write the simulated TEE's test roots (for arca attest verify --roots)");
  roots->add_option("-o,--output", o->output, "Directory to write arca-sim-ark.pem and arca-sim-intel-root.pem into")
      ->required();
  roots->add_flag("--json", o->json, "Print the result as JSON");
  roots->callback([&run, o] { run = [o] { return SimRootsCmd(*o); }; });

  auto* ak = app.add_subcommand("tpm-ak", "Export the TPM attestation key's public key (created and persisted at "
                                          "0x81010002 on first use) for a broker or verifier to trust");
  ak->add_option("-o,--output", o->output, "PEM SubjectPublicKeyInfo file to write")->required();
  ak->add_option("--tpm-tcti", o->tpm_tcti, "tpm2-tools TCTI (default $TPM2TOOLS_TCTI), e.g. swtpm:host=127.0.0.1,port=2321");
  ak->add_flag("--json", o->json, "Print the result as JSON");
  ak->callback([&run, o] { run = [o] { return TpmAkCmd(*o); }; });

  auto* meas = app.add_subcommand("measurement", "Print the measurement this runtime presents, to put in a policy (arca policy allow)");
  meas->add_option("--tee", o->tee, "sim-snp, sim-tdx (48-byte launch measurement) or tpm (the PCR 23 value, 32 bytes)")->required();
  meas->add_flag("--json", o->json, "Print the result as JSON");
  meas->callback([&run, o] { run = [o] { return MeasurementCmd(*o); }; });

  auto* serve = app.add_subcommand("serve", "Attest, obtain the version's keys from the lab's broker, decrypt it into sealed "
                                             "memory, start the engine on it and serve it through an attested TLS endpoint");
  serve->add_option("reference", o->reference, "[REGISTRY/]namespace/name:tag as pulled into --store")->required();
  serve->add_option("--store", o->store, "The local store (arca pull --store)")->required();
  serve->add_option("--broker", o->brokers, "Key broker URL (repeatable or comma-separated; tried in order)")->required();
  serve->add_option("--tee", o->tee, "snp, tdx (configfs-tsm), tpm (tpm2-tools), sim-snp, sim-tdx (simulated, tests only)")->required();
  serve->add_option("--engine", o->engine, "Engine command: {model} the weights' /proc/self/fd path, {file:NAME} another "
                                           "file's, {port} the loopback port it must listen on")->required();
  serve->add_option("--model-file", o->model_file, "The package file {model} stands for (required when there are several)");
  serve->add_option("--listen", o->listen, "HOST:PORT of the attested endpoint (default 127.0.0.1:8720)");
  serve->add_option("--rate", o->rate, "Requests per second allowed per client address (default 10)");
  serve->add_option("--burst", o->burst, "Burst allowed per client address (default 20)");
  serve->add_option("--measurement", o->measurement, "Simulated/TPM: the measurement to present (default SHA-384 of this executable)");
  serve->add_flag("--debug", o->debug, "Simulated: present a debuggable guest (a policy refuses it unless allowDebug)");
  serve->add_option("--tpm-tcti", o->tpm_tcti, "TPM: tpm2-tools TCTI (default $TPM2TOOLS_TCTI)");
  serve->callback([&run, o] { run = [o] { return ServeCmd(*o); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (!run) {
    std::fprintf(stderr, "arca-runtime: no command given; see arca-runtime --help\n");
    return 2;
  }
  return run();
}

}  // namespace arca::runtime
