#include "signer/documents.h"
#include "signer/root.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/bytes.h"
#include "base/git_util.h"
#include "base/json.h"

namespace arca::signer {
namespace {

std::string HexOf(const std::string& digest) { return digest.substr(0, 7) == "sha256:" ? digest.substr(7) : digest; }

Statement StatementFor(const PackageSubject& s, std::string_view predicate_type, Json predicate) {
  Statement st;
  st.subjects.push_back(Subject{s.name + ":" + s.version, {{"sha256", HexOf(s.manifest_digest)}}});
  st.predicate_type = std::string(predicate_type);
  st.predicate = std::move(predicate);
  return st;
}

Result<bool> OptionalBool(const Json& obj, std::string_view field, std::string_view where) {
  if (!obj.contains(field)) return false;
  const Json& v = obj[std::string(field)];
  if (!v.is_boolean()) return InvalidArgumentError(std::string(where) + "." + std::string(field) + " must be true or false");
  return v.get<bool>();
}

Result<std::optional<UnixSeconds>> OptionalTime(const Json& obj, std::string_view field, std::string_view where) {
  if (!obj.contains(field)) return std::optional<UnixSeconds>();
  ARCA_ASSIGN_OR_RETURN(std::string s, RequireString(obj, field, where));
  ARCA_ASSIGN_OR_RETURN(UnixSeconds t, ParseRfc3339(s, std::string(where) + "." + std::string(field)));
  return std::optional<UnixSeconds>(t);
}

Result<PackageSubject> ReadPackageFields(const Statement& st, const Json& pkg, std::string_view where) {
  PackageSubject s;
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(pkg, {"name", "version"}, where));
  ARCA_ASSIGN_OR_RETURN(s.name, RequireString(pkg, "name", where));
  ARCA_ASSIGN_OR_RETURN(s.version, RequireString(pkg, "version", where));
  auto digests = SubjectSha256Digests(st);
  if (st.subjects.size() != 1 || digests.size() != 1) {
    return InvalidArgumentError(std::string(where) + ": statement must have exactly one subject with a sha256 digest");
  }
  s.manifest_digest = digests[0];
  return s;
}

}  // namespace

PackageSubject SubjectOf(const format::Manifest& manifest, const std::string& manifest_digest) {
  return PackageSubject{manifest.name, manifest.version, manifest_digest};
}

Status CheckSubject(const Statement& statement, const PackageSubject& subject) {
  if (statement.subjects.size() != 1) {
    return UnauthenticatedError("statement has " + std::to_string(statement.subjects.size()) +
                                " subjects; an Arca statement names exactly one package");
  }
  const Subject& s = statement.subjects[0];
  auto it = s.digest.find("sha256");
  std::string got = it == s.digest.end() ? "(no sha256)" : "sha256:" + it->second;
  if (got != subject.manifest_digest) {
    return UnauthenticatedError("statement is about " + got + ", not this package's manifest " + subject.manifest_digest);
  }
  std::string want_name = subject.name + ":" + subject.version;
  if (s.name != want_name) {
    return UnauthenticatedError("statement names \"" + s.name.substr(0, 128) + "\", the package is " + want_name);
  }
  return Status::Ok();
}

Statement MakeReleaseStatement(const PackageSubject& subject, const std::optional<std::string>& parent_digest) {
  Json p = {{"name", subject.name}, {"version", subject.version}};
  if (parent_digest) p["parent"] = *parent_digest;
  return StatementFor(subject, kReleasePredicateType, std::move(p));
}

// --- provenance

