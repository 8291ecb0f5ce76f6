#include "signer/verify.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "signer/package_signing.h"

namespace arca::signer {
namespace {

std::string Short(const std::string& keyid) { return keyid.substr(0, 16); }

// HashPacks re-hashes every blob in `blobs` on `threads` threads and records
// one check per mismatch (or a single pass).
void HashPacks(const format::LoadedPackage& pkg, const std::vector<format::Descriptor>& blobs, const VerifyOptions& options,
               Verdict& verdict) {
  std::size_t threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, std::max<std::size_t>(1, blobs.size()));
  std::uint64_t total = 0;
  for (const auto& b : blobs) total += b.size;
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> done{0};
  std::mutex mu;
  std::vector<std::pair<std::string, Status>> failures;
  auto work = [&] {
    Bytes buf(4 << 20);
    for (std::size_t i = next++; i < blobs.size(); i = next++) {
      const format::Descriptor& d = blobs[i];
      Status s = [&]() -> Status {
        ARCA_ASSIGN_OR_RETURN(auto f, pkg.layout.OpenBlob(d));
        crypto::Sha256 h;
        for (std::uint64_t off = 0; off < d.size;) {
          std::size_t n = std::size_t(std::min<std::uint64_t>(buf.size(), d.size - off));
          ARCA_RETURN_IF_ERROR(f->ReadAt(off, std::span(buf.data(), n)));
          h.Update(ByteSpan(buf.data(), n));
          off += n;
          std::uint64_t now_done = done += n;
          if (options.progress) {
            std::lock_guard<std::mutex> lock(mu);
            options.progress(format::Progress{now_done, total});
          }
        }
        std::string got = "sha256:" + HexEncode(h.Finish());
        if (got != d.digest) return UnauthenticatedError("blob " + d.digest + " hashes to " + got + " (changed on disk)");
        return Status::Ok();
      }();
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        failures.emplace_back(d.digest, s);
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failures.empty()) {
    verdict.Pass("package.deep-hash", std::to_string(blobs.size()) + " blobs, " + std::to_string(total) + " bytes re-hashed");
    return;
  }
  std::sort(failures.begin(), failures.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [digest, s] : failures) verdict.Fail("package.deep-hash", s);
}

const DsseSignature* OnlySignature(const DsseEnvelope& env, const std::string& name, Verdict& verdict) {
  if (env.signatures.size() != 1) {
    verdict.Fail(name, InvalidArgumentError("envelope carries " + std::to_string(env.signatures.size()) +
                                            " signatures; Arca stores one per envelope"));
    return nullptr;
  }
  return &env.signatures[0];
}

// DecodeStatement parses an envelope's statement and checks type, predicate
// type and subject; records "<name>.statement" and "<name>.subject".
std::optional<Statement> DecodeStatement(const DsseEnvelope& env, std::string_view predicate_type,
                                         const PackageSubject& subject, const std::string& name, Verdict& verdict) {
  if (env.payload_type != kInTotoPayloadType) {
    verdict.Fail(name + ".statement", InvalidArgumentError("payloadType is \"" + env.payload_type.substr(0, 80) +
                                                           "\", expected " + std::string(kInTotoPayloadType)));
    return std::nullopt;
  }
  auto st = ParseStatement(env.payload);
  if (!st.ok()) {
    verdict.Fail(name + ".statement", st.status());
    return std::nullopt;
  }
  if (st->predicate_type != predicate_type) {
    verdict.Fail(name + ".statement", InvalidArgumentError("predicateType is \"" + st->predicate_type.substr(0, 80) +
                                                           "\", expected " + std::string(predicate_type)));
    return std::nullopt;
  }
  if (!verdict.Record(name + ".subject", CheckSubject(*st, subject), subject.manifest_digest)) return std::nullopt;
  return std::move(*st);
}

}  // namespace

std::map<std::string, KnownKey> KnownKeys(const std::vector<Root>& chain) {
  std::map<std::string, KnownKey> out;
  for (const Root& r : chain) {
    for (const auto& [id, key] : r.keys) {
      auto it = out.find(id);
      if (it == out.end()) out.emplace(id, KnownKey{key, r.version});
      else it->second.last_version = r.version;
    }
  }
  return out;
}

std::vector<std::string> CheckThresholdSignatures(const std::vector<const DsseEnvelope*>& envelopes,
                                                  const std::vector<Root>& chain, const std::string& prefix,
                                                  Verdict& verdict) {
  const Root& root = chain.back();
  auto known = KnownKeys(chain);
  std::vector<std::string> counted;
  std::size_t index = 0;
  for (const DsseEnvelope* env : envelopes) {
    for (const DsseSignature& sig : env->signatures) {
      std::string name = prefix + ".signature[" + std::to_string(index++) + "]";
      auto it = known.find(sig.keyid);
      if (it == known.end()) {
        verdict.Fail(name, UnauthenticatedError("signed by key " + Short(sig.keyid) + ", which no root version of " +
                                                root.namespace_name + " lists (unknown signer)"));
        continue;
      }
      Status s = VerifyDsseSignature(*env, sig, it->second.key);
      if (!s.ok()) {
        verdict.Fail(name, UnauthenticatedError("the signature of key " + Short(sig.keyid) +
                                                " does not verify: the envelope or its statement was altered"));
        continue;
      }
      if (!root.keys.contains(sig.keyid)) {
        verdict.Note(name, "valid signature by key " + Short(sig.keyid) + ", revoked after root version " +
                               std::to_string(it->second.last_version) + ": not counted");
        continue;
      }
      verdict.Pass(name, "key " + Short(sig.keyid) + " (" + std::string(crypto::KeyTypeName(it->second.key.type())) + ")");
      if (std::find(counted.begin(), counted.end(), sig.keyid) == counted.end()) counted.push_back(sig.keyid);
    }
  }
  std::string signers;
  for (const auto& id : counted) signers += (signers.empty() ? "" : ", ") + Short(id);
  if (counted.size() >= root.threshold) {
    verdict.Pass(prefix + ".threshold", std::to_string(counted.size()) + " distinct keys of root version " +
                                            std::to_string(root.version) + " (threshold " + std::to_string(root.threshold) +
                                            "): " + signers);
  } else {
    verdict.Fail(prefix + ".threshold",
                 UnauthenticatedError(std::to_string(counted.size()) + " distinct root keys signed, the threshold is " +
                                      std::to_string(root.threshold) + " of " + std::to_string(root.keys.size()) +
                                      (signers.empty() ? "" : " (signed: " + signers + ")")));
  }
  return counted;
}

std::optional<Policy> VerifyPolicyEnvelope(const DsseEnvelope& envelope, const std::vector<Root>& chain,
                                           const PackageSubject& subject, UnixSeconds now, Verdict& verdict) {
  auto st = DecodeStatement(envelope, kPolicyPredicateType, subject, "policy", verdict);
  if (!st) return std::nullopt;
  auto policy = PolicyFromStatement(*st);
  if (!verdict.Record("policy.predicate", policy.status())) return std::nullopt;
  if (policy->subject.name != subject.name || policy->subject.version != subject.version) {
    verdict.Fail("policy.subject", UnauthenticatedError("policy names " + policy->subject.name + ":" + policy->subject.version +
                                                        ", the package is " + subject.name + ":" + subject.version));
    return std::nullopt;
  }
  auto signers = CheckThresholdSignatures({&envelope}, chain, "policy", verdict);
  if (signers.size() < chain.back().threshold) return std::nullopt;
  if (policy->expires && *policy->expires <= now) {
    verdict.Fail("policy.expiry", FailedPreconditionError("policy version " + std::to_string(policy->version) + " expired at " +
                                                          FormatRfc3339(*policy->expires)));
    return std::nullopt;
  }
  verdict.Pass("policy.expiry", policy->expires ? "valid until " + FormatRfc3339(*policy->expires) : "does not expire");
  return std::move(*policy);
}

Verdict VerifyPackage(FileSystem& fs, const format::PackageRef& ref, const SignedRoot& trusted_root,
                      const VerifyOptions& options) {
  Verdict v;
  auto chain = WalkRootChain(trusted_root, options.root_updates, options.now, v);
  if (!chain.ok()) return v;
  const Root& root = chain->back();
  v.claims["root"] = {{"namespace", root.namespace_name}, {"version", root.version}, {"threshold", root.threshold}};

  auto loaded = format::LoadPackage(fs, ref);
  if (!v.Record("package.structure", loaded.status())) return v;
  format::LoadedPackage& pkg = *loaded;
  PackageSubject subject = SubjectOf(pkg.manifest, pkg.manifest_blob.digest);
  v.claims["name"] = subject.name;
  v.claims["version"] = subject.version;
  v.claims["manifest"] = subject.manifest_digest;
  v.Pass("package.structure", subject.name + ":" + subject.version + " manifest " + subject.manifest_digest);

  std::string ns = subject.name.substr(0, subject.name.find('/'));
  if (!v.Record("root.namespace",
                ns == root.namespace_name ? Status::Ok()
                                          : UnauthenticatedError("the package is in namespace \"" + ns + "\", the root is for \"" +
                                                                 root.namespace_name + "\""),
                ns)) {
    return v;
  }

  // Small blobs every time; packs' sizes every time, their hashes with --deep.
  const format::OciManifest& om = pkg.layout.manifest();
  v.Record("package.config", pkg.layout.ReadBlob(om.config, 4096).status(), om.config.digest);
  std::vector<format::Descriptor> packs(om.layers.begin() + 1, om.layers.begin() + 1 + std::ptrdiff_t(pkg.manifest.packs.size()));
  if (options.deep) {
    HashPacks(pkg, packs, options, v);
  } else if (options.metadata_only) {
    v.Note("package.packs-present", std::to_string(packs.size()) + " packs not checked here (verified by digest as they are downloaded)");
  } else {
    Status sizes = Status::Ok();
    for (const auto& p : packs) {
      auto f = pkg.layout.OpenBlob(p);
      if (!f.ok()) {
        sizes = f.status();
        break;
      }
    }
    v.Record("package.packs-present", sizes, std::to_string(packs.size()) + " packs of the declared sizes (--deep re-hashes them)");
  }

  // Roles the signer knows; anything else is refused rather than ignored.
  for (const auto& a : pkg.attachments) {
    std::string role = format::AttachmentRole(a);
    if (role != kRoleRelease && role != kRoleProvenance && role != kRolePolicy && role != kRoleCountersign) {
      v.Fail("attachments.roles", InvalidArgumentError("attachment " + a.digest + " has role \"" + role +
                                                       "\", unknown to this version of Arca"));
    }
  }

  // Release: one envelope per key; the threshold counts distinct root keys.
  auto releases = LoadEnvelopes(pkg, kRoleRelease);
  if (!v.Record("release.envelopes", releases.status())) return v;
  std::vector<const DsseEnvelope*> release_envs;
  for (std::size_t i = 0; i < releases->size(); ++i) {
    const DsseEnvelope& env = (*releases)[i].envelope;
    std::string name = "release[" + std::to_string(i) + "]";
    if (!OnlySignature(env, name + ".envelope", v)) continue;
    auto st = DecodeStatement(env, kReleasePredicateType, subject, name, v);
    if (!st) continue;
    release_envs.push_back(&env);
  }
  auto release_signers = CheckThresholdSignatures(release_envs, *chain, "release", v);
  v.claims["releaseSigners"] = release_signers;

  // Provenance: one statement, signed like a release; linked to the parent.
  auto provenances = LoadEnvelopes(pkg, kRoleProvenance);
  if (!v.Record("provenance.envelopes", provenances.status())) return v;
  if (provenances->empty()) {
    v.Note("provenance", "no provenance attached");
  } else {
    std::vector<const DsseEnvelope*> envs;
    bool same = true;
    for (const auto& p : *provenances) {
      same = same && p.envelope.payload == provenances->front().envelope.payload;
      if (OnlySignature(p.envelope, "provenance.envelope", v)) envs.push_back(&p.envelope);
    }
    if (!same) v.Fail("provenance.unique", InvalidArgumentError("provenance envelopes carry different statements"));
    auto st = DecodeStatement(provenances->front().envelope, kProvenancePredicateType, subject, "provenance", v);
    if (st) {
      auto facts = ParseProvenancePredicate(st->predicate);
      if (v.Record("provenance.predicate", facts.status(), facts.ok() ? facts->build_type : "")) {
        const auto& parent = pkg.manifest.parent;
        Status link = Status::Ok();
        if (parent != facts->base_model_digest) {
          link = UnauthenticatedError("provenance names base model " + facts->base_model_digest.value_or("(none)") +
                                      ", the manifest's parent is " + parent.value_or("(none)"));
        }
        v.Record("provenance.parent-link", link, parent ? "base model " + *parent : "no parent (a root model)");
        v.claims["provenance"] = st->predicate;
      }
      CheckThresholdSignatures(envs, *chain, "provenance", v);
    }
  }

  // Policy: at most one attached, threshold-signed, for this package, unexpired.
  auto policies = LoadEnvelopes(pkg, kRolePolicy);
  if (!v.Record("policy.envelopes", policies.status())) return v;
  if (policies->empty()) {
    v.Note("policy", "no release policy attached (the key broker will refuse to release keys)");
  } else if (policies->size() > 1) {
    v.Fail("policy.unique", InvalidArgumentError(std::to_string(policies->size()) + " policies attached; attach replaces, so this package was altered"));
  } else if (auto policy = VerifyPolicyEnvelope(policies->front().envelope, *chain, subject, options.now, v)) {
    v.claims["policy"] = {{"version", policy->version}, {"allowRules", policy->allow.size()}, {"revoked", policy->revoked.size()}};
    v.Pass("policy.version", "version " + std::to_string(policy->version));
  }

  // Countersignatures: integrity always, trust only for keys the caller named.
  auto counters = LoadEnvelopes(pkg, kRoleCountersign);
  if (!v.Record("countersign.envelopes", counters.status())) return v;
  for (std::size_t i = 0; i < counters->size(); ++i) {
    const DsseEnvelope& env = (*counters)[i].envelope;
    std::string name = "countersign[" + std::to_string(i) + "]";
    const DsseSignature* sig = OnlySignature(env, name + ".envelope", v);
    auto st = DecodeStatement(env, kCountersignPredicateType, subject, name, v);
    if (!sig || !st) continue;
    auto c = CountersignFromStatement(*st);
    if (!v.Record(name + ".predicate", c.status())) continue;
    if (!v.Record(name + ".signature", VerifyDsseSignature(env, *sig, c->key), "key " + Short(c->key.KeyId()))) continue;
    bool trusted = std::any_of(options.countersigners.begin(), options.countersigners.end(),
                               [&](const crypto::PublicKey& k) { return k.KeyId() == c->key.KeyId(); });
    std::string what = "by " + Short(c->key.KeyId()) + " at " + FormatRfc3339(c->signed_at) + ": \"" + c->note.substr(0, 200) + "\"";
    if (trusted) v.Pass(name + ".trusted", what);
    else v.Note(name, what + " (key not among --countersigner keys: integrity checked, signer not vouched for)");
  }
  for (const auto& pk : options.countersigners) {
    bool found = false;
    for (const auto& c : *counters) {
      auto st = ParseStatement(c.envelope.payload);
      if (!st.ok()) continue;
      auto cs = CountersignFromStatement(*st);
      found = found || (cs.ok() && cs->key.KeyId() == pk.KeyId());
    }
    if (!found) v.Fail("countersign.required", UnauthenticatedError("no countersignature by " + Short(pk.KeyId())));
  }
  return v;
}

}  // namespace arca::signer
