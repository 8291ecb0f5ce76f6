#include "signer/root.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "base/json.h"

namespace arca::signer {
namespace {

Json KeyToJson(const crypto::PublicKey& key) {
  auto [type, scheme] = KeyTypeScheme(key.type());
  return {{"keytype", type}, {"scheme", scheme}, {"keyval", {{"public", key.ToPem()}}}};
}

Result<crypto::PublicKey> KeyFromJson(const Json& j, const std::string& where) {
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(j, {"keytype", "scheme", "keyval"}, where));
  ARCA_ASSIGN_OR_RETURN(std::string type, RequireString(j, "keytype", where));
  ARCA_ASSIGN_OR_RETURN(std::string scheme, RequireString(j, "scheme", where));
  ARCA_ASSIGN_OR_RETURN(const Json* keyval, RequireObject(j, "keyval", where));
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(*keyval, {"public"}, where + ".keyval"));
  ARCA_ASSIGN_OR_RETURN(std::string pem, RequireString(*keyval, "public", where + ".keyval"));
  auto key = crypto::PublicKey::FromPem(pem);
  if (!key.ok()) return key.status().WithContext(where + ".keyval.public");
  // OpenSSL's PEM reader ignores non-zero unused bits in the last base64
  // group (and tolerates other variations), so several texts decode to one
  // key. Signatures cover the re-serialized form, so such a change would
  // verify: demand the one canonical text, so a changed byte is refused.
  if (key->ToPem() != pem) {
    return InvalidArgumentError(where + ".keyval.public is not the canonical PEM of its key (as `arca key pub` prints it)");
  }
  if (KeyTypeScheme(key->type()) != std::make_pair(type, scheme)) {
    return InvalidArgumentError(where + ": keytype/scheme \"" + type.substr(0, 40) + "\"/\"" + scheme.substr(0, 40) +
                                "\" do not match the key, which is " + std::string(crypto::KeyTypeName(key->type())));
  }
  return std::move(*key);
}

Json RootToJson(const Root& root) {
  Json keys = Json::object();
  for (const auto& [id, key] : root.keys) keys[id] = KeyToJson(key);
  Json j = {{"_type", kRootType}, {"spec_version", "1"},         {"namespace", root.namespace_name},
            {"version", root.version}, {"threshold", root.threshold}, {"keys", std::move(keys)}};
  if (root.expires) j["expires"] = FormatRfc3339(*root.expires);
  return j;
}

std::string Short(const std::string& keyid) { return keyid.substr(0, 16); }

std::string Join(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ", ") + Short(id);
  return out;
}

}  // namespace

std::pair<std::string, std::string> KeyTypeScheme(crypto::KeyType type) {
  switch (type) {
    case crypto::KeyType::kEd25519: return {"ed25519", "ed25519"};
    case crypto::KeyType::kEcdsaP256Sha256: return {"ecdsa", "ecdsa-sha2-nistp256"};
    case crypto::KeyType::kEcdsaP384Sha384: return {"ecdsa", "ecdsa-sha2-nistp384"};
  }
  return {"", ""};
}

Status ValidateNamespace(std::string_view name) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool ok = !name.empty() && name.size() <= 64 && alnum(name.front()) && alnum(name.back());
  for (char c : name) ok = ok && (alnum(c) || c == '.' || c == '_' || c == '-');
  if (!ok) {
    return InvalidArgumentError("namespace \"" + std::string(name.substr(0, 80)) +
                                "\" must be 1-64 of a-z 0-9 . _ -, starting and ending with a letter or digit");
  }
  return Status::Ok();
}

Status ValidateRoot(const Root& root) {
  ARCA_RETURN_IF_ERROR(ValidateNamespace(root.namespace_name));
  if (root.version < 1) return InvalidArgumentError("root version must be at least 1");
  if (root.keys.empty()) return InvalidArgumentError("root lists no keys");
  if (root.keys.size() > kMaxRootKeys) {
    return InvalidArgumentError("root lists " + std::to_string(root.keys.size()) + " keys, over the limit of " +
                                std::to_string(kMaxRootKeys));
  }
  if (root.threshold < 1 || root.threshold > root.keys.size()) {
    return InvalidArgumentError("root threshold " + std::to_string(root.threshold) + " must be between 1 and the " +
                                std::to_string(root.keys.size()) + " keys listed");
  }
  for (const auto& [id, key] : root.keys) {
    if (id != key.KeyId()) return InvalidArgumentError("root key \"" + id.substr(0, 64) + "\" is listed under a keyid that is not its SHA-256 (" + key.KeyId() + ")");
  }
  return Status::Ok();
}

Result<std::string> RootSignedBytes(const Root& root) {
  ARCA_RETURN_IF_ERROR(ValidateRoot(root));
  return CanonicalJson(RootToJson(root));
}