Result<ProvenanceFile> ParseProvenanceFile(ByteSpan bytes) {
  const std::string where = "provenance file";
  JsonLimits jl;
  jl.max_bytes = 256 * 1024;
  jl.max_depth = 6;
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(ToString(bytes), where, jl));
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(
      j, {"step", "datasets", "gitRepository", "hyperparameters", "ranBy", "startedOn", "finishedOn"}, where));
  ProvenanceFile f;
  if (j.contains("step")) {
    ARCA_ASSIGN_OR_RETURN(f.input.step, RequireString(j, "step", where));
  }
  if (j.contains("datasets")) {
    ARCA_ASSIGN_OR_RETURN(const Json* ds, RequireArray(j, "datasets", where));
    if (ds->size() > 256) return ResourceExhaustedError(where + " lists more than 256 datasets");
    for (std::size_t i = 0; i < ds->size(); ++i) {
      std::string w = where + ".datasets[" + std::to_string(i) + "]";
      ARCA_RETURN_IF_ERROR(RejectUnknownFields((*ds)[i], {"name", "uri", "sha256"}, w));
      Dataset d;
      ARCA_ASSIGN_OR_RETURN(d.name, RequireString((*ds)[i], "name", w));
      ARCA_ASSIGN_OR_RETURN(d.uri, RequireString((*ds)[i], "uri", w));
      ARCA_ASSIGN_OR_RETURN(d.sha256, RequireString((*ds)[i], "sha256", w));
      if (!IsLowerHex(d.sha256, 64)) return InvalidArgumentError(w + ".sha256 must be 64 lower-case hex digits");
      f.input.datasets.push_back(std::move(d));
    }
  }
  if (j.contains("gitRepository")) {
    ARCA_ASSIGN_OR_RETURN(std::string p, RequireString(j, "gitRepository", where));
    f.git_repository = p;
  }
  if (j.contains("hyperparameters")) {
    ARCA_ASSIGN_OR_RETURN(std::string p, RequireString(j, "hyperparameters", where));
    f.hyperparameters_path = p;
  }
  if (j.contains("ranBy")) {
    ARCA_ASSIGN_OR_RETURN(f.input.ran_by, RequireString(j, "ranBy", where));
  }
  ARCA_ASSIGN_OR_RETURN(auto started, OptionalTime(j, "startedOn", where));
  ARCA_ASSIGN_OR_RETURN(auto finished, OptionalTime(j, "finishedOn", where));
  if (started) f.input.started_on = *started;
  if (finished) f.input.finished_on = *finished;
  return f;
}

Result<GitSource> ReadGitSource(const std::string& path) {
  GitLibrary git;
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, path.c_str(), 0, nullptr) != 0) {
    return NotFoundError(path + " is not inside a git repository (" + GitErrorText("open failed") + ")");
  }
  GitRepositoryPtr repo(raw);
  GitSource src;
  git_object* head_raw = nullptr;
  if (git_revparse_single(&head_raw, repo.get(), "HEAD^{commit}") != 0) {
    return FailedPreconditionError(path + ": the repository has no commit at HEAD (" + GitErrorText("no HEAD") + ")");
  }
  GitObjectPtr head(head_raw);
  src.commit = git_oid_tostr_s(git_object_id(head.get()));

  git_remote* remote_raw = nullptr;
  if (git_remote_lookup(&remote_raw, repo.get(), "origin") != 0) {
    git_strarray names{};
    if (git_remote_list(&names, repo.get()) == 0 && names.count > 0) git_remote_lookup(&remote_raw, repo.get(), names.strings[0]);
    git_strarray_dispose(&names);
  }
  GitRemotePtr remote(remote_raw);
  if (remote && git_remote_url(remote.get())) {
    src.uri = std::string("git+") + git_remote_url(remote.get());
  } else {
    const char* wd = git_repository_workdir(repo.get());
    src.uri = std::string("git+file://") + (wd ? wd : git_repository_path(repo.get()));
  }

  git_status_options opts = GIT_STATUS_OPTIONS_INIT;
  opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
  git_status_list* list_raw = nullptr;
  if (!git_repository_is_bare(repo.get())) {
    if (git_status_list_new(&list_raw, repo.get(), &opts) != 0) {
      return InternalError(path + ": cannot read the work tree status (" + GitErrorText("status failed") + ")");
    }
    GitStatusListPtr list(list_raw);
    src.dirty = git_status_list_entrycount(list.get()) > 0;
  }
  return src;
}

Statement MakeProvenanceStatement(const PackageSubject& subject, const ProvenanceInput& in) {
  Json deps = Json::array();
  if (in.base_model_digest) {
    deps.push_back({{"name", "base-model"},
                    {"uri", "arca:" + in.base_model_name.value_or(subject.name) + "@" + *in.base_model_digest},
                    {"digest", {{"sha256", HexOf(*in.base_model_digest)}}}});
  }
  for (const auto& d : in.datasets) {
    deps.push_back({{"name", "dataset:" + d.name}, {"uri", d.uri}, {"digest", {{"sha256", d.sha256}}}});
  }
  if (in.code) {
    deps.push_back({{"name", "training-code"},
                    {"uri", in.code->uri},
                    {"digest", {{"gitCommit", in.code->commit}}},
                    {"annotations", {{"dirty", in.code->dirty}}}});
  }
  Json external = {{"step", in.step}};
  if (in.hyperparameters_sha256) {
    external["hyperparameters"] = {{"name", in.hyperparameters_name.value_or("hyperparameters")},
                                   {"digest", {{"sha256", *in.hyperparameters_sha256}}}};
  }
  Json metadata = Json::object();
  if (in.started_on) metadata["startedOn"] = FormatRfc3339(in.started_on);
  if (in.finished_on) metadata["finishedOn"] = FormatRfc3339(in.finished_on);
  Json builder = {{"id", "https://arca.dev/builder/arca-cli/v1"}};
  Json run = {{"builder", builder}, {"metadata", metadata}};
  if (!in.ran_by.empty()) external["ranBy"] = in.ran_by;
  Json predicate = {{"buildDefinition",
                     {{"buildType", kMlStepBuildType},
                      {"externalParameters", external},
                      {"internalParameters", {{"package", {{"name", subject.name}, {"version", subject.version}}}}},
                      {"resolvedDependencies", deps}}},
                    {"runDetails", run}};
  return StatementFor(subject, kProvenancePredicateType, std::move(predicate));
}

