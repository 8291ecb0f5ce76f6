#include "client/audit.h"

#include <algorithm>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "format/manifest.h"
#include "format/oci_layout.h"
#include "format/package.h"
#include "signer/dsse.h"
#include "signer/package_signing.h"
#include "signer/statement.h"
#include "signer/verify.h"
#include "tlog/checkpoint.h"
#include "tlog/entries.h"

namespace arca::client {
namespace {

constexpr std::size_t kMaxItems = 4096;

std::string Text(ByteSpan b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

// StrictBase64 accepts only the padded standard spelling Base64Encode
// writes, so every value has one encoding.
Result<Bytes> StrictBase64(const Json& v, const std::string& where) {
  if (!v.is_string()) return InvalidArgumentError("audit bundle: " + where + " must be a base64 string");
  const std::string& s = v.get_ref<const std::string&>();
  ARCA_ASSIGN_OR_RETURN(Bytes b, Base64Decode(s));
  if (Base64Encode(b) != s) return InvalidArgumentError("audit bundle: " + where + " is not canonical padded base64");
  return b;
}

Status Refuse(const std::string& check, const std::string& why) { return UnauthenticatedError(check + ": " + why); }

std::string HexOfDigest(const std::string& d) { return d.size() > 7 ? d.substr(7) : d; }

}  // namespace

Result<std::string> SerializeAuditBundle(const AuditBundle& b) {
  Json entries = Json::array();
  for (const auto& e : b.entries) {
    Json hashes = Json::array();
    for (const auto& h : e.inclusion) hashes.push_back(Base64Encode(h));
    entries.push_back({{"index", e.index}, {"entry", e.entry}, {"inclusion", hashes}});
  }
  Json roots = Json::array();
  for (const auto& r : b.roots) roots.push_back(Base64Encode(r));
  Json versions = Json::array();
  for (const auto& v : b.versions) {
    Json blobs = Json::object();
    for (const auto& [d, bytes] : v.blobs) blobs[d] = Base64Encode(bytes);
    versions.push_back({{"manifest", v.manifest}, {"ociManifest", Base64Encode(v.oci_manifest)}, {"blobs", blobs}});
  }
  Json j = {{"format", std::string(kAuditBundleFormat)}, {"repository", b.repository}, {"logKey", b.log_key},
            {"checkpoint", b.checkpoint}, {"entries", entries}, {"roots", roots}, {"versions", versions}};
  return CanonicalJson(j);
}

Result<AuditBundle> ParseAuditBundle(ByteSpan bytes) {
  if (bytes.size() > kMaxAuditBundleBytes) return ResourceExhaustedError("audit bundle is over 256 MiB");
  JsonLimits limits;
  limits.max_bytes = kMaxAuditBundleBytes;
  limits.max_depth = 8;
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(Text(bytes), "audit bundle", limits));
  const std::string w = "audit bundle";
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(j, {"format", "repository", "logKey", "checkpoint", "entries", "roots", "versions"}, w));
  ARCA_ASSIGN_OR_RETURN(std::string format, RequireString(j, "format", w));
  if (format != kAuditBundleFormat) return InvalidArgumentError("audit bundle: format is not " + std::string(kAuditBundleFormat));
  AuditBundle b;
  ARCA_ASSIGN_OR_RETURN(b.repository, RequireString(j, "repository", w));
  ARCA_ASSIGN_OR_RETURN(b.log_key, RequireString(j, "logKey", w));
  ARCA_ASSIGN_OR_RETURN(b.checkpoint, RequireString(j, "checkpoint", w));
  ARCA_ASSIGN_OR_RETURN(const Json* entries, RequireArray(j, "entries", w));
  ARCA_ASSIGN_OR_RETURN(const Json* roots, RequireArray(j, "roots", w));
  ARCA_ASSIGN_OR_RETURN(const Json* versions, RequireArray(j, "versions", w));
  if (entries->size() > kMaxItems || versions->size() > kMaxItems || roots->size() > kMaxItems) {
    return ResourceExhaustedError("audit bundle: more than 4096 entries, roots or versions");
  }
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const Json& e = (*entries)[i];
    std::string where = "entries[" + std::to_string(i) + "]";
    ARCA_RETURN_IF_ERROR(RejectUnknownFields(e, {"index", "entry", "inclusion"}, where));
    AuditEntry out;
    ARCA_ASSIGN_OR_RETURN(out.index, RequireUint(e, "index", where, INT64_MAX));
    ARCA_ASSIGN_OR_RETURN(out.entry, RequireString(e, "entry", where));
    ARCA_ASSIGN_OR_RETURN(const Json* hashes, RequireArray(e, "inclusion", where));
    if (hashes->size() > tlog::kMaxProofHashes) return ResourceExhaustedError("audit bundle: " + where + " has too many hashes");
    for (const auto& h : *hashes) {
      ARCA_ASSIGN_OR_RETURN(Bytes raw, StrictBase64(h, where + ".inclusion"));
      ARCA_ASSIGN_OR_RETURN(tlog::Hash hash, tlog::HashFromBytes(raw, "audit bundle " + where + ".inclusion"));
      out.inclusion.push_back(hash);
    }
    b.entries.push_back(std::move(out));
  }
  for (std::size_t i = 0; i < roots->size(); ++i) {
    ARCA_ASSIGN_OR_RETURN(Bytes r, StrictBase64((*roots)[i], "roots[" + std::to_string(i) + "]"));
    b.roots.push_back(std::move(r));
  }
  for (std::size_t i = 0; i < versions->size(); ++i) {
    const Json& v = (*versions)[i];
    std::string where = "versions[" + std::to_string(i) + "]";
    ARCA_RETURN_IF_ERROR(RejectUnknownFields(v, {"manifest", "ociManifest", "blobs"}, where));
    AuditVersion out;
    ARCA_ASSIGN_OR_RETURN(out.manifest, RequireString(v, "manifest", where));
    if (!v.contains("ociManifest")) return InvalidArgumentError("audit bundle: " + where + ".ociManifest is missing");
    ARCA_ASSIGN_OR_RETURN(out.oci_manifest, StrictBase64(v["ociManifest"], where + ".ociManifest"));
    ARCA_ASSIGN_OR_RETURN(const Json* blobs, RequireObject(v, "blobs", where));
    if (blobs->size() > format::kMaxAttachments + 2) return ResourceExhaustedError("audit bundle: " + where + " has too many blobs");
    for (const auto& [d, data] : blobs->items()) {
      ARCA_ASSIGN_OR_RETURN(out.blobs[d], StrictBase64(data, where + ".blobs"));
    }
    b.versions.push_back(std::move(out));
  }
  // One spelling per bundle: the bytes must be the canonical form.
  ARCA_ASSIGN_OR_RETURN(std::string canonical, SerializeAuditBundle(b));
  if (canonical != Text(bytes)) return InvalidArgumentError("audit bundle: not the canonical JSON (RFC 8785) of its content");
  return b;
}

