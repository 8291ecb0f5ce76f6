#include "signer/package_signing.h"

#include <algorithm>

namespace arca::signer {

format::Attachment EnvelopeAttachment(std::string_view role, const DsseEnvelope& envelope) {
  std::string text = SerializeDsseEnvelope(envelope);
  return format::Attachment{std::string(role), Bytes(text.begin(), text.end())};
}

Result<DsseEnvelope> SignStatement(Signer& signer, const Statement& statement) {
  ARCA_ASSIGN_OR_RETURN(std::string payload, SerializeStatement(statement));
  DsseEnvelope env{std::string(kInTotoPayloadType), Bytes(payload.begin(), payload.end()), {}};
  ARCA_ASSIGN_OR_RETURN(DsseSignature sig, SignDsse(signer, env.payload_type, env.payload));
  env.signatures.push_back(std::move(sig));
  return env;
}

format::AttachFn SealAttachments(std::vector<Signer*> signers, std::optional<ProvenanceInput> provenance) {
  return [signers, provenance](const format::Manifest& m, const std::string& digest) -> Result<std::vector<format::Attachment>> {
    PackageSubject subject = SubjectOf(m, digest);
    std::vector<format::Attachment> out;
    Statement release = MakeReleaseStatement(subject, m.parent);
    std::optional<Statement> prov;
    if (provenance) {
      ProvenanceInput in = *provenance;
      in.base_model_digest = m.parent;
      prov = MakeProvenanceStatement(subject, in);
    }
    for (Signer* s : signers) {
      ARCA_ASSIGN_OR_RETURN(DsseEnvelope env, SignStatement(*s, release));
      out.push_back(EnvelopeAttachment(kRoleRelease, env));
      if (prov) {
        ARCA_ASSIGN_OR_RETURN(DsseEnvelope penv, SignStatement(*s, *prov));
        out.push_back(EnvelopeAttachment(kRoleProvenance, penv));
      }
    }
    return out;
  };
}

Result<std::vector<LoadedEnvelope>> LoadEnvelopes(const format::LoadedPackage& pkg, std::string_view role) {
  std::vector<LoadedEnvelope> out;
  for (const auto& d : pkg.attachments) {
    if (format::AttachmentRole(d) != role) continue;
    ARCA_ASSIGN_OR_RETURN(Bytes bytes, pkg.layout.ReadBlob(d, format::kMaxAttachmentBytes));
    auto env = ParseDsseEnvelope(bytes);
    if (!env.ok()) return env.status().WithContext(std::string(role) + " attachment " + d.digest);
    out.push_back(LoadedEnvelope{d, std::move(*env)});
  }
  return out;
}

namespace {

bool SignedBy(const std::vector<LoadedEnvelope>& envs, const std::string& keyid) {
  for (const auto& e : envs)
    for (const auto& s : e.envelope.signatures)
      if (s.keyid == keyid) return true;
  return false;
}

}  // namespace

Result<SignReport> SignPackage(FileSystem& fs, const format::PackageRef& ref, const std::vector<Signer*>& signers) {
  ARCA_ASSIGN_OR_RETURN(format::LoadedPackage pkg, format::LoadPackage(fs, ref));
  PackageSubject subject = SubjectOf(pkg.manifest, pkg.manifest_blob.digest);
  ARCA_ASSIGN_OR_RETURN(auto releases, LoadEnvelopes(pkg, kRoleRelease));
  ARCA_ASSIGN_OR_RETURN(auto provenances, LoadEnvelopes(pkg, kRoleProvenance));
  std::optional<Bytes> prov_payload;
  for (const auto& p : provenances) {
    if (prov_payload && *prov_payload != p.envelope.payload) {
      return InvalidArgumentError("the package's provenance envelopes carry different statements; refusing to pick one to sign");
    }
    prov_payload = p.envelope.payload;
  }
  if (prov_payload) {
    // Sign only a provenance that is about this package.
    ARCA_ASSIGN_OR_RETURN(Statement st, ParseStatement(*prov_payload));
    ARCA_RETURN_IF_ERROR(CheckSubject(st, subject));
  }
  Statement release = MakeReleaseStatement(subject, pkg.manifest.parent);
  SignReport report;
  std::vector<format::Attachment> add;
  for (Signer* s : signers) {
    std::string id = s->KeyId();
    if (SignedBy(releases, id)) {
      report.skipped.push_back("release by " + id);
    } else {
      ARCA_ASSIGN_OR_RETURN(DsseEnvelope env, SignStatement(*s, release));
      add.push_back(EnvelopeAttachment(kRoleRelease, env));
      report.added.push_back("release by " + id);
    }
    if (!prov_payload) continue;
    if (SignedBy(provenances, id)) {
      report.skipped.push_back("provenance by " + id);
      continue;
    }
    DsseEnvelope penv{std::string(kInTotoPayloadType), *prov_payload, {}};
    ARCA_ASSIGN_OR_RETURN(DsseSignature sig, SignDsse(*s, penv.payload_type, penv.payload));
    penv.signatures.push_back(std::move(sig));
    add.push_back(EnvelopeAttachment(kRoleProvenance, penv));
    report.added.push_back("provenance by " + id);
  }
  if (!add.empty()) ARCA_RETURN_IF_ERROR(format::UpdateAttachments(fs, pkg, add));
  return report;
}

Status CountersignPackage(FileSystem& fs, const format::PackageRef& ref, Signer& signer, const std::string& note,
                          UnixSeconds now) {
  if (note.size() > 4096) return InvalidArgumentError("the note is longer than 4096 bytes");
  ARCA_ASSIGN_OR_RETURN(format::LoadedPackage pkg, format::LoadPackage(fs, ref));
  PackageSubject subject = SubjectOf(pkg.manifest, pkg.manifest_blob.digest);
  Statement st = MakeCountersignStatement(subject, Countersign{note, now, signer.public_key()});
  ARCA_ASSIGN_OR_RETURN(DsseEnvelope env, SignStatement(signer, st));
  return format::UpdateAttachments(fs, pkg, {EnvelopeAttachment(kRoleCountersign, env)});
}

Result<Policy> DecodePolicyEnvelope(const DsseEnvelope& envelope) {
  if (envelope.payload_type != kInTotoPayloadType) {
    return InvalidArgumentError("policy envelope payloadType is \"" + envelope.payload_type.substr(0, 80) + "\", expected " +
                                std::string(kInTotoPayloadType));
  }
  ARCA_ASSIGN_OR_RETURN(Statement st, ParseStatement(envelope.payload));
  return PolicyFromStatement(st);
}

Result<std::uint64_t> AttachPolicy(FileSystem& fs, const format::PackageRef& ref, const DsseEnvelope& policy) {
  ARCA_ASSIGN_OR_RETURN(Policy incoming, DecodePolicyEnvelope(policy));
  if (policy.signatures.empty()) return InvalidArgumentError("the policy is not signed: run arca policy sign first");
  ARCA_ASSIGN_OR_RETURN(format::LoadedPackage pkg, format::LoadPackage(fs, ref));
  PackageSubject subject = SubjectOf(pkg.manifest, pkg.manifest_blob.digest);
  if (incoming.subject.manifest_digest != subject.manifest_digest) {
    return InvalidArgumentError("the policy is for " + incoming.subject.manifest_digest + " (" + incoming.subject.name + ":" +
                                incoming.subject.version + "), not this package " + subject.manifest_digest);
  }
  ARCA_ASSIGN_OR_RETURN(auto attached, LoadEnvelopes(pkg, kRolePolicy));
  std::vector<std::string> remove;
  std::string text = SerializeDsseEnvelope(policy);
  for (const auto& a : attached) {
    auto old = DecodePolicyEnvelope(a.envelope);
    if (old.ok() && old->version > incoming.version) {
      return FailedPreconditionError("the package already carries policy version " + std::to_string(old->version) +
                                     "; an older one (version " + std::to_string(incoming.version) + ") never replaces it");
    }
    if (old.ok() && old->version == incoming.version && SerializeDsseEnvelope(a.envelope) != text &&
        a.envelope.payload != policy.payload) {
      return FailedPreconditionError("the package carries a different policy with the same version " +
                                     std::to_string(incoming.version) + "; bump the version (any policy edit does)");
    }
    remove.push_back(a.descriptor.digest);
  }
  ARCA_RETURN_IF_ERROR(format::UpdateAttachments(fs, pkg, {EnvelopeAttachment(kRolePolicy, policy)}, remove));
  return incoming.version;
}

}  // namespace arca::signer