Result<ProvenanceFacts> ParseProvenancePredicate(const Json& p) {
  const std::string where = "provenance predicate";
  ARCA_ASSIGN_OR_RETURN(const Json* bd, RequireObject(p, "buildDefinition", where));
  ARCA_ASSIGN_OR_RETURN(const Json* rd, RequireObject(p, "runDetails", where));
  ARCA_ASSIGN_OR_RETURN(const Json* builder, RequireObject(*rd, "builder", where + ".runDetails"));
  ARCA_RETURN_IF_ERROR(RequireString(*builder, "id", where + ".runDetails.builder").status());
  ProvenanceFacts f;
  ARCA_ASSIGN_OR_RETURN(f.build_type, RequireString(*bd, "buildType", where + ".buildDefinition"));
  ARCA_RETURN_IF_ERROR(RequireObject(*bd, "externalParameters", where + ".buildDefinition").status());
  if (bd->contains("resolvedDependencies")) {
    ARCA_ASSIGN_OR_RETURN(const Json* deps, RequireArray(*bd, "resolvedDependencies", where + ".buildDefinition"));
    for (std::size_t i = 0; i < deps->size(); ++i) {
      const Json& d = (*deps)[i];
      std::string w = where + ".buildDefinition.resolvedDependencies[" + std::to_string(i) + "]";
      if (!d.is_object()) return InvalidArgumentError(w + " must be an object");
      f.dependencies.push_back(d);
      if (d.contains("name") && d["name"] == "base-model") {
        if (f.base_model_digest) return InvalidArgumentError(w + ": a second base-model dependency");
        ARCA_ASSIGN_OR_RETURN(const Json* dg, RequireObject(d, "digest", w));
        ARCA_ASSIGN_OR_RETURN(std::string hex, RequireString(*dg, "sha256", w + ".digest"));
        if (!IsLowerHex(hex, 64)) return InvalidArgumentError(w + ".digest.sha256 must be 64 lower-case hex digits");
        f.base_model_digest = "sha256:" + hex;
      }
    }
  }
  return f;
}

// --- policy

Status ValidatePlatformMeasurement(std::string_view platform, std::string_view measurement) {
  std::size_t want = 0;
  if (platform == "sev-snp" || platform == "tdx") want = 96;
  else if (platform == "tpm") want = 64;
  else {
    return InvalidArgumentError("platform \"" + std::string(platform.substr(0, 40)) + "\" is not one of sev-snp, tdx, tpm");
  }
  if (!IsLowerHex(measurement, want)) {
    return InvalidArgumentError(std::string(platform) + " measurement must be " + std::to_string(want) +
                                " lower-case hex digits (" + std::to_string(want / 2) + " bytes), got " +
                                std::to_string(measurement.size()) + " characters");
  }
  return Status::Ok();
}

Statement PolicyToStatement(const Policy& policy) {
  Json allow = Json::array();
  for (const auto& r : policy.allow) {
    Json o = {{"platform", r.platform}, {"measurement", r.measurement}};
    if (!r.min_tcb.empty()) o["minTcb"] = r.min_tcb;
    allow.push_back(std::move(o));
  }
  Json p = {{"package", {{"name", policy.subject.name}, {"version", policy.subject.version}}},
            {"version", policy.version},
            {"allow", allow},
            {"revoked", policy.revoked},
            {"allowDebug", policy.allow_debug},
            {"requireGpuConfidentialMode", policy.require_gpu_cc}};
  if (policy.expires) p["expires"] = FormatRfc3339(*policy.expires);
  return StatementFor(policy.subject, kPolicyPredicateType, std::move(p));
}