namespace {

// StageVersion writes an OCI layout holding a version's small blobs and its
// manifest, for signer::VerifyPackage (packs are not needed: metadata_only).
Status StageVersion(FileSystem& fs, const AuditVersion& v, const format::OciManifest& om, const std::string& dir) {
  ARCA_RETURN_IF_ERROR(fs.MakeDir(dir, 0700));
  ARCA_RETURN_IF_ERROR(fs.MakeDir(JoinPath(dir, "blobs"), 0700));
  ARCA_RETURN_IF_ERROR(fs.MakeDir(JoinPath(dir, "blobs/sha256"), 0700));
  std::set<std::string> staged;
  std::vector<format::Descriptor> small{om.config};
  for (const auto& l : om.layers) {
    if (l.media_type != format::kPackMediaType) small.push_back(l);
  }
  for (const auto& d : small) {
    if (!staged.insert(d.digest).second) continue;
    ARCA_RETURN_IF_ERROR(format::AddBlobToLayout(fs, dir, v.blobs.at(d.digest), d.media_type).status());
  }
  ARCA_ASSIGN_OR_RETURN(format::Descriptor md, format::AddBlobToLayout(fs, dir, v.oci_manifest, format::kOciManifestMediaType));
  Json entry = {{"mediaType", format::kOciManifestMediaType}, {"digest", md.digest}, {"size", md.size}};
  Json index = {{"schemaVersion", 2}, {"mediaType", format::kOciIndexMediaType}, {"manifests", Json::array({entry})}};
  ARCA_ASSIGN_OR_RETURN(std::string text, CanonicalJson(index));
  ARCA_RETURN_IF_ERROR(WriteFileAtomic(fs, JoinPath(dir, "index.json"), AsBytes(text), 0600));
  return WriteFileAtomic(fs, JoinPath(dir, "oci-layout"), AsBytes(R"({"imageLayoutVersion":"1.0.0"})"), 0600);
}

Json EntryTime(const tlog::LogEntry& e) { return FormatRfc3339(e.time); }

}  // namespace

