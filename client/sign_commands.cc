#include "client/sign_commands.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "base/bytes.h"
#include "base/crypto.h"
#include "base/file_system.h"
#include "base/time.h"
#include "base/verdict.h"
#include "client/attest_commands.h"
#include "client/output.h"
#include "distribution/store.h"
#include "signer/documents.h"
#include "signer/dsse.h"
#include "signer/package_signing.h"
#include "signer/root.h"
#include "signer/verify.h"

namespace arca::client {
namespace {

using signer::DsseEnvelope;
using signer::Policy;
using signer::SignedRoot;

struct Options {
  std::string output;
  std::string package;
  std::string file;
  std::string type = "ed25519";
  bool encrypt = false;
  std::string key;
  std::vector<std::string> keys;
  std::vector<std::string> remove_keys;
  std::vector<std::string> sign;
  std::string namespace_name;
  std::uint64_t threshold = 0;
  std::string expires;
  std::string root;
  std::vector<std::string> root_updates;
  std::vector<std::string> countersigners;
  bool deep = false;
  std::string time;
  std::size_t threads = 0;
  std::string note;
  std::string platform;
  std::string measurement;
  std::string min_tcb;
  std::string role = "release";
  bool allow_debug = false;
  bool require_gpu_cc = false;
  std::string evidence_file;
  EvidenceFlags evidence;
  bool json = false;
};

std::string Short(const std::string& keyid) { return keyid.substr(0, 16); }

Result<Bytes> ReadSmallFile(const std::string& path, std::uint64_t max_bytes = 1 << 20) {
  auto b = ReadFileBounded(FileSystem::Default(), path, max_bytes);
  if (!b.ok()) return b.status().WithContext(path);
  return b;
}

Status WriteText(const std::string& path, const std::string& text, bool exclusive, std::uint32_t mode = 0644) {
  Status s = WriteFileAtomic(FileSystem::Default(), path, AsBytes(text), mode, exclusive);
  return s.ok() ? s : s.WithContext(path);
}

Result<UnixSeconds> TimeOption(const std::string& text) {
  if (text.empty()) return NowUnixSeconds();
  return ParseDateOrTime(text, "--time");
}

signer::PassphraseFn Passphrases() { return [](const std::string& ref) { return PassphraseFromEnvironment(ref); }; }

Result<std::vector<std::unique_ptr<signer::Signer>>> LoadSigners(const std::vector<std::string>& refs) {
  std::vector<std::unique_ptr<signer::Signer>> out;
  for (const auto& r : refs) {
    ARCA_ASSIGN_OR_RETURN(auto s, signer::LoadSigner(FileSystem::Default(), r, Passphrases()));
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<signer::Signer*> Raw(const std::vector<std::unique_ptr<signer::Signer>>& v) {
  std::vector<signer::Signer*> out;
  for (const auto& s : v) out.push_back(s.get());
  return out;
}

Result<SignedRoot> LoadRoot(const std::string& path) {
  ARCA_ASSIGN_OR_RETURN(Bytes b, ReadSmallFile(path, signer::kMaxRootBytes));
  auto r = signer::ParseRoot(b);
  if (!r.ok()) return r.status().WithContext(path);
  return r;
}

Result<DsseEnvelope> LoadPolicyFile(const std::string& path) {
  ARCA_ASSIGN_OR_RETURN(Bytes b, ReadSmallFile(path));
  auto env = signer::ParseDsseEnvelope(b);
  if (!env.ok()) return env.status().WithContext(path);
  auto pol = signer::DecodePolicyEnvelope(*env);
  if (!pol.ok()) return pol.status().WithContext(path);
  return env;
}

Result<DsseEnvelope> PolicyEnvelope(const Policy& p) {
  ARCA_ASSIGN_OR_RETURN(std::string payload, signer::SerializeStatement(signer::PolicyToStatement(p)));
  return DsseEnvelope{std::string(signer::kInTotoPayloadType), Bytes(payload.begin(), payload.end()), {}};
}

Json PolicyJson(const Policy& p, const DsseEnvelope& env) {
  Json allow = Json::array();
  for (const auto& r : p.allow) allow.push_back({{"platform", r.platform}, {"measurement", r.measurement}, {"minTcb", r.min_tcb}});
  Json sigs = Json::array();
  for (const auto& s : env.signatures) sigs.push_back(s.keyid);
  Json j = {{"package", p.subject.name + ":" + p.subject.version}, {"manifestDigest", p.subject.manifest_digest},
            {"version", p.version}, {"allow", allow}, {"revoked", p.revoked}, {"allowDebug", p.allow_debug},
            {"requireGpuConfidentialMode", p.require_gpu_cc}, {"signedBy", sigs}};
  j["expires"] = p.expires ? Json(FormatRfc3339(*p.expires)) : Json(nullptr);
  return j;
}

// --- key

int KeyNew(const Options& o) {
  crypto::KeyType type;
  if (o.type == "ed25519") type = crypto::KeyType::kEd25519;
  else if (o.type == "ecdsa-p256") type = crypto::KeyType::kEcdsaP256Sha256;
  else if (o.type == "ecdsa-p384") type = crypto::KeyType::kEcdsaP384Sha384;
  else return ReportError(InvalidArgumentError("--type must be ed25519, ecdsa-p256 or ecdsa-p384"), o.json);
  auto key = crypto::PrivateKey::Generate(type);
  if (!key.ok()) return ReportError(key.status(), o.json);
  std::optional<SecretBytes> pass;
  if (o.encrypt) {
    pass = PassphraseFromEnvironment(o.output);
    if (!pass || pass->empty()) {
      return ReportError(InvalidArgumentError("--encrypt needs a passphrase: set ARCA_KEY_PASSPHRASE_FILE or run on a terminal"), o.json);
    }
  }
  std::string_view pass_text;
  if (pass) pass_text = {reinterpret_cast<const char*>(pass->Expose().data()), pass->size()};
  auto pem = pass ? key->ToPem(pass_text) : key->ToPem();
  if (!pem.ok()) return ReportError(pem.status(), o.json);
  Status s = WriteFileAtomic(FileSystem::Default(), o.output, pem->Expose(), 0600, /*exclusive=*/true);
  if (!s.ok()) return ReportError(s, o.json);
  std::string id = key->public_key().KeyId();
  if (o.json) PrintJson({{"path", o.output}, {"type", o.type}, {"keyid", id}, {"encrypted", o.encrypt}});
  else std::printf("wrote %s key %s (mode 0600%s), key id %s\npublic key: arca key pub %s\n", o.type.c_str(), o.output.c_str(),
                   o.encrypt ? ", passphrase-encrypted" : "", id.c_str(), o.output.c_str());
  return 0;
}

int KeyPub(const Options& o) {
  auto key = signer::LoadPublicKey(FileSystem::Default(), o.key, Passphrases());
  if (!key.ok()) return ReportError(key.status(), o.json);
  if (o.json) PrintJson({{"keyid", key->KeyId()}, {"type", crypto::KeyTypeName(key->type())}, {"pem", key->ToPem()}});
  else std::fputs(key->ToPem().c_str(), stdout);
  return 0;
}

// --- root

void PrintRootStatus(const SignedRoot& r, const std::optional<signer::Root>& previous) {
  auto self = signer::RootSigners(r, r.root);
  std::size_t have = self.ok() ? self->size() : 0;
  std::printf("root %s version %llu: %zu keys, threshold %llu; signed by %zu of its keys\n", r.root.namespace_name.c_str(),
              static_cast<unsigned long long>(r.root.version), r.root.keys.size(),
              static_cast<unsigned long long>(r.root.threshold), have);
  if (have < r.root.threshold) {
    std::printf("  needs %llu more signature(s) from its own keys: arca root sign FILE --key KEY\n",
                static_cast<unsigned long long>(r.root.threshold - have));
  }
  if (previous) {
    auto old = signer::RootSigners(r, *previous);
    std::size_t n = old.ok() ? old->size() : 0;
    if (n < previous->threshold) {
      std::printf("  needs %llu more signature(s) from version %llu's keys (the rotation rule)\n",
                  static_cast<unsigned long long>(previous->threshold - n), static_cast<unsigned long long>(previous->version));
    }
  }
}

Result<std::map<std::string, crypto::PublicKey>> LoadKeySet(const std::vector<std::string>& refs) {
  std::map<std::string, crypto::PublicKey> keys;
  for (const auto& r : refs) {
    ARCA_ASSIGN_OR_RETURN(crypto::PublicKey k, signer::LoadPublicKey(FileSystem::Default(), r, Passphrases()));
    std::string id = k.KeyId();
    if (!keys.emplace(id, std::move(k)).second) return InvalidArgumentError(r + " lists key " + Short(id) + " a second time");
  }
  return keys;
}

Status SignAndWriteRoot(SignedRoot& root, const Options& o, bool exclusive, const std::string& path) {
  ARCA_ASSIGN_OR_RETURN(auto signers, LoadSigners(o.sign));
  for (auto& s : signers) ARCA_RETURN_IF_ERROR(signer::SignRoot(*s, root));
  ARCA_ASSIGN_OR_RETURN(std::string text, signer::SerializeRoot(root));
  return WriteText(path, text + "\n", exclusive);
}

int RootInit(const Options& o) {
  SignedRoot r;
  r.root.namespace_name = o.namespace_name;
  r.root.version = 1;
  auto keys = LoadKeySet(o.keys);
  if (!keys.ok()) return ReportError(keys.status(), o.json);
  r.root.keys = std::move(*keys);
  r.root.threshold = o.threshold;
  if (!o.expires.empty()) {
    auto e = ParseDateOrTime(o.expires, "--expires");
    if (!e.ok()) return ReportError(e.status(), o.json);
    r.root.expires = *e;
  }
  if (Status s = signer::ValidateRoot(r.root); !s.ok()) return ReportError(s, o.json);
  if (Status s = SignAndWriteRoot(r, o, /*exclusive=*/true, o.output); !s.ok()) return ReportError(s, o.json);
  if (o.json) PrintJson({{"path", o.output}, {"namespace", r.root.namespace_name}, {"version", 1}, {"keys", r.root.keys.size()}, {"threshold", r.root.threshold}, {"signatures", r.signatures.size()}});
  else {
    std::printf("wrote %s\n", o.output.c_str());
    PrintRootStatus(r, std::nullopt);
  }
  return 0;
}

int RootRotate(const Options& o) {
  auto old = LoadRoot(o.file);
  if (!old.ok()) return ReportError(old.status(), o.json);
  SignedRoot r;
  r.root = old->root;
  r.root.version = old->root.version + 1;
  auto add = LoadKeySet(o.keys);
  auto remove = LoadKeySet(o.remove_keys);
  if (!add.ok()) return ReportError(add.status(), o.json);
  if (!remove.ok()) return ReportError(remove.status(), o.json);
  for (auto& [id, k] : *add) r.root.keys.insert_or_assign(id, k);
  for (auto& [id, k] : *remove) {
    if (r.root.keys.erase(id) == 0) return ReportError(InvalidArgumentError("--remove-key " + Short(id) + " is not in the root"), o.json);
  }
  if (o.threshold) r.root.threshold = o.threshold;
  if (!o.expires.empty()) {
    auto e = ParseDateOrTime(o.expires, "--expires");
    if (!e.ok()) return ReportError(e.status(), o.json);
    r.root.expires = *e;
  }
  if (Status s = signer::ValidateRoot(r.root); !s.ok()) return ReportError(s, o.json);
  if (Status s = SignAndWriteRoot(r, o, /*exclusive=*/true, o.output); !s.ok()) return ReportError(s, o.json);
  if (o.json) PrintJson({{"path", o.output}, {"version", r.root.version}, {"keys", r.root.keys.size()}, {"threshold", r.root.threshold}});
  else {
    std::printf("wrote %s\n", o.output.c_str());
    PrintRootStatus(r, old->root);
  }
  return 0;
}

int RootSign(const Options& o) {
  auto r = LoadRoot(o.file);
  if (!r.ok()) return ReportError(r.status(), o.json);
  Options with = o;
  with.sign = {o.key};
  if (Status s = SignAndWriteRoot(*r, with, /*exclusive=*/false, o.file); !s.ok()) return ReportError(s, o.json);
  if (o.json) PrintJson({{"path", o.file}, {"signatures", r->signatures.size()}});
  else PrintRootStatus(*r, std::nullopt);
  return 0;
}

void PrintVerdict(const Verdict& v) {
  for (const auto& c : v.checks()) std::printf("  %-4s %-34s %s\n", c.passed ? "ok" : "FAIL", c.name.c_str(), c.detail.c_str());
  for (const auto& n : v.notes()) std::printf("  %-4s %-34s %s\n", "note", n.name.c_str(), n.detail.c_str());
}

Result<std::vector<SignedRoot>> LoadRootUpdates(const std::vector<std::string>& paths) {
  std::vector<SignedRoot> out;
  for (const auto& p : paths) {
    ARCA_ASSIGN_OR_RETURN(SignedRoot r, LoadRoot(p));
    out.push_back(std::move(r));
  }
  return out;
}

int RootVerify(const Options& o) {
  auto trusted = LoadRoot(o.file);
  if (!trusted.ok()) return ReportError(trusted.status(), o.json);
  auto updates = LoadRootUpdates(o.root_updates);
  if (!updates.ok()) return ReportError(updates.status(), o.json);
  auto now = TimeOption(o.time);
  if (!now.ok()) return ReportError(now.status(), o.json);
  Verdict v;
  auto chain = signer::WalkRootChain(*trusted, *updates, *now, v);
  if (chain.ok()) v.claims = {{"namespace", chain->back().namespace_name}, {"version", chain->back().version}};
  if (o.json) PrintJson(v.ToJson());
  else PrintVerdict(v);
  if (!v.ok()) return ReportError(v.status(), false);
  if (!o.json) std::printf("root chain verified up to version %llu\n", static_cast<unsigned long long>(chain->back().version));
  return 0;
}

int RootShow(const Options& o) {
  auto r = LoadRoot(o.file);
  if (!r.ok()) return ReportError(r.status(), o.json);
  Json keys = Json::array();
  for (const auto& [id, k] : r->root.keys) keys.push_back({{"keyid", id}, {"type", crypto::KeyTypeName(k.type())}});
  Json sigs = Json::array();
  for (const auto& s : r->signatures) sigs.push_back(s.keyid);
  Json j = {{"namespace", r->root.namespace_name}, {"version", r->root.version}, {"threshold", r->root.threshold},
            {"keys", keys}, {"signedBy", sigs}};
  j["expires"] = r->root.expires ? Json(FormatRfc3339(*r->root.expires)) : Json(nullptr);
  if (o.json) {
    PrintJson(j);
    return 0;
  }
  std::printf("namespace  %s\nversion    %llu\nthreshold  %llu of %zu\nexpires    %s\n", r->root.namespace_name.c_str(),
              static_cast<unsigned long long>(r->root.version), static_cast<unsigned long long>(r->root.threshold),
              r->root.keys.size(), r->root.expires ? FormatRfc3339(*r->root.expires).c_str() : "never");
  for (const auto& [id, k] : r->root.keys) std::printf("key        %s  %s\n", id.c_str(), std::string(crypto::KeyTypeName(k.type())).c_str());
  for (const auto& s : r->signatures) std::printf("signed by  %s\n", s.keyid.c_str());
  return 0;
}

// --- package signing

int SignCmd(const Options& o) {
  auto signers = LoadSigners(o.keys);
  if (!signers.ok()) return ReportError(signers.status(), o.json);
  auto r = signer::SignPackage(FileSystem::Default(), format::ParsePackageRef(o.package), Raw(*signers));
  if (!r.ok()) return ReportError(r.status(), o.json);
  if (o.json) PrintJson({{"package", o.package}, {"added", r->added}, {"alreadyPresent", r->skipped}});
  else {
    for (const auto& a : r->added) std::printf("signed: %s\n", a.c_str());
    for (const auto& a : r->skipped) std::printf("already signed: %s\n", a.c_str());
  }
  return 0;
}

int CountersignCmd(const Options& o) {
  auto s = signer::LoadSigner(FileSystem::Default(), o.key, Passphrases());
  if (!s.ok()) return ReportError(s.status(), o.json);
  Status st = signer::CountersignPackage(FileSystem::Default(), format::ParsePackageRef(o.package), **s, o.note, NowUnixSeconds());
  if (!st.ok()) return ReportError(st, o.json);
  if (o.json) PrintJson({{"package", o.package}, {"countersignedBy", (*s)->KeyId()}});
  else std::printf("countersigned %s with key %s\n", o.package.c_str(), (*s)->KeyId().c_str());
  return 0;
}

int VerifyCmd(const Options& o) {
  auto trusted = LoadRoot(o.root);
  if (!trusted.ok()) return ReportError(trusted.status(), o.json);
  signer::VerifyOptions vo;
  auto updates = LoadRootUpdates(o.root_updates);
  if (!updates.ok()) return ReportError(updates.status(), o.json);
  vo.root_updates = std::move(*updates);
  auto now = TimeOption(o.time);
  if (!now.ok()) return ReportError(now.status(), o.json);
  vo.now = *now;
  vo.deep = o.deep;
  vo.threads = o.threads;
  for (const auto& c : o.countersigners) {
    auto k = signer::LoadPublicKey(FileSystem::Default(), c, Passphrases());
    if (!k.ok()) return ReportError(k.status(), o.json);
    vo.countersigners.push_back(std::move(*k));
  }
  ProgressPrinter progress("hashing");
  if (o.deep) vo.progress = progress.Callback();
  // DIR[:REF], where REF may itself hold '/' and ':' in a package store.
  Verdict v = signer::VerifyPackage(FileSystem::Default(), distribution::ResolveStoreRef(FileSystem::Default(), o.package), *trusted, vo);
  if (o.json) PrintJson(v.ToJson());
  else PrintVerdict(v);
  if (!v.ok()) {
    if (!o.json) std::fprintf(stderr, "arca: %s is NOT verified\n", o.package.c_str());
    return ReportError(v.status(), false);
  }
  if (!o.json) {
    std::printf("verified %s:%s (manifest %s)\n", v.claims["name"].get<std::string>().c_str(),
                v.claims["version"].get<std::string>().c_str(), v.claims["manifest"].get<std::string>().c_str());
  }
  return 0;
}

// --- policy

Result<std::map<std::string, std::uint64_t>> ParseMinTcb(const std::string& text) {
  std::map<std::string, std::uint64_t> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    std::size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) return InvalidArgumentError("--min-tcb wants NAME=NUMBER[,NAME=NUMBER...], got \"" + item + "\"");
    std::string num = item.substr(eq + 1);
    if (num.empty() || num.size() > 10 || num.find_first_not_of("0123456789") != std::string::npos) {
      return InvalidArgumentError("--min-tcb " + item.substr(0, eq) + " must be a decimal number");
    }
    out[item.substr(0, eq)] = std::stoull(num);
    start = end + 1;
  }
  return out;
}

Status SavePolicy(const std::string& path, const Policy& p, bool exclusive) {
  ARCA_ASSIGN_OR_RETURN(DsseEnvelope env, PolicyEnvelope(p));
  return WriteText(path, signer::SerializeDsseEnvelope(env) + "\n", exclusive);
}

int PolicyNew(const Options& o) {
  auto pkg = format::LoadPackage(FileSystem::Default(), distribution::ResolveStoreRef(FileSystem::Default(), o.package));
  if (!pkg.ok()) return ReportError(pkg.status(), o.json);
  Policy p;
  p.subject = signer::SubjectOf(pkg->manifest, pkg->manifest_blob.digest);
  // Continue the numbering of a policy already attached, so attach accepts it.
  auto attached = signer::LoadEnvelopes(*pkg, signer::kRolePolicy);
  if (!attached.ok()) return ReportError(attached.status(), o.json);
  for (const auto& a : *attached) {
    auto old = signer::DecodePolicyEnvelope(a.envelope);
    if (old.ok()) p.version = std::max(p.version, old->version + 1);
  }
  UnixSeconds now = NowUnixSeconds();
  if (o.expires.empty()) {
    p.expires = now + 365 * 86400;  // a policy that never expires can be replayed forever (freeze)
  } else if (o.expires != "never") {
    auto e = ParseDateOrTime(o.expires, "--expires");
    if (!e.ok()) return ReportError(e.status(), o.json);
    if (*e <= now) return ReportError(InvalidArgumentError("--expires " + o.expires + " is in the past"), o.json);
    p.expires = *e;
  }
  p.allow_debug = o.allow_debug;
  p.require_gpu_cc = o.require_gpu_cc;
  if (Status s = SavePolicy(o.output, p, /*exclusive=*/true); !s.ok()) return ReportError(s, o.json);
  if (o.json) PrintJson({{"path", o.output}, {"version", p.version}, {"manifestDigest", p.subject.manifest_digest}});
  else std::printf("wrote policy version %llu for %s:%s (%s) to %s; nothing is allowed yet: arca policy allow\n",
                   static_cast<unsigned long long>(p.version), p.subject.name.c_str(), p.subject.version.c_str(),
                   p.subject.manifest_digest.c_str(), o.output.c_str());
  return 0;
}

// EditPolicy loads, applies `edit`, bumps the version, drops signatures
// (they covered the old text) and saves.
int EditPolicy(const Options& o, const std::function<Status(Policy&)>& edit, const char* what) {
  auto env = LoadPolicyFile(o.file);
  if (!env.ok()) return ReportError(env.status(), o.json);
  auto p = signer::DecodePolicyEnvelope(*env);
  if (!p.ok()) return ReportError(p.status(), o.json);
  if (Status s = edit(*p); !s.ok()) return ReportError(s, o.json);
  p->version += 1;
  if (Status s = SavePolicy(o.file, *p, /*exclusive=*/false); !s.ok()) return ReportError(s, o.json);
  if (o.json) PrintJson({{"path", o.file}, {"version", p->version}, {"signaturesRemoved", env->signatures.size()}});
  else {
    std::printf("%s; policy is now version %llu\n", what, static_cast<unsigned long long>(p->version));
    if (!env->signatures.empty()) std::printf("removed %zu signature(s) over the old version: sign it again\n", env->signatures.size());
  }
  return 0;
}

int PolicyAllow(const Options& o) {
  Status valid = signer::ValidatePlatformMeasurement(o.platform, o.measurement);
  if (!valid.ok()) return ReportError(valid, o.json);
  auto tcb = ParseMinTcb(o.min_tcb);
  if (!tcb.ok()) return ReportError(tcb.status(), o.json);
  std::string what = "allowed " + o.platform + " measurement " + o.measurement.substr(0, 16) + "…";
  return EditPolicy(o, [&](Policy& p) {
    std::erase_if(p.allow, [&](const signer::PolicyRule& r) { return r.platform == o.platform && r.measurement == o.measurement; });
    std::erase(p.revoked, o.measurement);
    p.allow.push_back(signer::PolicyRule{o.platform, o.measurement, *tcb});
    return Status::Ok();
  }, what.c_str());
}

int PolicyRevoke(const Options& o) {
  if (!IsLowerHex(o.measurement, 64) && !IsLowerHex(o.measurement, 96)) {
    return ReportError(InvalidArgumentError("--measurement must be 64 or 96 lower-case hex digits"), o.json);
  }
  std::string what = "revoked measurement " + o.measurement.substr(0, 16) + "…";
  return EditPolicy(o, [&](Policy& p) {
    std::erase_if(p.allow, [&](const signer::PolicyRule& r) { return r.measurement == o.measurement; });
    if (std::find(p.revoked.begin(), p.revoked.end(), o.measurement) == p.revoked.end()) p.revoked.push_back(o.measurement);
    return Status::Ok();
  }, what.c_str());
}

int PolicyShow(const Options& o) {
  auto env = LoadPolicyFile(o.file);
  if (!env.ok()) return ReportError(env.status(), o.json);
  auto p = signer::DecodePolicyEnvelope(*env);
  if (!p.ok()) return ReportError(p.status(), o.json);
  Json j = PolicyJson(*p, *env);
  if (o.json) {
    PrintJson(j);
    return 0;
  }
  std::printf("policy     version %llu for %s:%s\nmanifest   %s\nexpires    %s\ndebug      %s\ngpu cc     %s\n",
              static_cast<unsigned long long>(p->version), p->subject.name.c_str(), p->subject.version.c_str(),
              p->subject.manifest_digest.c_str(), p->expires ? FormatRfc3339(*p->expires).c_str() : "never",
              p->allow_debug ? "allowed" : "refused", p->require_gpu_cc ? "required" : "not required");
  for (const auto& r : p->allow) {
    std::string tcb;
    for (const auto& [k, v] : r.min_tcb) tcb += (tcb.empty() ? " min-tcb " : ",") + k + "=" + std::to_string(v);
    std::printf("allow      %s %s%s\n", r.platform.c_str(), r.measurement.c_str(), tcb.c_str());
  }
  for (const auto& m : p->revoked) std::printf("revoked    %s\n", m.c_str());
  for (const auto& s : env->signatures) std::printf("signed by  %s\n", s.keyid.c_str());
  if (env->signatures.empty()) std::printf("signed by  nobody yet (arca policy sign)\n");
  return 0;
}

int PolicySign(const Options& o) {
  auto env = LoadPolicyFile(o.file);
  if (!env.ok()) return ReportError(env.status(), o.json);
  auto s = signer::LoadSigner(FileSystem::Default(), o.key, Passphrases());
  if (!s.ok()) return ReportError(s.status(), o.json);
  auto sig = signer::SignDsse(**s, env->payload_type, env->payload);
  if (!sig.ok()) return ReportError(sig.status(), o.json);
  std::erase_if(env->signatures, [&](const signer::DsseSignature& x) { return x.keyid == sig->keyid; });
  env->signatures.push_back(std::move(*sig));
  std::sort(env->signatures.begin(), env->signatures.end(), [](const auto& a, const auto& b) { return a.keyid < b.keyid; });
  if (Status st = WriteText(o.file, signer::SerializeDsseEnvelope(*env) + "\n", false); !st.ok()) return ReportError(st, o.json);
  if (o.json) PrintJson({{"path", o.file}, {"signatures", env->signatures.size()}});
  else std::printf("signed %s with key %s (%zu signature(s))\n", o.file.c_str(), (*s)->KeyId().c_str(), env->signatures.size());
  return 0;
}

int PolicyTest(const Options& o) {
  auto env = LoadPolicyFile(o.file);
  if (!env.ok()) return ReportError(env.status(), o.json);
  auto policy = signer::DecodePolicyEnvelope(*env);
  if (!policy.ok()) return ReportError(policy.status().WithContext(o.file), o.json);
  auto verdict = JudgeEvidenceFile(o.evidence_file, o.evidence);
  if (!verdict.ok()) return ReportError(verdict.status(), o.json);
  UnixSeconds now = NowUnixSeconds();
  if (!o.evidence.time.empty()) {
    auto t = ParseRfc3339(o.evidence.time, "--time");
    if (!t.ok()) return ReportError(t.status(), o.json);
    now = *t;
  }
  attest::PolicyDecision d = attest::EvaluatePolicy(*policy, *verdict, now);
  if (o.json) {
    Json out = d.ToJson();
    out["policy"] = o.file;
    out["policyVersion"] = policy->version;
    out["evidence"] = o.evidence_file;
    out["platform"] = attest::PolicyPlatform(verdict->claims);
    out["measurement"] = attest::ClaimedMeasurement(verdict->claims);
    out["signatures"] = env->signatures.size();
    PrintJson(out);
  } else {
    std::printf("policy %s (version %llu, %zu signature%s) against %s: %s\n", o.file.c_str(),
                static_cast<unsigned long long>(policy->version), env->signatures.size(),
                env->signatures.size() == 1 ? "" : "s", o.evidence_file.c_str(), d.allowed() ? "KEYS WOULD BE RELEASED" : "REFUSED");
    for (const auto& c : d.clauses) {
      std::printf("  [%s] %-11s expected %s; got %s\n", c.passed ? "ok" : "FAIL", c.name.c_str(), c.expected.c_str(),
                  c.actual.c_str());
    }
    std::printf("  (a broker also checks the evidence binds its nonce, the runtime's key, the package and the policy)\n");
  }
  return d.allowed() ? 0 : ExitCodeFor(StatusCode::kPermissionDenied);
}

int PolicyAttach(const Options& o) {
  auto env = LoadPolicyFile(o.file);
  if (!env.ok()) return ReportError(env.status(), o.json);
  auto version = signer::AttachPolicy(FileSystem::Default(), format::ParsePackageRef(o.package), *env);
  if (!version.ok()) return ReportError(version.status(), o.json);
  if (o.json) PrintJson({{"package", o.package}, {"policyVersion", *version}});
  else std::printf("attached policy version %llu to %s\n", static_cast<unsigned long long>(*version), o.package.c_str());
  return 0;
}

// --- Sigstore bundle export

int ExportBundle(const Options& o) {
  auto key = signer::LoadPublicKey(FileSystem::Default(), o.key, Passphrases());
  if (!key.ok()) return ReportError(key.status(), o.json);
  auto pkg = format::LoadPackage(FileSystem::Default(), distribution::ResolveStoreRef(FileSystem::Default(), o.package));
  if (!pkg.ok()) return ReportError(pkg.status(), o.json);
  auto envs = signer::LoadEnvelopes(*pkg, o.role);
  if (!envs.ok()) return ReportError(envs.status(), o.json);
  std::string id = key->KeyId();
  std::optional<DsseEnvelope> found;
  for (const auto& e : *envs) {
    for (const auto& s : e.envelope.signatures) {
      if (s.keyid != id || !signer::VerifyDsseSignature(e.envelope, s, *key).ok()) continue;
      // Sigstore bundles carry exactly one signature per envelope.
      found = DsseEnvelope{e.envelope.payload_type, e.envelope.payload, {s}};
      break;
    }
    if (found) break;
  }
  if (!found) {
    return ReportError(NotFoundError("no " + o.role + " envelope in " + o.package + " carries a valid signature by key " + id), o.json);
  }
  Json env = {{"payload", Base64Encode(found->payload)},
              {"payloadType", found->payload_type},
              {"signatures", Json::array({{{"sig", Base64Encode(found->signatures[0].sig)}, {"keyid", id}}})}};
  Json bundle = {{"mediaType", "application/vnd.dev.sigstore.bundle.v0.3+json"},
                 {"verificationMaterial", {{"publicKey", {{"hint", id}}}, {"tlogEntries", Json::array()}}},
                 {"dsseEnvelope", env}};
  if (Status s = WriteText(o.output, bundle.dump(2) + "\n", /*exclusive=*/false); !s.ok()) return ReportError(s, o.json);
  if (o.json) PrintJson({{"path", o.output}, {"role", o.role}, {"keyid", id}});
  else std::printf("wrote Sigstore bundle v0.3 (%s envelope signed by %s) to %s\n", o.role.c_str(), Short(id).c_str(), o.output.c_str());
  return 0;
}

}  // namespace

std::optional<SecretBytes> PassphraseFromEnvironment(const std::string& key_ref) {
  if (const char* file = std::getenv("ARCA_KEY_PASSPHRASE_FILE")) {
    auto data = ReadSecretFileBounded(FileSystem::Default(), file, 4096);
    if (!data.ok()) return std::nullopt;
    auto bytes = data->Expose();
    std::size_t n = 0;
    while (n < bytes.size() && bytes[n] != '\n' && bytes[n] != '\r') ++n;
    return SecretBytes::CopyFrom(bytes.subspan(0, n));
  }
  if (!isatty(STDIN_FILENO)) return std::nullopt;
  std::fprintf(stderr, "passphrase for %s: ", key_ref.c_str());
  termios old{};
  tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~tcflag_t(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  SecretBytes buf(1024);
  std::size_t n = 0;
  auto out = buf.ExposeMutable();
  int c;
  while (n < out.size() && (c = std::fgetc(stdin)) != EOF && c != '\n') out[n++] = std::uint8_t(c);
  tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::fprintf(stderr, "\n");
  return SecretBytes::CopyFrom(out.subspan(0, n));
}

void AddSealSigningFlags(CLI::App* seal, SealSigning* s) {
  seal->add_option("--sign", s->sign_keys, "Sign the release with this key (file or pkcs11: URI); repeatable, one envelope per key");
  seal->add_option("--provenance", s->provenance_file, "Provenance input file (JSON, specs/signing.md §3.2); recorded as SLSA v1 provenance");
  seal->add_option("--dataset", s->datasets, "Training dataset NAME=URI@sha256:HEX (repeatable; adds provenance)");
  seal->add_option("--git-repo", s->git_repo, "Local git repository of the training code (remote, HEAD commit, dirty state)");
  seal->add_option("--hyperparameters", s->hyperparameters, "Hyperparameters file, recorded by digest");
  seal->add_option("--step", s->step, "What produced this version: train, fine-tune, quantize, ...");
  seal->add_option("--ran-by", s->ran_by, "Who ran the step (default: $USER)");
}

Result<format::AttachFn> SealSigningHook(const SealSigning& s, const std::string& parent_name,
                                         std::vector<std::unique_ptr<signer::Signer>>* signers) {
  bool wants_provenance = !s.provenance_file.empty() || !s.datasets.empty() || !s.git_repo.empty() ||
                          !s.hyperparameters.empty() || !s.step.empty() || !s.ran_by.empty();
  if (s.sign_keys.empty()) {
    if (wants_provenance) return InvalidArgumentError("provenance must be signed: add --sign KEY");
    return format::AttachFn();
  }
  ARCA_ASSIGN_OR_RETURN(*signers, LoadSigners(s.sign_keys));
  std::optional<signer::ProvenanceInput> prov;
  if (wants_provenance) {
    signer::ProvenanceFile pf;
    if (!s.provenance_file.empty()) {
      ARCA_ASSIGN_OR_RETURN(Bytes b, ReadSmallFile(s.provenance_file, 256 * 1024));
      auto parsed = signer::ParseProvenanceFile(b);
      if (!parsed.ok()) return parsed.status().WithContext(s.provenance_file);
      pf = std::move(*parsed);
    }
    signer::ProvenanceInput& in = pf.input;
    if (!s.step.empty()) in.step = s.step;
    if (!s.ran_by.empty()) in.ran_by = s.ran_by;
    if (in.ran_by.empty()) {
      const char* user = std::getenv("USER");
      in.ran_by = user ? user : "unknown";
    }
    for (const auto& d : s.datasets) {
      std::size_t eq = d.find('='), at = d.rfind("@sha256:");
      if (eq == std::string::npos || at == std::string::npos || at < eq) {
        return InvalidArgumentError("--dataset wants NAME=URI@sha256:HEX, got \"" + d.substr(0, 200) + "\"");
      }
      signer::Dataset ds{d.substr(0, eq), d.substr(eq + 1, at - eq - 1), d.substr(at + 8)};
      if (!IsLowerHex(ds.sha256, 64)) return InvalidArgumentError("--dataset " + ds.name + ": the digest must be 64 lower-case hex digits");
      in.datasets.push_back(std::move(ds));
    }
    std::string git = !s.git_repo.empty() ? s.git_repo : pf.git_repository.value_or("");
    if (!git.empty()) {
      ARCA_ASSIGN_OR_RETURN(in.code, signer::ReadGitSource(git));
    }
    std::string hp = !s.hyperparameters.empty() ? s.hyperparameters : pf.hyperparameters_path.value_or("");
    if (!hp.empty()) {
      ARCA_ASSIGN_OR_RETURN(Bytes b, ReadSmallFile(hp, 64 << 20));
      in.hyperparameters_sha256 = HexEncode(crypto::Sha256::Hash(b));
      in.hyperparameters_name = hp.substr(hp.rfind('/') + 1);
    }
    if (!parent_name.empty()) in.base_model_name = parent_name;
    UnixSeconds now = NowUnixSeconds();
    if (!in.started_on) in.started_on = now;
    if (!in.finished_on) in.finished_on = now;
    prov = std::move(in);
  }
  return signer::SealAttachments(Raw(*signers), prov);
}

void AddSignCommands(CLI::App& app, Command* run) {
  auto o = std::make_shared<Options>();
  auto json = [&](CLI::App* c) { c->add_flag("--json", o->json, "Print the result as JSON"); };

  auto* key = app.add_subcommand("key", "Create signing keys and print public keys");
  key->require_subcommand(1);
  auto* key_new = key->add_subcommand("new", "Create a signing key (PKCS#8 PEM, mode 0600; never overwrites)");
  key_new->add_option("--type", o->type, "ed25519, ecdsa-p256 or ecdsa-p384")->capture_default_str();
  key_new->add_option("-o,--output", o->output, "Key file to create")->required();
  key_new->add_flag("--encrypt", o->encrypt, "Encrypt with a passphrase (ARCA_KEY_PASSPHRASE_FILE or a terminal prompt)");
  json(key_new);
  key_new->callback([run, o] { *run = [o] { return KeyNew(*o); }; });
  auto* key_pub = key->add_subcommand("pub", "Print a key's public half as PEM SubjectPublicKeyInfo");
  key_pub->add_option("key", o->key, "Key file (private or public) or pkcs11: URI")->required();
  json(key_pub);
  key_pub->callback([run, o] { *run = [o] { return KeyPub(*o); }; });

  auto* root = app.add_subcommand("root", "Namespace roots: release keys and their k-of-n threshold");
  root->require_subcommand(1);
  auto* init = root->add_subcommand("init", "Create version 1 of a namespace root");
  init->add_option("namespace", o->namespace_name, "Namespace (e.g. acme)")->required();
  init->add_option("--key", o->keys, "Release key (public key file, private key file or pkcs11: URI); repeatable")->required();
  init->add_option("--threshold", o->threshold, "Signatures needed from distinct keys")->required();
  init->add_option("--sign", o->sign, "Sign the root with this key; repeatable (a threshold is needed)");
  init->add_option("--expires", o->expires, "Expiry date (YYYY-MM-DD or RFC 3339); default: never");
  init->add_option("-o,--output", o->output, "Root file to create")->required();
  json(init);
  init->callback([run, o] { *run = [o] { return RootInit(*o); }; });
  auto* rotate = root->add_subcommand("rotate", "Make version N+1: signed by a threshold of version N's keys AND of its own");
  rotate->add_option("root", o->file, "Current root (version N)")->required();
  rotate->add_option("--key", o->keys, "Key to add; repeatable");
  rotate->add_option("--remove-key", o->remove_keys, "Key to remove (revoke); repeatable");
  rotate->add_option("--threshold", o->threshold, "New threshold (default: unchanged)");
  rotate->add_option("--sign", o->sign, "Sign with this key; repeatable");
  rotate->add_option("--expires", o->expires, "Expiry date of the new version");
  rotate->add_option("-o,--output", o->output, "Root file to create (version N+1)")->required();
  json(rotate);
  rotate->callback([run, o] { *run = [o] { return RootRotate(*o); }; });
  auto* rsign = root->add_subcommand("sign", "Add a signature to a root file in place");
  rsign->add_option("root", o->file, "Root file")->required();
  rsign->add_option("--key", o->key, "Signing key")->required();
  json(rsign);
  rsign->callback([run, o] { *run = [o] { return RootSign(*o); }; });
  auto* rverify = root->add_subcommand("verify", "Verify a trusted root and walk newer versions");
  rverify->add_option("root", o->file, "Trusted root")->required();
  rverify->add_option("updates", o->root_updates, "Newer root versions");
  rverify->add_option("--time", o->time, "Judge expiry at this time (default: now)");
  json(rverify);
  rverify->callback([run, o] { *run = [o] { return RootVerify(*o); }; });
  auto* rshow = root->add_subcommand("show", "Print a root's keys, threshold and signers");
  rshow->add_option("root", o->file, "Root file")->required();
  json(rshow);
  rshow->callback([run, o] { *run = [o] { return RootShow(*o); }; });

  auto* sign = app.add_subcommand("sign", "Add release (and provenance) signatures to a sealed package");
  sign->add_option("package", o->package, "Package DIR[:REF]")->required();
  sign->add_option("--key", o->keys, "Signing key (file or pkcs11: URI); repeatable")->required();
  json(sign);
  sign->callback([run, o] { *run = [o] { return SignCmd(*o); }; });

  auto* cs = app.add_subcommand("countersign", "Append an auditor's countersignature (never invalidates the lab's)");
  cs->add_option("package", o->package, "Package DIR[:REF]")->required();
  cs->add_option("--key", o->key, "Auditor's signing key")->required();
  cs->add_option("--note", o->note, "What was reviewed")->required();
  json(cs);
  cs->callback([run, o] { *run = [o] { return CountersignCmd(*o); }; });

  auto* verify = app.add_subcommand("verify", "Verify a package's signatures, provenance and policy against a namespace root");
  verify->add_option("package", o->package, "Package DIR[:REF]")->required();
  verify->add_option("--root", o->root, "Trusted namespace root (obtained out of band)")->required();
  verify->add_option("--root-update", o->root_updates, "Newer root version to walk to; repeatable");
  verify->add_flag("--deep", o->deep, "Re-hash every pack (all cores)");
  verify->add_option("--countersigner", o->countersigners, "Auditor public key whose countersignature is required; repeatable");
  verify->add_option("--time", o->time, "Judge expiry at this time (default: now)");
  verify->add_option("--threads", o->threads, "Hashing threads for --deep (0 = all cores)");
  json(verify);
  verify->callback([run, o] { *run = [o] { return VerifyCmd(*o); }; });

  auto* policy = app.add_subcommand("policy", "Release policies: which TEEs may receive a package's keys");
  policy->require_subcommand(1);
  auto* pnew = policy->add_subcommand("new", "Start an unsigned policy for a package (nothing allowed yet)");
  pnew->add_option("package", o->package, "Package DIR[:REF]")->required();
  pnew->add_option("-o,--output", o->output, "Policy file to create")->required();
  pnew->add_option("--expires", o->expires, "Expiry date (default: one year; \"never\" to disable)");
  pnew->add_flag("--allow-debug", o->allow_debug, "Allow debug-mode guests (default: refused)");
  pnew->add_flag("--require-gpu-cc", o->require_gpu_cc, "Require GPU confidential-computing mode");
  json(pnew);
  pnew->callback([run, o] { *run = [o] { return PolicyNew(*o); }; });
  auto* allow = policy->add_subcommand("allow", "Allow a TEE measurement (bumps the version, drops signatures)");
  allow->add_option("policy", o->file, "Policy file")->required();
  allow->add_option("--platform", o->platform, "sev-snp, tdx or tpm")->required();
  allow->add_option("--measurement", o->measurement, "Launch measurement, lower-case hex")->required();
  allow->add_option("--min-tcb", o->min_tcb, "Minimum TCB components NAME=N[,NAME=N...] (e.g. bootloader=3,snp=8)");
  json(allow);
  allow->callback([run, o] { *run = [o] { return PolicyAllow(*o); }; });
  auto* revoke = policy->add_subcommand("revoke", "Revoke a measurement (bumps the version, drops signatures)");
  revoke->add_option("policy", o->file, "Policy file")->required();
  revoke->add_option("--measurement", o->measurement, "Measurement to refuse, lower-case hex")->required();
  json(revoke);
  revoke->callback([run, o] { *run = [o] { return PolicyRevoke(*o); }; });
  auto* show = policy->add_subcommand("show", "Print a policy");
  show->add_option("policy", o->file, "Policy file")->required();
  json(show);
  show->callback([run, o] { *run = [o] { return PolicyShow(*o); }; });
  auto* psign = policy->add_subcommand("sign", "Add a signature to a policy file");
  psign->add_option("policy", o->file, "Policy file")->required();
  psign->add_option("--key", o->key, "Signing key (file or pkcs11: URI)")->required();
  json(psign);
  psign->callback([run, o] { *run = [o] { return PolicySign(*o); }; });
  auto* attach = policy->add_subcommand("attach", "Attach a signed policy to its package (replaces an older one, never a newer)");
  attach->add_option("package", o->package, "Package DIR[:REF]")->required();
  attach->add_option("policy", o->file, "Signed policy file")->required();
  json(attach);
  attach->callback([run, o] { *run = [o] { return PolicyAttach(*o); }; });

  auto* ptest = policy->add_subcommand("test", "Dry-run a policy against recorded evidence: the clause-by-clause result");
  ptest->add_option("policy", o->file, "Policy file (signed or not: signatures are not judged here)")->required();
  ptest->add_option("evidence", o->evidence_file, "Evidence bundle (arca-runtime evidence, arca attest bundle)")->required();
  AddEvidenceFlags(ptest, &o->evidence, /*sim=*/true);
  json(ptest);
  ptest->callback([run, o] { *run = [o] { return PolicyTest(*o); }; });

  auto* exp = app.add_subcommand("export-bundle", "Export one signed envelope as a Sigstore bundle v0.3 (public-key hint)");
  exp->add_option("package", o->package, "Package DIR[:REF]")->required();
  exp->add_option("--key", o->key, "Public key whose signature to export")->required();
  exp->add_option("--role", o->role, "release, provenance, policy or countersign")->capture_default_str();
  exp->add_option("-o,--output", o->output, "Bundle file to write")->required();
  json(exp);
  exp->callback([run, o] { *run = [o] { return ExportBundle(*o); }; });
}

}  // namespace arca::client