Result<SignedRoot> ParseRoot(ByteSpan bytes) {
  if (bytes.size() > kMaxRootBytes) {
    return ResourceExhaustedError("root document is " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                                  std::to_string(kMaxRootBytes));
  }
  JsonLimits jl;
  jl.max_bytes = kMaxRootBytes;
  jl.max_depth = 8;
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(ToString(bytes), "root", jl));
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(j, {"signed", "signatures"}, "root"));
  ARCA_ASSIGN_OR_RETURN(const Json* s, RequireObject(j, "signed", "root"));
  ARCA_RETURN_IF_ERROR(
      RejectUnknownFields(*s, {"_type", "spec_version", "namespace", "version", "expires", "threshold", "keys"}, "root.signed"));
  ARCA_ASSIGN_OR_RETURN(std::string type, RequireString(*s, "_type", "root.signed"));
  if (type != kRootType) return InvalidArgumentError("root.signed._type is \"" + type.substr(0, 80) + "\", expected " + std::string(kRootType));
  ARCA_ASSIGN_OR_RETURN(std::string spec, RequireString(*s, "spec_version", "root.signed"));
  if (spec != "1") return InvalidArgumentError("root.signed.spec_version is \"" + spec.substr(0, 20) + "\"; this Arca reads version 1");
  SignedRoot out;
  Root& r = out.root;
  ARCA_ASSIGN_OR_RETURN(r.namespace_name, RequireString(*s, "namespace", "root.signed"));
  ARCA_ASSIGN_OR_RETURN(r.version, RequireUint(*s, "version", "root.signed", 1ull << 53));
  ARCA_ASSIGN_OR_RETURN(r.threshold, RequireUint(*s, "threshold", "root.signed", kMaxRootKeys));
  if (s->contains("expires")) {
    ARCA_ASSIGN_OR_RETURN(std::string e, RequireString(*s, "expires", "root.signed"));
    ARCA_ASSIGN_OR_RETURN(r.expires, ParseRfc3339(e, "root.signed.expires"));
  }
  ARCA_ASSIGN_OR_RETURN(const Json* keys, RequireObject(*s, "keys", "root.signed"));
  if (keys->size() > kMaxRootKeys) {
    return InvalidArgumentError("root lists " + std::to_string(keys->size()) + " keys, over the limit of " + std::to_string(kMaxRootKeys));
  }
  for (auto it = keys->begin(); it != keys->end(); ++it) {
    std::string where = "root.signed.keys[" + it.key().substr(0, 64) + "]";
    ARCA_ASSIGN_OR_RETURN(crypto::PublicKey key, KeyFromJson(*it, where));
    r.keys.emplace(it.key(), std::move(key));
  }
  ARCA_RETURN_IF_ERROR(ValidateRoot(r));
  ARCA_ASSIGN_OR_RETURN(const Json* sigs, RequireArray(j, "signatures", "root"));
  if (sigs->size() > 2 * kMaxRootKeys) return InvalidArgumentError("root has too many signatures");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < sigs->size(); ++i) {
    std::string where = "root.signatures[" + std::to_string(i) + "]";
    ARCA_RETURN_IF_ERROR(RejectUnknownFields((*sigs)[i], {"keyid", "sig"}, where));
    RootSignature sig;
    ARCA_ASSIGN_OR_RETURN(sig.keyid, RequireString((*sigs)[i], "keyid", where));
    if (!IsLowerHex(sig.keyid, 64)) return InvalidArgumentError(where + ".keyid must be 64 lower-case hex digits");
    if (!seen.insert(sig.keyid).second) {
      return InvalidArgumentError(where + ": key " + Short(sig.keyid) + " signed twice (one key counts once toward a threshold)");
    }
    ARCA_ASSIGN_OR_RETURN(std::string b64, RequireString((*sigs)[i], "sig", where));
    auto raw = Base64Decode(b64);
    if (!raw.ok()) return raw.status().WithContext(where + ".sig");
    if (raw->empty()) return InvalidArgumentError(where + ".sig is empty");
    sig.sig = std::move(*raw);
    out.signatures.push_back(std::move(sig));
  }
  return out;
}

Result<std::string> SerializeRoot(const SignedRoot& root) {
  ARCA_RETURN_IF_ERROR(ValidateRoot(root.root));
  Json sigs = Json::array();
  for (const auto& s : root.signatures) sigs.push_back({{"keyid", s.keyid}, {"sig", Base64Encode(s.sig)}});
  return CanonicalJson(Json{{"signed", RootToJson(root.root)}, {"signatures", std::move(sigs)}});
}

Status SignRoot(Signer& signer, SignedRoot& root) {
  ARCA_ASSIGN_OR_RETURN(std::string bytes, RootSignedBytes(root.root));
  ARCA_ASSIGN_OR_RETURN(Bytes sig, signer.Sign(AsBytes(bytes)));
  std::string id = signer.KeyId();
  std::erase_if(root.signatures, [&](const RootSignature& s) { return s.keyid == id; });
  root.signatures.push_back({id, std::move(sig)});
  std::sort(root.signatures.begin(), root.signatures.end(),
            [](const RootSignature& a, const RootSignature& b) { return a.keyid < b.keyid; });
  return Status::Ok();
}