Json CountersignatureReport(const format::OciManifest& oci, const std::map<std::string, Bytes>& blobs,
                            const signer::PackageSubject& subject) {
  Json out = Json::array();
  std::size_t i = 0;
  for (const auto& l : oci.layers) {
    if (format::AttachmentRole(l) != signer::kRoleCountersign) continue;
    const std::string name = "countersign[" + std::to_string(i++) + "]";
    Json c = {{"digest", l.digest}, {"keyId", nullptr}, {"publicKey", nullptr}, {"note", nullptr},
              {"signedAt", nullptr}, {"verified", false}, {"problem", nullptr}};
    // The checks of signer::VerifyPackage, in its order; the first failure
    // is the problem, but the predicate is read whatever the subject says,
    // so a countersignature of another package still names its signer.
    std::string problem;
    auto fail = [&](const std::string& check, const std::string& why) {
      if (problem.empty()) problem = name + "." + check + ": " + why;
    };
    auto blob = blobs.find(l.digest);
    if (blob == blobs.end()) {
      c["problem"] = "countersign.envelopes: attachment " + l.digest + " is missing";
      out.push_back(std::move(c));
      continue;
    }
    auto env = signer::ParseDsseEnvelope(blob->second);
    if (!env.ok()) {
      c["problem"] = "countersign.envelopes: countersign attachment " + l.digest + ": " + env.status().message();
      out.push_back(std::move(c));
      continue;
    }
    if (env->signatures.size() != 1) {
      fail("envelope", "envelope carries " + std::to_string(env->signatures.size()) + " signatures; Arca stores one per envelope");
    }
    std::optional<signer::Statement> st;
    if (env->payload_type != signer::kInTotoPayloadType) {
      fail("statement", "payloadType is \"" + env->payload_type.substr(0, 80) + "\", expected " + std::string(signer::kInTotoPayloadType));
    } else if (auto parsed = signer::ParseStatement(env->payload); !parsed.ok()) {
      fail("statement", parsed.status().message());
    } else if (parsed->predicate_type != signer::kCountersignPredicateType) {
      fail("statement", "predicateType is \"" + parsed->predicate_type.substr(0, 80) + "\", expected " +
                            std::string(signer::kCountersignPredicateType));
    } else {
      st = std::move(*parsed);
      if (Status s = signer::CheckSubject(*st, subject); !s.ok()) fail("subject", s.message());
    }
    if (st) {
      auto cs = signer::CountersignFromStatement(*st);
      if (!cs.ok()) {
        fail("predicate", cs.status().message());
      } else {
        c["keyId"] = cs->key.KeyId();
        c["publicKey"] = cs->key.ToPem();
        c["note"] = cs->note;
        c["signedAt"] = FormatRfc3339(cs->signed_at);
        if (env->signatures.size() == 1) {
          if (Status s = signer::VerifyDsseSignature(*env, env->signatures[0], cs->key); !s.ok()) fail("signature", s.message());
        }
      }
    }
    c["verified"] = problem.empty();
    if (!problem.empty()) c["problem"] = problem;
    out.push_back(std::move(c));
  }
  return out;
}

namespace {

bool Matches(const tlog::NoteSignature& s, const tlog::NoteVerifier& k) { return s.name == k.name() && s.key_id == k.key_id(); }

// SignedByTrusted: by the log key or one of the trusted witnesses.
bool SignedByTrusted(const tlog::NoteSignature& s, const tlog::NoteVerifier& log, const LogTrust& trust) {
  return Matches(s, log) ||
         std::any_of(trust.witnesses.begin(), trust.witnesses.end(), [&](const auto& w) { return Matches(s, w); });
}

}  // namespace

Result<std::string> KeepTrustedSignatures(std::string_view signed_note, const LogTrust& trust) {
  ARCA_ASSIGN_OR_RETURN(tlog::NoteVerifier log, tlog::NoteVerifier::Parse(trust.log_key));
  ARCA_ASSIGN_OR_RETURN(tlog::Note note, tlog::ParseNote(signed_note));
  std::erase_if(note.signatures, [&](const tlog::NoteSignature& s) {
    return !SignedByTrusted(s, log, trust);
  });
  return tlog::SerializeNote(note);
}