Result<Policy> PolicyFromStatement(const Statement& st) {
  const std::string where = "policy";
  if (st.predicate_type != kPolicyPredicateType) {
    return InvalidArgumentError("statement predicateType is \"" + st.predicate_type.substr(0, 80) + "\", not a policy (" +
                                std::string(kPolicyPredicateType) + ")");
  }
  const Json& p = st.predicate;
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(
      p, {"package", "version", "expires", "allow", "revoked", "allowDebug", "requireGpuConfidentialMode"}, where));
  Policy pol;
  ARCA_ASSIGN_OR_RETURN(const Json* pkg, RequireObject(p, "package", where));
  ARCA_ASSIGN_OR_RETURN(pol.subject, ReadPackageFields(st, *pkg, where + ".package"));
  ARCA_ASSIGN_OR_RETURN(pol.version, RequireUint(p, "version", where, 1ull << 53));
  if (pol.version < 1) return InvalidArgumentError(where + ".version must be at least 1");
  ARCA_ASSIGN_OR_RETURN(pol.expires, OptionalTime(p, "expires", where));
  ARCA_ASSIGN_OR_RETURN(const Json* allow, RequireArray(p, "allow", where));
  if (allow->size() > 1024) return ResourceExhaustedError(where + ".allow has more than 1024 entries");
  for (std::size_t i = 0; i < allow->size(); ++i) {
    std::string w = where + ".allow[" + std::to_string(i) + "]";
    const Json& r = (*allow)[i];
    ARCA_RETURN_IF_ERROR(RejectUnknownFields(r, {"platform", "measurement", "minTcb"}, w));
    PolicyRule rule;
    ARCA_ASSIGN_OR_RETURN(rule.platform, RequireString(r, "platform", w));
    ARCA_ASSIGN_OR_RETURN(rule.measurement, RequireString(r, "measurement", w));
    Status s = ValidatePlatformMeasurement(rule.platform, rule.measurement);
    if (!s.ok()) return s.WithContext(w);
    if (r.contains("minTcb")) {
      ARCA_ASSIGN_OR_RETURN(const Json* tcb, RequireObject(r, "minTcb", w));
      if (tcb->size() > 32) return InvalidArgumentError(w + ".minTcb has too many fields");
      for (auto it = tcb->begin(); it != tcb->end(); ++it) {
        ARCA_ASSIGN_OR_RETURN(rule.min_tcb[it.key()], RequireUint(*tcb, it.key(), w + ".minTcb", 1ull << 32));
      }
    }
    pol.allow.push_back(std::move(rule));
  }
  ARCA_ASSIGN_OR_RETURN(const Json* revoked, RequireArray(p, "revoked", where));
  if (revoked->size() > 1024) return ResourceExhaustedError(where + ".revoked has more than 1024 entries");
  for (std::size_t i = 0; i < revoked->size(); ++i) {
    const Json& m = (*revoked)[i];
    std::string w = where + ".revoked[" + std::to_string(i) + "]";
    if (!m.is_string()) return InvalidArgumentError(w + " must be a string");
    std::string hex = m.get<std::string>();
    if (!IsLowerHex(hex, 64) && !IsLowerHex(hex, 96)) return InvalidArgumentError(w + " must be 64 or 96 lower-case hex digits");
    pol.revoked.push_back(std::move(hex));
  }
  ARCA_ASSIGN_OR_RETURN(pol.allow_debug, OptionalBool(p, "allowDebug", where));
  ARCA_ASSIGN_OR_RETURN(pol.require_gpu_cc, OptionalBool(p, "requireGpuConfidentialMode", where));
  return pol;
}

// --- countersignature

Statement MakeCountersignStatement(const PackageSubject& subject, const Countersign& c) {
  Json p = {{"note", c.note}, {"signedAt", FormatRfc3339(c.signed_at)}, {"publicKey", c.key.ToPem()}};
  return StatementFor(subject, kCountersignPredicateType, std::move(p));
}

Result<Countersign> CountersignFromStatement(const Statement& st) {
  const std::string where = "countersignature";
  if (st.predicate_type != kCountersignPredicateType) {
    return InvalidArgumentError("statement predicateType is \"" + st.predicate_type.substr(0, 80) + "\", not a countersignature");
  }
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(st.predicate, {"note", "signedAt", "publicKey"}, where));
  ARCA_ASSIGN_OR_RETURN(std::string note, RequireString(st.predicate, "note", where));
  if (note.size() > 4096) return InvalidArgumentError(where + ".note is longer than 4096 bytes");
  ARCA_ASSIGN_OR_RETURN(std::string at, RequireString(st.predicate, "signedAt", where));
  ARCA_ASSIGN_OR_RETURN(UnixSeconds t, ParseRfc3339(at, where + ".signedAt"));
  ARCA_ASSIGN_OR_RETURN(std::string pem, RequireString(st.predicate, "publicKey", where));
  ARCA_ASSIGN_OR_RETURN(auto key, ParseDocumentKey(pem, where + ".publicKey"));
  return Countersign{std::move(note), t, std::move(key)};
}

}  // namespace arca::signer