Result<std::vector<std::string>> RootSigners(const SignedRoot& doc, const Root& by) {
  ARCA_ASSIGN_OR_RETURN(std::string bytes, RootSignedBytes(doc.root));
  std::vector<std::string> valid;
  for (const auto& s : doc.signatures) {
    auto it = by.keys.find(s.keyid);
    if (it == by.keys.end()) continue;
    Status v = it->second.Verify(AsBytes(bytes), s.sig);
    if (!v.ok()) {
      return UnauthenticatedError("root version " + std::to_string(doc.root.version) + ": the signature of key " +
                                  Short(s.keyid) + " does not verify (the document or signature was altered)");
    }
    if (std::find(valid.begin(), valid.end(), s.keyid) == valid.end()) valid.push_back(s.keyid);
  }
  return valid;
}

namespace {

// CheckThreshold records "<name>" as passed when `by`'s threshold of keys
// signed `doc`, naming who signed and how many more are needed otherwise.
bool CheckThreshold(const SignedRoot& doc, const Root& by, const std::string& by_name, const std::string& name,
                    Verdict& verdict) {
  auto signers = RootSigners(doc, by);
  if (!signers.ok()) {
    verdict.Fail(name, signers.status());
    return false;
  }
  if (signers->size() < by.threshold) {
    verdict.Fail(name, UnauthenticatedError("root version " + std::to_string(doc.root.version) + " is signed by " +
                                            std::to_string(signers->size()) + " of " + by_name + "'s keys, needs " +
                                            std::to_string(by.threshold) + (signers->empty() ? "" : " (" + Join(*signers) + ")")));
    return false;
  }
  verdict.Pass(name, std::to_string(signers->size()) + " of " + std::to_string(by.keys.size()) + " keys of " + by_name +
                         " (threshold " + std::to_string(by.threshold) + "): " + Join(*signers));
  return true;
}

}  // namespace

Result<std::vector<Root>> WalkRootChain(const SignedRoot& trusted, const std::vector<SignedRoot>& updates, UnixSeconds now,
                                        Verdict& verdict) {
  std::string v0 = "root.v" + std::to_string(trusted.root.version);
  if (!CheckThreshold(trusted, trusted.root, "itself", v0 + ".self-signed", verdict)) return verdict.status();
  std::vector<Root> chain{trusted.root};
  std::map<std::uint64_t, const SignedRoot*> by_version;
  for (const auto& u : updates) {
    if (u.root.version <= trusted.root.version) continue;
    auto [it, inserted] = by_version.emplace(u.root.version, &u);
    if (!inserted) {
      auto a = SerializeRoot(*it->second), b = SerializeRoot(u);
      if (!a.ok() || !b.ok() || *a != *b) {
        verdict.Fail("root.v" + std::to_string(u.root.version) + ".unique",
                     FailedPreconditionError("two different root documents claim version " + std::to_string(u.root.version)));
        return verdict.status();
      }
    }
  }
  std::uint64_t next = trusted.root.version + 1;
  for (auto it = by_version.begin(); it != by_version.end(); ++it, ++next) {
    const SignedRoot& cand = *it->second;
    std::string name = "root.v" + std::to_string(cand.root.version);
    const Root& prev = chain.back();
    if (cand.root.version != next) {
      verdict.Fail(name + ".link", FailedPreconditionError("root version " + std::to_string(next) +
                                                           " is missing: cannot link version " + std::to_string(next - 1) +
                                                           " to " + std::to_string(cand.root.version)));
      return verdict.status();
    }
    if (cand.root.namespace_name != prev.namespace_name) {
      verdict.Fail(name + ".namespace", FailedPreconditionError("root version " + std::to_string(cand.root.version) +
                                                                " is for namespace \"" + cand.root.namespace_name +
                                                                "\", not \"" + prev.namespace_name + "\""));
      return verdict.status();
    }
    // The TUF rule: the old keys vouch for the new root, and the new keys
    // prove they are held (so a root cannot name keys nobody controls).
    if (!CheckThreshold(cand, prev, "version " + std::to_string(prev.version), name + ".signed-by-previous", verdict) ||
        !CheckThreshold(cand, cand.root, "itself", name + ".self-signed", verdict)) {
      return verdict.status();
    }
    chain.push_back(cand.root);
  }
  const Root& last = chain.back();
  std::string name = "root.v" + std::to_string(last.version) + ".expiry";
  if (last.expires && *last.expires <= now) {
    verdict.Fail(name, FailedPreconditionError("root version " + std::to_string(last.version) + " expired at " +
                                               FormatRfc3339(*last.expires) + " (rotate it, or verify with --time for a past moment)"));
    return verdict.status();
  }
  verdict.Pass(name, last.expires ? "valid until " + FormatRfc3339(*last.expires) : "does not expire");
  return chain;
}

}  // namespace arca::signer