Result<Json> VerifyAuditBundle(FileSystem& fs, const AuditBundle& b, const signer::SignedRoot& trusted,
                               const LogTrust& log, const std::string& scratch_dir) {
  // The log: the auditor's key, a checkpoint it signed, cosigned as the
  // auditor requires, nothing unaccounted.
  const std::string& log_key = log.log_key;
  if (b.log_key != log_key) {
    return Refuse("log-key", "the bundle names log key " + b.log_key.substr(0, 120) + ", not the one given (" +
                                 log_key.substr(0, 120) + ")");
  }
  ARCA_ASSIGN_OR_RETURN(tlog::NoteVerifier verifier, tlog::NoteVerifier::Parse(log_key));
  tlog::CheckpointPolicy policy;
  policy.origin = verifier.name();
  policy.log_keys.push_back(verifier);
  policy.witnesses = log.witnesses;
  policy.min_witnesses = log.min_witnesses;
  auto opened = tlog::OpenCheckpoint(b.checkpoint, policy);
  if (!opened.ok()) return Refuse("checkpoint", opened.status().message());
  if (opened->unknown_signatures != 0) {
    std::string who;
    if (auto note = tlog::ParseNote(b.checkpoint); note.ok()) {
      for (const auto& s : note->signatures) {
        if (!SignedByTrusted(s, verifier, log)) who += (who.empty() ? "" : ", ") + s.name.substr(0, 80);
      }
    }
    return Refuse("checkpoint", std::to_string(opened->unknown_signatures) + " signature(s) by keys the auditor did not name (" +
                                    who + "): give each witness's key with --witness-key FILE (a bundle carries nothing unchecked)");
  }
  const tlog::Checkpoint& head = opened->checkpoint;
  Json cosignatures = Json::array();
  for (const auto& c : opened->cosigned) {
    char id[9];
    std::snprintf(id, sizeof id, "%08x", c.key_id);
    cosignatures.push_back({{"witness", c.name}, {"keyId", id}, {"time", c.timestamp ? FormatRfc3339(*c.timestamp) : ""}});
  }
  std::string ns = b.repository.substr(0, b.repository.find('/'));
  if (b.repository.find('/') == std::string::npos) return Refuse("inclusion", "repository " + b.repository + " has no namespace");
  if (trusted.root.namespace_name != ns) {
    return Refuse("root", "the trusted root is for namespace " + trusted.root.namespace_name + ", the bundle is about " + b.repository);
  }

  // Entries: each included under the checkpoint, in log order.
  std::vector<tlog::LogEntry> parsed;
  std::optional<std::uint64_t> last;
  for (const auto& e : b.entries) {
    std::string where = "log entry " + std::to_string(e.index);
    if (last && e.index <= *last) return Refuse("inclusion", where + " is out of order");
    last = e.index;
    auto entry = tlog::ParseLogEntry(e.entry);
    if (!entry.ok()) return Refuse("inclusion", where + ": " + entry.status().message());
    bool ours = entry->repository == b.repository || (entry->kind == tlog::kEntryRoot && entry->ns == ns);
    if (!ours) return Refuse("inclusion", where + " is not about " + b.repository);
    if (e.index >= head.size) return Refuse("inclusion", where + " is beyond the checkpoint's " + std::to_string(head.size) + " entries");
    Status in = tlog::VerifyInclusion(e.index, head.size, tlog::HashLeaf(AsBytes(e.entry)), e.inclusion, head.root);
    if (!in.ok()) return Refuse("inclusion", where + ": " + in.message());
    parsed.push_back(std::move(*entry));
  }

  Json report = {{"repository", b.repository},
                 {"log", {{"origin", head.origin}, {"size", head.size}, {"root", "sha256:" + HexEncode(head.root)},
                          {"cosignatures", cosignatures},
                          {"time", head.time ? FormatRfc3339(*head.time) : ""}, {"key", log_key}}}};
  Json roots_out = Json::array(), tags_out = Json::array(), policies_out = Json::array(), releases_out = Json::array();
  std::map<std::string, std::pair<const AuditEntry*, const tlog::LogEntry*>> publishes;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> logged_roots;  // digest -> (version, index)
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    const auto& e = parsed[i];
    std::uint64_t idx = b.entries[i].index;
    if (e.kind == tlog::kEntryPublish) {
      if (!publishes.emplace(e.manifest, std::make_pair(&b.entries[i], &e)).second) {
        return Refuse("inclusion", "log entry " + std::to_string(idx) + " publishes " + e.manifest + " a second time");
      }
      if (!e.policy.empty()) {
        policies_out.push_back({{"package", e.package}, {"version", e.version}, {"policy", e.policy},
                                {"policyVersion", e.policy_version ? Json(*e.policy_version) : Json(nullptr)},
                                {"logIndex", idx}, {"time", EntryTime(e)}});
      }
    } else if (e.kind == tlog::kEntryTag) {
      tags_out.push_back({{"tag", e.tag}, {"manifest", e.manifest}, {"previous", e.previous.empty() ? Json(nullptr) : Json(e.previous)},
                          {"logIndex", idx}, {"time", EntryTime(e)}});
    } else if (e.kind == tlog::kEntryPolicy) {
      policies_out.push_back({{"package", e.package}, {"policy", e.policy}, {"policyVersion", *e.policy_version},
                              {"logIndex", idx}, {"time", EntryTime(e)}});
    } else if (e.kind == tlog::kEntryRoot) {
      logged_roots[e.root] = {*e.root_version, idx};
      roots_out.push_back({{"version", *e.root_version}, {"digest", e.root}, {"logIndex", idx}, {"time", EntryTime(e)}});
    } else if (e.kind == tlog::kEntryKeyRelease) {
      releases_out.push_back({{"manifest", e.manifest}, {"platform", e.platform}, {"measurement", e.measurement},
                              {"evidence", e.evidence}, {"recipient", e.recipient}, {"logIndex", idx}, {"time", EntryTime(e)}});
    }
  }

  // Roots: each one the log recorded; newer ones are the updates to walk.
  std::vector<signer::SignedRoot> updates;
  for (std::size_t i = 0; i < b.roots.size(); ++i) {
    std::string d = "sha256:" + HexEncode(crypto::Sha256::Hash(b.roots[i]));
    auto logged = logged_roots.find(d);
    if (logged == logged_roots.end()) return Refuse("root", "root document " + std::to_string(i) + " (" + d + ") is not in the log");
    auto r = signer::ParseRoot(b.roots[i]);
    if (!r.ok()) return Refuse("root", "root document " + std::to_string(i) + ": " + r.status().message());
    if (r->root.namespace_name != ns || r->root.version != logged->second.first) {
      return Refuse("root", "root document " + std::to_string(i) + " is not version " + std::to_string(logged->second.first) + " of " + ns);
    }
    if (r->root.version > trusted.root.version) updates.push_back(std::move(*r));
  }
  std::sort(updates.begin(), updates.end(), [](const auto& x, const auto& y) { return x.root.version < y.root.version; });

  // Versions: exactly the published ones, each verified as of its publish.
  if (b.versions.size() != publishes.size()) {
    return Refuse("inclusion", "the log publishes " + std::to_string(publishes.size()) + " versions, the bundle holds " +
                                   std::to_string(b.versions.size()));
  }
  Json versions_out = Json::array();
  std::set<std::string> seen_versions;
  for (std::size_t i = 0; i < b.versions.size(); ++i) {
    const AuditVersion& v = b.versions[i];
    std::string check = "version " + v.manifest.substr(0, 80);
    auto pub = publishes.find(v.manifest);
    if (pub == publishes.end() || !seen_versions.insert(v.manifest).second) return Refuse(check, "has no (or a second) publish entry in the log");
    const tlog::LogEntry& pe = *pub->second.second;
    if (format::DigestOf(v.oci_manifest) != v.manifest) return Refuse(check, "the OCI manifest's bytes hash to " + format::DigestOf(v.oci_manifest));
    auto om = format::ParseOciManifest(v.oci_manifest);
    if (!om.ok()) return Refuse(check, om.status().message());
    std::set<std::string> want;
    std::map<std::string, std::uint64_t> sizes;
    std::vector<format::Descriptor> small{om->config};
    for (const auto& l : om->layers) {
      if (l.media_type != format::kPackMediaType) small.push_back(l);
    }
    for (const auto& d : small) {
      want.insert(d.digest);
      sizes[d.digest] = d.size;
    }
    for (const auto& d : want) {
      auto it = v.blobs.find(d);
      if (it == v.blobs.end()) return Refuse(check, "blob " + d + " is missing");
      if (format::DigestOf(it->second) != d || it->second.size() != sizes[d]) return Refuse(check, "blob " + d + " does not match its digest");
    }
    if (v.blobs.size() != want.size()) return Refuse(check, "holds blobs its manifest does not reference");
    std::string dir = JoinPath(scratch_dir, "v" + std::to_string(i));
    ARCA_RETURN_IF_ERROR(StageVersion(fs, v, *om, dir));
    signer::VerifyOptions vo;
    vo.now = pe.time;
    vo.metadata_only = true;
    vo.root_updates = updates;
    Verdict verdict = signer::VerifyPackage(fs, format::PackageRef{dir, ""}, trusted, vo);
    if (!verdict.ok()) {
      std::string failed;
      for (const auto& c : verdict.checks()) {
        if (!c.passed) failed += (failed.empty() ? "" : "; ") + c.name + ": " + c.detail;
      }
      return Refuse(check, failed.empty() ? verdict.status().message() : failed);
    }
    const Json& cl = verdict.claims;
    std::vector<std::string> signers;
    if (cl.contains("releaseSigners")) signers = cl["releaseSigners"].get<std::vector<std::string>>();
    std::vector<std::string> logged_signers = pe.signers;
    std::sort(signers.begin(), signers.end());
    std::sort(logged_signers.begin(), logged_signers.end());
    if (cl.value("manifest", "") != pe.package || cl.value("name", "") != pe.name || cl.value("version", "") != pe.version ||
        signers != logged_signers) {
      return Refuse(check, "the log's publish entry " + std::to_string(pub->second.first->index) +
                               " does not describe this package (name, version, Arca manifest or signers differ)");
    }
    // Countersignatures: VerifyPackage has refused any that does not verify;
    // the report re-derives each from the bundle's bytes, and a version whose
    // report disagrees is refused rather than shown with "verified": false.
    Json countersigs = CountersignatureReport(*om, v.blobs, signer::PackageSubject{pe.name, pe.version, pe.package});
    for (const auto& c : countersigs) {
      if (!c["verified"].get<bool>()) return Refuse(check, c["problem"].get<std::string>());
    }
    Json pol = nullptr;
    for (const auto& l : om->layers) {
      std::string role = format::AttachmentRole(l);
      if (role != "policy") continue;
      auto env = signer::ParseDsseEnvelope(v.blobs.at(l.digest));
      if (!env.ok()) continue;
      auto p = signer::DecodePolicyEnvelope(*env);
      if (!p.ok()) continue;
      Json allow = Json::array();
      for (const auto& r : p->allow) allow.push_back({{"platform", r.platform}, {"measurement", r.measurement}, {"minTcb", r.min_tcb}});
      pol = {{"digest", l.digest}, {"version", p->version}, {"allow", allow}, {"revoked", p->revoked},
             {"allowDebug", p->allow_debug}, {"requireGpuCc", p->require_gpu_cc},
             {"expires", p->expires ? Json(FormatRfc3339(*p->expires)) : Json(nullptr)}};
    }
    Json tags = Json::array();
    for (const auto& t : tags_out) {
      if (t["manifest"] == v.manifest) tags.push_back(t["tag"]);
    }
    versions_out.push_back({{"name", pe.name}, {"version", pe.version}, {"manifest", v.manifest}, {"package", pe.package},
                            {"parent", pe.parent.empty() ? Json(nullptr) : Json(pe.parent)}, {"logIndex", pub->second.first->index},
                            {"published", EntryTime(pe)}, {"signers", pe.signers},
                            {"rootVersion", cl.contains("root") ? cl["root"].value("version", 0) : 0},
                            {"provenance", cl.contains("provenance") ? cl["provenance"] : Json(nullptr)},
                            {"policy", pol}, {"countersignatures", countersigs}, {"tagsPointingHere", tags}});
  }
  report["versions"] = versions_out;
  report["tags"] = tags_out;
  report["policies"] = policies_out;
  report["roots"] = roots_out;
  report["keyReleases"] = releases_out;
  report["verified"] = true;
  return report;
}

