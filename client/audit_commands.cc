#include "client/audit_commands.h"

#include <cstdio>
#include <optional>
#include <cstdlib>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "base/file_system.h"
#include "base/time.h"
#include "client/audit.h"
#include "client/output.h"
#include "distribution/config.h"
#include "distribution/log_client.h"
#include "distribution/registry_client.h"
#include "distribution/transfer.h"
#include "format/manifest.h"
#include "format/oci_layout.h"
#include "format/package.h"

namespace arca::client {
namespace {

struct AuditOptions {
  std::string reference;
  bool json = false;
  std::string bundle_out;
  std::string verify;
  std::string root_file;
  std::string log_key_file;
  std::string export_format;
  std::string output;
  bool insecure = false;
  std::string ca_cert;
  std::vector<std::string> witness_key_files;  // --verify: witnesses the auditor trusts
  std::optional<std::size_t> min_witnesses;
};

std::string Text(ByteSpan b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

// ScratchDir is a private temporary directory removed on scope exit.
struct ScratchDir {
  explicit ScratchDir(std::string p) : path(std::move(p)) {}
  ScratchDir(ScratchDir&& other) noexcept : path(std::move(other.path)) { other.path.clear(); }
  ScratchDir& operator=(ScratchDir&&) = delete;
  std::string path;
  ~ScratchDir() {
    if (!path.empty()) (void)FileSystem::Default().RemoveAll(path);
  }
};

Result<ScratchDir> MakeScratch() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/arca-audit.XXXXXX";
  if (!mkdtemp(templ.data())) return InternalError("cannot create a temporary directory under " + templ);
  return ScratchDir{templ};
}

std::string Uuid4() {
  std::uint8_t b[16];
  crypto::RandomBytes(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  std::string h = HexEncode(ByteSpan(b, 16));
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

Result<Bytes> FetchBlob(distribution::RegistryClient& c, const std::string& repo, const format::Descriptor& d,
                        std::uint64_t max) {
  if (d.size > max) return ResourceExhaustedError("blob " + d.digest + " of " + repo + " is over " + std::to_string(max) + " bytes");
  Bytes data;
  ARCA_RETURN_IF_ERROR(c.GetBlob(
      repo, d.digest, 0, [&](std::uint64_t) { data.clear(); return Status::Ok(); },
      [&](ByteSpan chunk) -> Status {
        if (data.size() + chunk.size() > d.size) return UnauthenticatedError("blob " + d.digest + " is longer than declared");
        data.insert(data.end(), chunk.begin(), chunk.end());
        return Status::Ok();
      }));
  if (format::DigestOf(data) != d.digest) return UnauthenticatedError("blob " + d.digest + " served by the registry does not match its digest");
  return data;
}

// Gather builds the bundle from the registry: the log's view of the
// repository, its roots and every published version's small blobs.
Result<AuditBundle> Gather(const AuditOptions& o, const distribution::Paths& paths, const distribution::Reference& ref,
                           std::string* consistency, LogTrust* trust) {
  auto& fs = FileSystem::Default();
  distribution::ClientOptions c;
  c.registry = ref.registry;
  c.insecure = o.insecure;
  c.ca_cert = o.ca_cert;
  ARCA_ASSIGN_OR_RETURN(auto creds, distribution::LoadCredentials(fs, paths));
  if (auto it = creds.find(ref.registry); it != creds.end()) c.token = it->second;
  ARCA_ASSIGN_OR_RETURN(auto client, distribution::RegistryClient::Create(c));
  ARCA_ASSIGN_OR_RETURN(auto state, distribution::LoadLogState(fs, paths, ref.registry));
  distribution::LogCheckOptions lo;
  lo.now = NowUnixSeconds();
  lo.max_age_s = INT64_MAX / 2;  // an audit reads history; freshness is pull's concern
  lo.min_witnesses = o.min_witnesses;
  // The audit reads the log as it is now (with the pinned key); whether it
  // extends what this client's pulls saw is reported, not enforced: an
  // auditor wants to see a rolled-back registry, and to be told.
  std::optional<distribution::LogState> keyed = state;
  if (keyed) keyed->checkpoint.clear();
  ARCA_ASSIGN_OR_RETURN(auto view, distribution::OpenLog(*client, keyed, ref.repository, lo));
  if (state && !state->checkpoint.empty()) {
    auto again = distribution::OpenLog(*client, state, ref.repository, lo);
    *consistency = again.ok() ? "consistent with the last checkpoint this client's pulls saw"
                              : "NOT consistent with what this client's pulls saw: " + again.status().message();
  } else {
    *consistency = "no earlier checkpoint of this registry on this client";
  }
  // The witnesses this client trusts (arca trust witness): their
  // cosignatures stay in the bundle, others' are dropped.
  trust->log_key = view.log_key;
  ARCA_ASSIGN_OR_RETURN(trust->witnesses, distribution::TrustedWitnesses(state));
  trust->min_witnesses = o.min_witnesses.value_or(state ? state->min_witnesses : 0);
  AuditBundle b;
  b.repository = ref.repository;
  b.log_key = view.log_key;
  ARCA_ASSIGN_OR_RETURN(b.checkpoint, KeepTrustedSignatures(view.head_note, *trust));
  for (const auto& e : view.entries) b.entries.push_back(AuditEntry{e.index, e.bytes, e.inclusion});
  ARCA_ASSIGN_OR_RETURN(Bytes roots_body, client->Get(std::string(distribution::kLogApiPrefix) + "roots?namespace=" +
                                                          ref.namespace_name(), 8 << 20));
  ARCA_ASSIGN_OR_RETURN(Json roots, ParseJson(Text(roots_body), "roots listing", JsonLimits{8 << 20, 4}));
  ARCA_ASSIGN_OR_RETURN(const Json* list, RequireArray(roots, "roots", "roots listing"));
  for (const auto& r : *list) {
    if (!r.is_string()) return InvalidArgumentError("roots listing: not a base64 string");
    ARCA_ASSIGN_OR_RETURN(Bytes doc, Base64Decode(r.get<std::string>()));
    b.roots.push_back(std::move(doc));
  }
  for (const auto& e : view.entries) {
    if (e.entry.kind != tlog::kEntryPublish) continue;
    AuditVersion v;
    v.manifest = e.entry.manifest;
    ARCA_ASSIGN_OR_RETURN(auto got, client->GetManifest(ref.repository, v.manifest, format::kOciManifestMediaType,
                                                        distribution::kMaxManifestDownloadBytes));
    if (format::DigestOf(got.bytes) != v.manifest) return UnauthenticatedError("the registry served another manifest for " + v.manifest);
    v.oci_manifest = std::move(got.bytes);
    ARCA_ASSIGN_OR_RETURN(auto om, format::ParseOciManifest(v.oci_manifest));
    ARCA_ASSIGN_OR_RETURN(v.blobs[om.config.digest], FetchBlob(*client, ref.repository, om.config, distribution::kMaxConfigBytes));
    for (const auto& l : om.layers) {
      if (l.media_type == format::kPackMediaType || v.blobs.count(l.digest)) continue;
      std::uint64_t max = l.media_type == format::kManifestMediaType ? format::ManifestLimits{}.max_bytes : format::kMaxAttachmentBytes;
      ARCA_ASSIGN_OR_RETURN(v.blobs[l.digest], FetchBlob(*client, ref.repository, l, max));
    }
    b.versions.push_back(std::move(v));
  }
  return b;
}

// Quoted prints an untrusted string (anyone may countersign) as a JSON
// string with every non-ASCII and control character escaped, so a note
// cannot move the terminal's cursor or forge lines of the report.
// (A message may carry a byte-cut prefix of a UTF-8 field: replaced, not thrown.)
std::string Quoted(const Json& s) {
  return s.is_string() ? s.dump(-1, ' ', true, Json::error_handler_t::replace) : "(none)";
}

// CountersignatureLine is one countersignature of a version, in the order
// of CountersignatureReport (audit.h).
std::string CountersignatureLine(const Json& c) {
  std::string line = "countersigned by " + (c["keyId"].is_string() ? c["keyId"].get<std::string>() : std::string("(unreadable)"));
  if (c["signedAt"].is_string()) line += " at " + c["signedAt"].get<std::string>();
  if (c["note"].is_string()) line += ": " + Quoted(c["note"]);
  if (c["verified"].get<bool>()) return line + "  [signature and subject verified]";
  return line + "  [NOT verified: " + Quoted(c["problem"]) + "]";
}

void PrintReport(const Json& r, const std::string& consistency) {
  std::printf("audit of %s\n", r["repository"].get<std::string>().c_str());
  std::printf("  log %s: checkpoint of %llu entries at %s (signature verified)\n", r["log"]["origin"].get<std::string>().c_str(),
              static_cast<unsigned long long>(r["log"]["size"].get<std::uint64_t>()), r["log"]["time"].get<std::string>().c_str());
  for (const auto& c : r["log"]["cosignatures"]) {
    std::printf("  cosigned by witness %s (key %s) at %s\n", c["witness"].get<std::string>().c_str(),
                c["keyId"].get<std::string>().c_str(), c["time"].get<std::string>().c_str());
  }
  if (!consistency.empty()) std::printf("  consistency: %s\n", consistency.c_str());
  for (const auto& root : r["roots"]) {
    std::printf("  root version %llu %s  [log %llu, %s]\n", static_cast<unsigned long long>(root["version"].get<std::uint64_t>()),
                root["digest"].get<std::string>().c_str(), static_cast<unsigned long long>(root["logIndex"].get<std::uint64_t>()),
                root["time"].get<std::string>().c_str());
  }
  for (const auto& v : r["versions"]) {
    std::printf("  version %s %s  [log %llu, published %s]\n", v["name"].get<std::string>().c_str(),
                v["version"].get<std::string>().c_str(), static_cast<unsigned long long>(v["logIndex"].get<std::uint64_t>()),
                v["published"].get<std::string>().c_str());
    std::printf("    manifest %s\n    package  %s\n", v["manifest"].get<std::string>().c_str(), v["package"].get<std::string>().c_str());
    for (const auto& s : v["signers"]) std::printf("    signed by %s\n", s.get<std::string>().c_str());
    if (v["parent"].is_string()) std::printf("    parent   %s\n", v["parent"].get<std::string>().c_str());
    if (v["policy"].is_object()) {
      std::printf("    policy v%llu: %zu allowed measurement(s), %zu revoked\n",
                  static_cast<unsigned long long>(v["policy"]["version"].get<std::uint64_t>()), v["policy"]["allow"].size(),
                  v["policy"]["revoked"].size());
      for (const auto& a : v["policy"]["allow"]) {
        std::printf("      allow %s %s\n", a["platform"].get<std::string>().c_str(), a["measurement"].get<std::string>().c_str());
      }
    }
    for (const auto& c : v["countersignatures"]) std::printf("    %s\n", CountersignatureLine(c).c_str());
  }
  for (const auto& t : r["tags"]) {
    std::printf("  tag %s -> %s  [log %llu, %s]\n", t["tag"].get<std::string>().c_str(), t["manifest"].get<std::string>().c_str(),
                static_cast<unsigned long long>(t["logIndex"].get<std::uint64_t>()), t["time"].get<std::string>().c_str());
  }
  for (const auto& p : r["policies"]) {
    std::printf("  policy %s for %s  [log %llu, %s]\n", p["policy"].get<std::string>().c_str(), p["package"].get<std::string>().c_str(),
                static_cast<unsigned long long>(p["logIndex"].get<std::uint64_t>()), p["time"].get<std::string>().c_str());
  }
  std::printf("  key releases recorded: %zu\n", r["keyReleases"].size());
  for (const auto& k : r["keyReleases"]) {
    std::printf("    %s %s received %s  [log %llu, %s]\n", k["platform"].get<std::string>().c_str(),
                k["measurement"].get<std::string>().c_str(), k["manifest"].get<std::string>().c_str(),
                static_cast<unsigned long long>(k["logIndex"].get<std::uint64_t>()), k["time"].get<std::string>().c_str());
  }
}

Result<signer::SignedRoot> ReadRoot(const std::string& path) {
  ARCA_ASSIGN_OR_RETURN(Bytes bytes, ReadFileBounded(FileSystem::Default(), path, signer::kMaxRootBytes));
  auto r = signer::ParseRoot(bytes);
  if (!r.ok()) return r.status().WithContext(path);
  return r;
}

int Emit(const AuditOptions& o, const Json& report, const std::string& consistency) {
  if (!o.export_format.empty()) {
    std::string ts = FormatRfc3339(NowUnixSeconds());
    Json doc;
    if (o.export_format == "cyclonedx") doc = CycloneDxFromReport(report, "urn:uuid:" + Uuid4(), ts);
    else if (o.export_format == "spdx") doc = SpdxFromReport(report, Uuid4(), ts);
    else return ReportError(InvalidArgumentError("--export is cyclonedx or spdx, not " + o.export_format), o.json);
    std::string text = doc.dump(2) + "\n";
    if (o.output.empty() || o.output == "-") {
      std::fputs(text.c_str(), stdout);
    } else {
      Status s = WriteFileAtomic(FileSystem::Default(), o.output, AsBytes(text), 0644);
      if (!s.ok()) return ReportError(s, o.json);
      std::fprintf(stderr, "wrote %s (%s)\n", o.output.c_str(), o.export_format.c_str());
    }
    return 0;
  }
  if (o.json) {
    Json out = report;
    if (!consistency.empty()) out["consistency"] = consistency;
    PrintJson(out);
  } else {
    PrintReport(report, consistency);
  }
  return 0;
}

int Audit(const AuditOptions& o) {
  auto& fs = FileSystem::Default();
  auto scratch = MakeScratch();
  if (!scratch.ok()) return ReportError(scratch.status(), o.json);
  if (!o.verify.empty()) {
    // Offline: nothing but the bundle, the trusted root and the log key.
    if (o.root_file.empty() || o.log_key_file.empty()) {
      return ReportError(InvalidArgumentError("--verify needs --root ROOT.json and --log-key FILE"), o.json);
    }
    auto bytes = ReadFileBounded(fs, o.verify, kMaxAuditBundleBytes);
    if (!bytes.ok()) return ReportError(bytes.status(), o.json);
    auto bundle = ParseAuditBundle(*bytes);
    if (!bundle.ok()) return ReportError(Status(StatusCode::kUnauthenticated, "bundle: " + bundle.status().message()).WithContext(o.verify), o.json);
    auto root = ReadRoot(o.root_file);
    if (!root.ok()) return ReportError(root.status(), o.json);
    auto key = tlog::ReadVerifierKeyFile(fs, o.log_key_file, tlog::NoteSignatureType::kEd25519);
    if (!key.ok()) return ReportError(key.status(), o.json);
    LogTrust trust{key->ToString(), {}, o.min_witnesses.value_or(0)};
    for (const auto& f : o.witness_key_files) {
      auto w = tlog::ReadVerifierKeyFile(fs, f, tlog::NoteSignatureType::kCosignatureV1);
      if (!w.ok()) return ReportError(w.status(), o.json);
      trust.witnesses.push_back(std::move(*w));
    }
    if (trust.min_witnesses > trust.witnesses.size()) {
      return ReportError(InvalidArgumentError("--min-witnesses " + std::to_string(trust.min_witnesses) + " needs as many --witness-key"),
                         o.json);
    }
    auto report = VerifyAuditBundle(fs, *bundle, *root, trust, scratch->path);
    if (!report.ok()) return ReportError(report.status().WithContext(o.verify), o.json);
    if (o.export_format.empty() && !o.json) {
      std::printf("audit bundle %s verified offline: %zu log entries, %zu versions\n", o.verify.c_str(), bundle->entries.size(),
                  bundle->versions.size());
    }
    return Emit(o, *report, "");
  }
  if (o.reference.empty()) return ReportError(InvalidArgumentError("give HOST:PORT/namespace/name, or --verify BUNDLE"), o.json);
  auto paths = distribution::PathsFromEnvironment();
  if (!paths.ok()) return ReportError(paths.status(), o.json);
  auto ref = distribution::ParseReference(o.reference);
  if (!ref.ok()) return ReportError(ref.status(), o.json);
  signer::SignedRoot root;
  if (o.root_file.empty()) {
    auto t = distribution::LoadTrustedRoot(fs, *paths, ref->namespace_name());
    if (!t.ok()) return ReportError(t.status(), o.json);
    root = t->root;
  } else {
    auto r = ReadRoot(o.root_file);
    if (!r.ok()) return ReportError(r.status(), o.json);
    root = *r;
  }
  std::string consistency;
  LogTrust trust;
  auto bundle = Gather(o, *paths, *ref, &consistency, &trust);
  if (!bundle.ok()) return ReportError(bundle.status().WithContext("auditing " + ref->repository), o.json);
  auto report = VerifyAuditBundle(fs, *bundle, root, trust, scratch->path);
  if (!report.ok()) return ReportError(report.status(), o.json);
  if (!o.bundle_out.empty()) {
    auto text = SerializeAuditBundle(*bundle);
    if (!text.ok()) return ReportError(text.status(), o.json);
    Status s = WriteFileAtomic(fs, o.bundle_out, AsBytes(*text), 0644);
    if (!s.ok()) return ReportError(s, o.json);
    if (!o.json && o.export_format.empty()) {
      std::printf("wrote %s: %zu log entries, %zu versions, checkpoint of %llu entries (verify offline with arca audit --verify)\n",
                  o.bundle_out.c_str(), bundle->entries.size(), bundle->versions.size(),
                  static_cast<unsigned long long>((*report)["log"]["size"].get<std::uint64_t>()));
      return 0;
    }
  }
  return Emit(o, *report, consistency);
}

}  // namespace

void AddAuditCommands(CLI::App& app, Command* run) {
  auto o = std::make_shared<AuditOptions>();
  auto* audit = app.add_subcommand("audit", "Provenance, signers, policies, key releases and log proofs of a repository; "
                                            "bundles for offline verification; CycloneDX / SPDX AI bills of materials");
  audit->add_option("reference", o->reference, "HOST:PORT/namespace/name");
  audit->add_flag("--json", o->json, "Print the report as JSON");
  audit->add_option("--bundle", o->bundle_out, "Save everything needed to re-verify offline into FILE");
  audit->add_option("--verify", o->verify, "Verify a saved bundle offline (with --root and --log-key)");
  audit->add_option("--root", o->root_file, "Trusted namespace root (default: the one arca trust add stored)");
  audit->add_option("--log-key", o->log_key_file, "File holding the log's verifier key (arca-registry log key)");
  audit->add_option("--witness-key", o->witness_key_files,
                    "With --verify: a witness's key file (arca-registry witness key) whose cosignature the bundle carries; repeatable");
  audit->add_option("--min-witnesses", o->min_witnesses,
                    "Witness cosignatures the checkpoint must carry (default: arca trust witness --min; 0 with --verify)");
  audit->add_option("--export", o->export_format, "Write a bill of materials: cyclonedx (1.6 ML-BOM) or spdx (3.0.1 AI)");
  audit->add_option("-o,--output", o->output, "Where --export writes (default stdout)");
  audit->add_flag("--insecure", o->insecure, "Plain HTTP even for a non-loopback registry");
  audit->add_option("--ca-cert", o->ca_cert, "Extra CA certificate bundle (PEM) for HTTPS");
  audit->callback([run, o] { *run = [o] { return Audit(*o); }; });
}

}  // namespace arca::client