// ---------------------------------------------------------------------------
// Exports

namespace {

struct DatasetRef {
  std::string name, uri, sha256;
};

std::vector<DatasetRef> Datasets(const Json& provenance) {
  std::vector<DatasetRef> out;
  if (!provenance.is_object()) return out;
  auto bd = provenance.find("buildDefinition");
  if (bd == provenance.end() || !bd->is_object()) return out;
  auto deps = bd->find("resolvedDependencies");
  if (deps == bd->end() || !deps->is_array()) return out;
  for (const auto& d : *deps) {
    std::string name = d.value("name", "");
    if (name.rfind("dataset:", 0) != 0) continue;
    std::string sha = d.contains("digest") && d["digest"].is_object() ? d["digest"].value("sha256", "") : "";
    out.push_back({name.substr(8), d.value("uri", ""), sha});
  }
  return out;
}

std::string Step(const Json& provenance) {
  if (!provenance.is_object()) return "";
  try {
    return provenance.at("buildDefinition").at("externalParameters").value("step", "");
  } catch (const std::exception&) {
    return "";
  }
}

bool IsSha256Hex(const std::string& s) { return IsLowerHex(s, 64); }

}  // namespace

Json CycloneDxFromReport(const Json& report, const std::string& serial_uuid, const std::string& timestamp) {
  Json components = Json::array();
  Json dependencies = Json::array();
  std::set<std::string> data_refs, model_refs;
  for (const auto& v : report["versions"]) model_refs.insert("model:" + v["manifest"].get<std::string>());
  for (const auto& v : report["versions"]) {
    std::string ref = "model:" + v["manifest"].get<std::string>();
    Json props = Json::array({{{"name", "arca:manifest"}, {"value", v["manifest"]}},
                              {{"name", "arca:package"}, {"value", v["package"]}},
                              {{"name", "arca:logIndex"}, {"value", std::to_string(v["logIndex"].get<std::uint64_t>())}},
                              {{"name", "arca:published"}, {"value", v["published"]}}});
    for (const auto& s : v["signers"]) props.push_back({{"name", "arca:releaseSigner"}, {"value", s}});
    if (v.contains("countersignatures")) {
      for (const auto& c : v["countersignatures"]) {
        if (c.value("verified", false) && c["keyId"].is_string()) props.push_back({{"name", "arca:countersigner"}, {"value", c["keyId"]}});
      }
    }
    if (v["policy"].is_object()) {
      props.push_back({{"name", "arca:policyVersion"}, {"value", std::to_string(v["policy"]["version"].get<std::uint64_t>())}});
      for (const auto& a : v["policy"]["allow"]) {
        props.push_back({{"name", "arca:policyAllows"}, {"value", a["platform"].get<std::string>() + ":" + a["measurement"].get<std::string>()}});
      }
    }
    Json datasets = Json::array();
    Json depends = Json::array();
    for (const auto& d : Datasets(v["provenance"])) {
      std::string dref = "data:" + (d.sha256.empty() ? d.name : d.sha256);
      datasets.push_back({{"ref", dref}});
      depends.push_back(dref);
      if (data_refs.insert(dref).second) {
        Json c = {{"type", "data"}, {"bom-ref", dref}, {"name", d.name},
                  {"data", Json::array({{{"type", "dataset"}, {"name", d.name}}})}};
        if (IsSha256Hex(d.sha256)) c["hashes"] = Json::array({{{"alg", "SHA-256"}, {"content", d.sha256}}});
        if (!d.uri.empty()) c["externalReferences"] = Json::array({{{"type", "distribution"}, {"url", d.uri}}});
        components.push_back(c);
      }
    }
    Json card = {{"modelParameters", {{"datasets", datasets}}}};
    std::string step = Step(v["provenance"]);
    if (!step.empty()) card["modelParameters"]["task"] = step;
    Json c = {{"type", "machine-learning-model"}, {"bom-ref", ref}, {"name", v["name"]}, {"version", v["version"]},
              {"hashes", Json::array({{{"alg", "SHA-256"}, {"content", HexOfDigest(v["package"].get<std::string>())}}})},
              {"modelCard", card}, {"properties", props}};
    if (v["parent"].is_string()) {
      // The parent is named by its Arca manifest digest; link the component
      // that carries it when the repository holds it.
      for (const auto& p : report["versions"]) {
        if (p["package"] == v["parent"]) depends.push_back("model:" + p["manifest"].get<std::string>());
      }
      c["pedigree"] = {{"ancestors", Json::array({{{"type", "machine-learning-model"}, {"name", v["name"]},
                                                   {"hashes", Json::array({{{"alg", "SHA-256"},
                                                                            {"content", HexOfDigest(v["parent"].get<std::string>())}}})}}})}};
    }
    components.push_back(c);
    dependencies.push_back({{"ref", ref}, {"dependsOn", depends}});
  }
  return {{"bomFormat", "CycloneDX"},
          {"specVersion", "1.6"},
          {"serialNumber", serial_uuid},
          {"version", 1},
          {"metadata", {{"timestamp", timestamp},
                        {"tools", {{"components", Json::array({{{"type", "application"}, {"name", "arca"}, {"version", "0.1.0"}}})}}},
                        {"component", {{"type", "machine-learning-model"}, {"bom-ref", "repository"}, {"name", report["repository"]}}}}},
          {"components", components},
          {"dependencies", dependencies}};
}

Json SpdxFromReport(const Json& report, const std::string& doc_uuid, const std::string& timestamp) {
  const std::string base = "https://arca.dev/spdx/" + doc_uuid + "#";
  const std::string ci = "_:creationinfo";
  Json graph = Json::array();
  graph.push_back({{"type", "CreationInfo"}, {"@id", ci}, {"specVersion", "3.0.1"}, {"created", timestamp},
                   {"createdBy", Json::array({base + "arca"})}});
  graph.push_back({{"type", "Tool"}, {"spdxId", base + "arca"}, {"creationInfo", ci}, {"name", "arca 0.1.0"}});
  Json elements = Json::array();
  std::set<std::string> datasets_done;
  int rel = 0;
  for (const auto& v : report["versions"]) {
    std::string id = base + "model-" + HexOfDigest(v["manifest"].get<std::string>());
    Json model = {{"type", "ai_AIPackage"}, {"spdxId", id}, {"creationInfo", ci},
                  {"name", v["name"]}, {"software_packageVersion", v["version"]},
                  {"software_primaryPurpose", "model"},
                  {"releaseTime", v["published"]},
                  {"software_downloadLocation", "arca:" + report["repository"].get<std::string>() + "@" + v["manifest"].get<std::string>()},
                  {"verifiedUsing", Json::array({{{"type", "Hash"}, {"algorithm", "sha256"},
                                                  {"hashValue", HexOfDigest(v["package"].get<std::string>())}}})}};
    std::string step = Step(v["provenance"]);
    if (!step.empty()) model["ai_domain"] = Json::array({step});
    graph.push_back(model);
    elements.push_back(id);
    Json trained = Json::array();
    for (const auto& d : Datasets(v["provenance"])) {
      std::string did = base + "dataset-" + (IsSha256Hex(d.sha256) ? d.sha256 : std::to_string(datasets_done.size()));
      if (datasets_done.insert(did).second) {
        Json ds = {{"type", "dataset_DatasetPackage"}, {"spdxId", did}, {"creationInfo", ci}, {"name", d.name},
                   {"software_primaryPurpose", "data"}, {"dataset_datasetType", Json::array({"other"})},
                   {"software_downloadLocation", d.uri.empty() ? "NOASSERTION" : d.uri},
                   {"releaseTime", v["published"]}, {"builtTime", v["published"]},
                   {"originatedBy", Json::array({base + "arca"})}};
        if (IsSha256Hex(d.sha256)) {
          ds["verifiedUsing"] = Json::array({{{"type", "Hash"}, {"algorithm", "sha256"}, {"hashValue", d.sha256}}});
        }
        graph.push_back(ds);
        elements.push_back(did);
      }
      trained.push_back(did);
    }
    if (!trained.empty()) {
      std::string rid = base + "rel-" + std::to_string(++rel);
      graph.push_back({{"type", "Relationship"}, {"spdxId", rid}, {"creationInfo", ci}, {"from", id},
                       {"relationshipType", "trainedOn"}, {"to", trained}});
      elements.push_back(rid);
    }
    if (v["parent"].is_string()) {
      for (const auto& p : report["versions"]) {
        if (p["package"] != v["parent"]) continue;
        std::string rid = base + "rel-" + std::to_string(++rel);
        graph.push_back({{"type", "Relationship"}, {"spdxId", rid}, {"creationInfo", ci},
                         {"from", base + "model-" + HexOfDigest(p["manifest"].get<std::string>())},
                         {"relationshipType", "ancestorOf"}, {"to", Json::array({id})}});
        elements.push_back(rid);
      }
    }
  }
  Json roots = Json::array();
  for (const auto& v : report["versions"]) roots.push_back(base + "model-" + HexOfDigest(v["manifest"].get<std::string>()));
  graph.push_back({{"type", "SpdxDocument"}, {"spdxId", base + "document"}, {"creationInfo", ci},
                   {"name", "AI bill of materials for " + report["repository"].get<std::string>()},
                   {"profileConformance", Json::array({"core", "software", "ai", "dataset"})},
                   {"rootElement", roots}, {"element", elements}});
  return {{"@context", "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"}, {"@graph", graph}};
}

}  // namespace arca::client
