#include "client/registry_commands.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/file_system.h"
#include "base/time.h"
#include "client/output.h"
#include "distribution/config.h"
#include "distribution/log_client.h"
#include "distribution/registry_client.h"
#include "distribution/store.h"
#include "distribution/transfer.h"

namespace arca::client {
namespace {

using distribution::Paths;

struct Options {
  std::string registry;
  std::string token;
  bool token_stdin = false;
  std::string namespace_name;
  std::string root_file;
  bool replace = false;
  std::string package;
  std::string reference;
  std::string store;
  bool insecure = false;
  std::string ca_cert;
  std::size_t threads = 4;
  std::string limit_rate;
  std::string chunk_size = "16M";
  bool json = false;
  bool allow_downgrade = false;
  std::int64_t max_checkpoint_age_s = 86400;
  std::optional<std::size_t> min_witnesses;  // pull/push --min-witnesses, trust witness --min
  bool remove = false;
};

// kExitLogRefused: the registry's log contradicts what this client saw
// (rollback, fork, freeze, a missing or unprovable entry, a tag moved back).
// Distinct from 5 so scripts can tell "this registry is lying" from "this
// package's signature failed".
constexpr int kExitLogRefused = 11;

int ReportLogRefusal(const Status& s, bool json) {
  std::fprintf(stderr, "arca: REFUSED by the transparency-log check: %s\n", s.message().c_str());
  if (json) PrintJson({{"error", {{"code", "log-refused"}, {"message", s.message()}}}});
  return kExitLogRefused;
}

Result<distribution::ClientOptions> ClientOptionsFor(const Options& o, const Paths& paths, const std::string& registry) {
  distribution::ClientOptions c;
  c.registry = registry;
  c.insecure = o.insecure;
  c.ca_cert = o.ca_cert;
  if (!o.limit_rate.empty()) {
    ARCA_ASSIGN_OR_RETURN(c.limit_rate_bytes_per_s, ParseSize(o.limit_rate));
  }
  ARCA_ASSIGN_OR_RETURN(auto creds, distribution::LoadCredentials(FileSystem::Default(), paths));
  auto it = creds.find(registry);
  if (it != creds.end()) c.token = it->second;
  return c;
}

Result<std::string> StoreDir(const Options& o, const Paths& paths) { return o.store.empty() ? paths.default_store() : o.store; }

// Store references: "namespace/name:tag", "namespace/name@sha256:..", or a
// full remote reference (its host is dropped).
std::string LocalRefName(const std::string& text) {
  auto slash = text.find('/');
  if (slash != std::string::npos) {
    std::string head = text.substr(0, slash);
    if (head.find_first_of(".:[") != std::string::npos || head == "localhost") {
      auto ref = distribution::ParseReference(text);
      if (ref.ok()) return ref->LocalName();
    }
  }
  return text;
}

int Login(const Options& o) {
  auto paths = distribution::PathsFromEnvironment();
  if (!paths.ok()) return ReportError(paths.status(), o.json);
  Status v = distribution::ValidateRegistryHost(o.registry);
  if (!v.ok()) return ReportError(v, o.json);
  std::string token = o.token;
  if (o.token_stdin) {
    if (!token.empty()) return ReportError(InvalidArgumentError("give --token or --token-stdin, not both"), o.json);
    std::getline(std::cin, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == '\n')) token.pop_back();
  }
  if (token.empty()) return ReportError(InvalidArgumentError("a token is needed: --token TOKEN or --token-stdin"), o.json);
  Status s = distribution::StoreCredential(FileSystem::Default(), *paths, o.registry, token);
  if (!s.ok()) return ReportError(s, o.json);
  if (o.json) PrintJson({{"registry", o.registry}, {"credentials", paths->credentials_file()}});
  else std::printf("stored a token for %s in %s (mode 0600)\n", o.registry.c_str(), paths->credentials_file().c_str());
  return 0;
}

int TrustAdd(const Options& o) {
  auto paths = distribution::PathsFromEnvironment();
  if (!paths.ok()) return ReportError(paths.status(), o.json);
  auto bytes = ReadFileBounded(FileSystem::Default(), o.root_file, signer::kMaxRootBytes);
  if (!bytes.ok()) return ReportError(bytes.status().WithContext(o.root_file), o.json);
  auto r = distribution::AddTrustedRoot(FileSystem::Default(), *paths, o.namespace_name, *bytes, NowUnixSeconds(), o.replace);
  if (!r.ok()) return ReportError(r.status().WithContext(o.root_file), o.json);
  const signer::Root& root = r->root.root;
  if (o.json) {
    PrintJson({{"namespace", root.namespace_name}, {"version", root.version}, {"threshold", root.threshold},
               {"keys", root.keys.size()}, {"path", r->path}});
  } else {
    std::printf("trusting namespace %s: root version %llu, %llu of %zu keys (%s)\n", root.namespace_name.c_str(),
                static_cast<unsigned long long>(root.version), static_cast<unsigned long long>(root.threshold), root.keys.size(),
                r->path.c_str());
  }
  return 0;
}

int TrustLs(const Options& o) {
  auto paths = distribution::PathsFromEnvironment();
  if (!paths.ok()) return ReportError(paths.status(), o.json);
  auto roots = distribution::ListTrustedRoots(FileSystem::Default(), *paths);
  if (!roots.ok()) return ReportError(roots.status(), o.json);
  Json out = Json::array();
  for (const auto& r : *roots) {
    Json keys = Json::array();
    for (const auto& [id, k] : r.root.root.keys) keys.push_back(id);
    out.push_back({{"namespace", r.namespace_name}, {"version", r.root.root.version}, {"threshold", r.root.root.threshold},
                   {"keys", keys}, {"path", r.path}});
    if (!o.json) {
      std::printf("%-24s version %llu, %llu of %zu keys\n", r.namespace_name.c_str(),
                  static_cast<unsigned long long>(r.root.root.version), static_cast<unsigned long long>(r.root.root.threshold),
                  r.root.root.keys.size());
    }
  }
  if (o.json) PrintJson(out);
  else if (roots->empty()) std::printf("no trusted namespaces (arca trust add NAMESPACE ROOT.json)\n");
  return 0;
}

// TrustLog pins a registry's log key given out of band (what
// `arca-registry log key` prints), instead of learning it at first contact.
int TrustLog(const Options& o) {
  auto& fs = FileSystem::Default();
  auto paths = distribution::PathsFromEnvironment();
  if (!paths.ok()) return ReportError(paths.status(), o.json);
  Status v = distribution::ValidateRegistryHost(o.registry);
  if (!v.ok()) return ReportError(v, o.json);
  auto verifier = tlog::ReadVerifierKeyFile(fs, o.root_file, tlog::NoteSignatureType::kEd25519);
  if (!verifier.ok()) return ReportError(verifier.status(), o.json);
  const std::string key = verifier->ToString();
  auto state = distribution::LoadLogState(fs, *paths, o.registry);
  if (!state.ok()) return ReportError(state.status(), o.json);
  distribution::LogState next;
  if (*state) {
    if ((*state)->log_key == key) {
      next = **state;
    } else if (!o.replace) {
      return ReportError(AlreadyExistsError("log key " + (*state)->log_key + " is already pinned for " + o.registry +
                                            "; --replace forgets it and the checkpoint seen with it"),
                         o.json);
    }
  }
  next.registry = o.registry;
  next.log_key = key;
  Status s = distribution::SaveLogState(fs, *paths, next);
  if (!s.ok()) return ReportError(s, o.json);
  if (o.json) PrintJson({{"registry", o.registry}, {"log_key", key}, {"origin", verifier->name()}});
  else std::printf("pinned log %s (key %08x) for %s\n", verifier->name().c_str(), verifier->key_id(), o.registry.c_str());
  return 0;
}

int TrustWitness(const Options& o) {
  auto& fs = FileSystem::Default();
  auto paths = distribution::PathsFromEnvironment();
  if (!paths.ok()) return ReportError(paths.status(), o.json);
  Status v = distribution::ValidateRegistryHost(o.registry);
  if (!v.ok()) return ReportError(v, o.json);
  auto state = distribution::LoadLogState(fs, *paths, o.registry);
  if (!state.ok()) return ReportError(state.status(), o.json);
  distribution::LogState next = state->value_or(distribution::LogState{});
  next.registry = o.registry;
  if (!o.root_file.empty()) {
    auto verifier = tlog::ReadVerifierKeyFile(fs, o.root_file, tlog::NoteSignatureType::kCosignatureV1);
    if (!verifier.ok()) return ReportError(verifier.status(), o.json);
    const std::string key = verifier->ToString();
    auto same = std::find(next.witnesses.begin(), next.witnesses.end(), key);
    if (o.remove) {
      if (same == next.witnesses.end()) return ReportError(NotFoundError(verifier->name() + " is not a trusted witness of " + o.registry), o.json);
      next.witnesses.erase(same);
    } else if (same == next.witnesses.end()) {
      if (next.witnesses.size() == distribution::kMaxTrustedWitnesses) {
        return ReportError(ResourceExhaustedError("at most 32 witnesses per registry"), o.json);
      }
      next.witnesses.push_back(key);
    }
  } else if (!o.min_witnesses) {
    return ReportError(InvalidArgumentError("give a witness key file, --min N, or both"), o.json);
  }
  if (o.min_witnesses && *o.min_witnesses > next.witnesses.size()) {
    return ReportError(InvalidArgumentError("--min " + std::to_string(*o.min_witnesses) + " exceeds the " +
                                            std::to_string(next.witnesses.size()) + " witnesses trusted for " + o.registry),
                       o.json);
  }
  if (o.min_witnesses) next.min_witnesses = *o.min_witnesses;
  // Removing a witness lowers a quorum that would otherwise be unreachable.
  next.min_witnesses = std::min(next.min_witnesses, next.witnesses.size());
  Status s = distribution::SaveLogState(fs, *paths, next);
  if (!s.ok()) return ReportError(s, o.json);
  if (o.json) {
    PrintJson({{"registry", o.registry}, {"witnesses", next.witnesses}, {"min_witnesses", next.min_witnesses}});
  } else {
    std::printf("%s: %zu trusted witness%s, %zu cosignature%s required on every checkpoint\n", o.registry.c_str(),
                next.witnesses.size(), next.witnesses.size() == 1 ? "" : "es", next.min_witnesses,
                next.min_witnesses == 1 ? "" : "s");
  }
  return 0;
}

int TrustRm(const Options& o) {
  auto paths = distribution::PathsFromEnvironment();
  if (!paths.ok()) return ReportError(paths.status(), o.json);
  Status s = distribution::RemoveTrustedRoot(FileSystem::Default(), *paths, o.namespace_name);
  if (!s.ok()) return ReportError(s, o.json);
  if (o.json) PrintJson({{"namespace", o.namespace_name}, {"removed", true}});
  else std::printf("no longer trusting namespace %s\n", o.namespace_name.c_str());
  return 0;
}

// CosignerNames lists the trusted witnesses that cosigned a verified head.
std::vector<std::string> CosignerNames(const tlog::OpenedCheckpoint& head) {
  std::vector<std::string> out;
  for (const auto& c : head.cosigned) out.push_back(c.name);
  return out;
}

// WitnessLine: "  cosigned by w1, w2\n", or nothing without cosignatures.
std::string WitnessLine(const std::vector<std::string>& names) {
  if (names.empty()) return "";
  std::string out = "  cosigned by ";
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out + "\n";
}

int PushCmd(const Options& o) {
  auto paths = distribution::PathsFromEnvironment();
  if (!paths.ok()) return ReportError(paths.status(), o.json);
  auto ref = distribution::ParseReference(o.reference);
  if (!ref.ok()) return ReportError(ref.status(), o.json);
  auto copts = ClientOptionsFor(o, *paths, ref->registry);
  if (!copts.ok()) return ReportError(copts.status(), o.json);
  ProgressPrinter progress("pushing");
  distribution::TransferOptions to;
  to.threads = o.threads;
  auto chunk = ParseSize(o.chunk_size);
  if (!chunk.ok()) return ReportError(chunk.status(), o.json);
  if (*chunk < 4096 || *chunk > (1ull << 30)) return ReportError(InvalidArgumentError("--chunk-size must be between 4K and 1G"), o.json);
  to.chunk_bytes = *chunk;
  to.progress = progress.Callback();
  auto r = distribution::Push(FileSystem::Default(), *paths, distribution::ResolveStoreRef(FileSystem::Default(), o.package), *ref,
                              *copts, to);
  if (!r.ok()) return ReportError(r.status(), o.json);
  // The publisher's evidence (specs/registry-client.md §5): the registry's
  // log includes what was just pushed, consistently with what this client
  // saw before. A registry without a log is pushed to as before.
  Json log = nullptr;
  {
    auto& fs = FileSystem::Default();
    auto state = distribution::LoadLogState(fs, *paths, ref->registry);
    auto client = distribution::RegistryClient::Create(*copts);
    if (!state.ok()) return ReportError(state.status(), o.json);
    if (!client.ok()) return ReportError(client.status(), o.json);
    distribution::LogCheckOptions lo;
    lo.now = NowUnixSeconds();
    lo.min_witnesses = o.min_witnesses;
    auto view = distribution::OpenLog(**client, *state, ref->repository, lo);
    if (!view.ok() && distribution::IsLogRefusal(view.status())) return ReportLogRefusal(view.status(), o.json);
    if (view.ok()) {
      const distribution::VerifiedEntry* publish = nullptr;
      for (const auto& e : view->entries) {
        if (e.entry.kind == tlog::kEntryPublish && e.entry.manifest == r->digest) publish = &e;
      }
      if (!publish) {
        return ReportLogRefusal(UnauthenticatedError("inclusion: the registry accepted " + r->digest +
                                                     " but its log has no publish entry for it"),
                                o.json);
      }
      distribution::LogState next = state->value_or(distribution::LogState{});
      next.registry = ref->registry;
      next.log_key = view->log_key;
      next.checkpoint = view->head_note;
      if (Status s = distribution::SaveLogState(fs, *paths, next); !s.ok()) return ReportError(s, o.json);
      log = {{"origin", view->head.checkpoint.origin}, {"size", view->head.checkpoint.size},
             {"publish_index", publish->index}, {"key_pinned_now", view->key_pinned_now},
             {"witnesses", CosignerNames(view->head)}};
    }
  }
  if (o.json) {
    PrintJson({{"reference", r->reference}, {"digest", r->digest}, {"blobs_uploaded", r->blobs_uploaded},
               {"blobs_skipped", r->blobs_skipped}, {"bytes_uploaded", r->bytes_uploaded}, {"log", log}});
  } else {
    std::printf("pushed %s (%s): %llu blobs uploaded (%s), %llu already there\n", r->reference.c_str(), r->digest.c_str(),
                static_cast<unsigned long long>(r->blobs_uploaded), HumanBytes(r->bytes_uploaded).c_str(),
                static_cast<unsigned long long>(r->blobs_skipped));
    if (log.is_object()) {
      std::printf("  log %s: publish entry %llu included in a checkpoint of %llu entries\n",
                  log["origin"].get<std::string>().c_str(), static_cast<unsigned long long>(log["publish_index"].get<std::uint64_t>()),
                  static_cast<unsigned long long>(log["size"].get<std::uint64_t>()));
      std::printf("%s", WitnessLine(log["witnesses"].get<std::vector<std::string>>()).c_str());
    }
  }
  return 0;
}

// LogTarget is what the log says a pull reference resolves to.
struct LogTarget {
  const distribution::VerifiedEntry* publish = nullptr;
  const distribution::VerifiedEntry* tag = nullptr;  // null for a digest reference
};

Result<LogTarget> ResolveInLog(const distribution::LogView& view, const distribution::Reference& ref) {
  LogTarget t;
  std::string digest = ref.digest;
  if (digest.empty()) {
    for (const auto& e : view.entries) {
      if (e.entry.kind == tlog::kEntryTag && e.entry.tag == ref.tag) t.tag = &e;  // the latest wins
    }
    if (!t.tag) {
      return UnauthenticatedError("inclusion: the registry's log has no entry for tag " + ref.tag + " of " + ref.repository +
                                  " (a tag the log does not record is not installed)");
    }
    digest = t.tag->entry.manifest;
  }
  for (const auto& e : view.entries) {
    if (e.entry.kind == tlog::kEntryPublish && e.entry.manifest == digest) {
      t.publish = &e;
      break;
    }
  }
  if (!t.publish) {
    return UnauthenticatedError("inclusion: the registry's log has no publish entry for " + ref.repository + "@" + digest);
  }
  return t;
}

int PullCmd(const Options& o) {
  auto paths = distribution::PathsFromEnvironment();
  if (!paths.ok()) return ReportError(paths.status(), o.json);
  auto ref = distribution::ParseReference(o.reference);
  if (!ref.ok()) return ReportError(ref.status(), o.json);
  // Trust first: with no root for the namespace nothing is fetched or written.
  auto trusted = distribution::LoadTrustedRoot(FileSystem::Default(), *paths, ref->namespace_name());
  if (!trusted.ok()) return ReportError(trusted.status(), o.json);
  auto copts = ClientOptionsFor(o, *paths, ref->registry);
  if (!copts.ok()) return ReportError(copts.status(), o.json);
  auto store = StoreDir(o, *paths);
  if (!store.ok()) return ReportError(store.status(), o.json);

  // The log before anything is downloaded (specs/registry-client.md §8):
  // consistency with the last checkpoint this client saw, and the entries
  // of what the reference resolves to.
  auto& fs = FileSystem::Default();
  auto state = distribution::LoadLogState(fs, *paths, ref->registry);
  if (!state.ok()) return ReportError(state.status(), o.json);
  auto log_client = distribution::RegistryClient::Create(*copts);
  if (!log_client.ok()) return ReportError(log_client.status(), o.json);
  distribution::LogCheckOptions lo;
  lo.now = NowUnixSeconds();
  lo.max_age_s = o.max_checkpoint_age_s;
  lo.min_witnesses = o.min_witnesses;
  bool pinned = *state && !(*state)->log_key.empty();
  auto opened = distribution::OpenLog(**log_client, *state, ref->repository, lo);
  std::optional<distribution::LogView> view;
  if (opened.ok()) {
    view = std::move(*opened);
  } else if (distribution::IsLogRefusal(opened.status())) {
    return ReportLogRefusal(opened.status(), o.json);
  } else if (opened.status().code() == StatusCode::kNotFound && pinned) {
    return ReportLogRefusal(UnauthenticatedError("log-missing: this client pinned log key " + (*state)->log_key +
                                                 " for " + ref->registry + ", which now serves no log (" +
                                                 opened.status().message() + ")"),
                            o.json);
  } else if (opened.status().code() == StatusCode::kNotFound) {
    // A plain OCI registry: signatures still protect the package, but there
    // is no rollback or split-view protection (specs/registry-client.md §8).
    std::fprintf(stderr, "arca: note: %s serves no transparency log; installing without log checks "
                         "(no protection against rollback or split views)\n", ref->registry.c_str());
  } else {
    return ReportError(opened.status().WithContext("checking the registry's transparency log"), o.json);
  }
  std::optional<LogTarget> target;
  std::string tag_key = ref->repository + ":" + ref->tag;
  if (view) {
    auto t = ResolveInLog(*view, *ref);
    if (!t.ok()) return ReportLogRefusal(t.status(), o.json);
    target = *t;
  }
  if (target && target->tag && *state) {
    auto seen = (*state)->tags.find(tag_key);
    if (seen != (*state)->tags.end() && target->publish->index < seen->second.publish_index && !o.allow_downgrade) {
      return ReportLogRefusal(
          UnauthenticatedError("downgrade: tag " + ref->tag + " of " + ref->repository + " now points at " +
                               target->publish->entry.manifest + " (published at log index " +
                               std::to_string(target->publish->index) + "), older than " + seen->second.manifest +
                               " (index " + std::to_string(seen->second.publish_index) +
                               ") this client installed for it; --allow-downgrade to accept"),
          o.json);
    }
  }

  if (o.store.empty()) {
    Status m = distribution::MakeDirs(fs, paths->data_dir, 0700);
    if (!m.ok()) return ReportError(m, o.json);
  }
  ProgressPrinter progress("pulling");
  distribution::TransferOptions to;
  to.threads = o.threads;
  to.progress = progress.Callback();
  Verdict verdict;
  auto r = distribution::Pull(fs, *ref, *store, trusted->root, *copts, to, &verdict);
  if (!r.ok()) {
    for (const auto& c : verdict.checks()) {
      if (!c.passed) std::fprintf(stderr, "  FAIL %-34s %s\n", c.name.c_str(), c.detail.c_str());
    }
    return ReportError(r.status(), o.json);
  }
  if (view) {
    if (r->digest != target->publish->entry.manifest) {
      // The tag moved between the log check and the download, or the
      // registry serves a tag its log does not record: undo the install.
      if (auto st = distribution::Store::Open(fs, *store, false); st.ok()) (void)st->RemoveEntry(r->ref_name);
      return ReportLogRefusal(UnauthenticatedError("inclusion: the registry served " + r->digest + " for " + ref->ToString() +
                                                   " but its log says " + target->publish->entry.manifest +
                                                   "; nothing installed (retry)"),
                              o.json);
    }
    // Keep the proofs beside the package, then move this client's state on.
    std::string proof_dir = JoinPath(*store, "log");
    Status saved = distribution::MakeDirs(fs, proof_dir, 0755);
    for (const auto* e : {target->publish, target->tag}) {
      if (!e || !saved.ok()) continue;
      auto text = distribution::TlogProofFor(*view, *e);
      if (!text.ok()) {
        saved = text.status();
        break;
      }
      saved = WriteFileAtomic(fs, JoinPath(proof_dir, r->digest.substr(7) + "." + std::to_string(e->index) + ".tlog-proof"),
                              AsBytes(*text), 0644);
    }
    if (!saved.ok()) return ReportError(saved.WithContext("saving the log proofs"), o.json);
    distribution::LogState next = state->value_or(distribution::LogState{});
    next.registry = ref->registry;
    next.log_key = view->log_key;
    next.checkpoint = view->head_note;
    if (target->tag) next.tags[tag_key] = distribution::TagSeen{r->digest, target->publish->index};
    if (Status s = distribution::SaveLogState(fs, *paths, next); !s.ok()) return ReportError(s, o.json);
  }

  if (o.json) {
    PrintJson({{"reference", r->reference}, {"digest", r->digest}, {"bytes_downloaded", r->bytes_downloaded},
               {"bytes_total", r->bytes_total}, {"blobs_downloaded", r->blobs_downloaded}, {"blobs_present", r->blobs_present},
               {"bytes_reused", r->bytes_reused}, {"packs_assembled", r->packs_assembled},
               {"name", r->name}, {"version", r->version}, {"store", *store}, {"ref_name", r->ref_name},
               {"log", view ? Json{{"origin", view->head.checkpoint.origin}, {"size", view->head.checkpoint.size},
                                   {"publish_index", target->publish->index}, {"key_pinned_now", view->key_pinned_now},
                                   {"witnesses", CosignerNames(view->head)}}
                            : Json(nullptr)}});
  } else {
    std::printf("verified and installed %s:%s as %s in %s\n  manifest %s; downloaded %s of %s (%llu blobs, %llu already present)\n",
                r->name.c_str(), r->version.c_str(), r->ref_name.c_str(), store->c_str(), r->digest.c_str(),
                HumanBytes(r->bytes_downloaded).c_str(), HumanBytes(r->bytes_total).c_str(),
                static_cast<unsigned long long>(r->blobs_downloaded), static_cast<unsigned long long>(r->blobs_present));
    if (r->packs_assembled > 0) {
      std::printf("  %llu packs assembled from %s of records already in the store and Range reads of the rest\n",
                  static_cast<unsigned long long>(r->packs_assembled), HumanBytes(r->bytes_reused).c_str());
    }
    if (view) std::printf("  log %s: entry %llu included in a checkpoint of %llu entries%s\n", view->head.checkpoint.origin.c_str(),
                static_cast<unsigned long long>(target->publish->index),
                static_cast<unsigned long long>(view->head.checkpoint.size),
                view->key_pinned_now ? " (first contact: log key pinned)" : ", consistent with the last one seen");
    if (view) std::printf("%s", WitnessLine(CosignerNames(view->head)).c_str());
  }
  return 0;
}

Result<distribution::Store> OpenStore(const Options& o) {
  ARCA_ASSIGN_OR_RETURN(Paths paths, distribution::PathsFromEnvironment());
  ARCA_ASSIGN_OR_RETURN(std::string dir, StoreDir(o, paths));
  return distribution::Store::Open(FileSystem::Default(), dir, /*create=*/false);
}

int LsCmd(const Options& o) {
  auto store = OpenStore(o);
  if (!store.ok()) {
    if (store.status().code() == StatusCode::kNotFound) {
      if (o.json) PrintJson(Json::array());
      else std::printf("the store is empty (%s)\n", store.status().message().c_str());
      return 0;
    }
    return ReportError(store.status(), o.json);
  }
  auto entries = store->List();
  if (!entries.ok()) return ReportError(entries.status(), o.json);
  Json out = Json::array();
  for (const auto& e : *entries) {
    out.push_back({{"reference", e.ref_name}, {"digest", e.manifest.digest}, {"size", e.total_bytes}, {"source", e.source},
                   {"complete", e.complete}});
    if (!o.json) {
      std::printf("%-40s %s %10s%s\n", e.ref_name.c_str(), e.manifest.digest.c_str(), HumanBytes(e.total_bytes).c_str(),
                  e.complete ? "" : "  (INCOMPLETE: blobs missing)");
    }
  }
  if (o.json) PrintJson(out);
  return 0;
}

int RmCmd(const Options& o) {
  auto store = OpenStore(o);
  if (!store.ok()) return ReportError(store.status(), o.json);
  std::string name = LocalRefName(o.reference);
  Status s = store->RemoveEntry(name);
  if (!s.ok()) return ReportError(s, o.json);
  if (o.json) PrintJson({{"reference", name}, {"removed", true}});
  else std::printf("removed %s (arca gc frees its blobs)\n", name.c_str());
  return 0;
}

int GcCmd(const Options& o) {
  auto store = OpenStore(o);
  if (!store.ok()) return ReportError(store.status(), o.json);
  auto r = store->Gc();
  if (!r.ok()) return ReportError(r.status(), o.json);
  if (o.json) {
    PrintJson({{"blobs_deleted", r->blobs_deleted}, {"bytes_freed", r->bytes_freed}, {"temp_files_deleted", r->temp_files_deleted},
               {"blobs_kept", r->blobs_kept}});
  } else {
    std::printf("deleted %llu unreferenced blobs and %llu temporary files, freed %s; %llu blobs in use\n",
                static_cast<unsigned long long>(r->blobs_deleted), static_cast<unsigned long long>(r->temp_files_deleted),
                HumanBytes(r->bytes_freed).c_str(), static_cast<unsigned long long>(r->blobs_kept));
  }
  return 0;
}

}  // namespace

void AddRegistryCommands(CLI::App& app, Command* run) {
  auto o = std::make_shared<Options>();
  auto json = [&](CLI::App* c) { c->add_flag("--json", o->json, "Print the result as JSON"); };
  auto net = [&](CLI::App* c) {
    c->add_flag("--insecure", o->insecure, "Plain HTTP even for a non-loopback registry");
    c->add_option("--ca-cert", o->ca_cert, "Extra CA certificate bundle (PEM) for HTTPS");
    c->add_option("--threads", o->threads, "Blobs transferred at once")->capture_default_str()->check(CLI::Range(1, 64));
    c->add_option("--limit-rate", o->limit_rate, "Cap each connection at this many bytes per second (e.g. 10M)");
  };
  auto store = [&](CLI::App* c) {
    c->add_option("--store", o->store, "Package store (default: $XDG_DATA_HOME/arca/store)");
  };

  auto* login = app.add_subcommand("login", "Store a registry token (credentials.json, mode 0600)");
  login->add_option("registry", o->registry, "Registry HOST:PORT")->required();
  login->add_option("--token", o->token, "Token (prefer --token-stdin: command lines are visible to other users)");
  login->add_flag("--token-stdin", o->token_stdin, "Read the token from the first line of stdin");
  json(login);
  login->callback([run, o] { *run = [o] { return Login(*o); }; });

  auto* trust = app.add_subcommand("trust", "Namespace roots trusted for pulls (configured out of band)");
  trust->require_subcommand(1);
  auto* tadd = trust->add_subcommand("add", "Trust a namespace root (it must verify against its own threshold)");
  tadd->add_option("namespace", o->namespace_name, "Namespace (e.g. acme)")->required();
  tadd->add_option("root", o->root_file, "Root file (arca root init)")->required();
  tadd->add_flag("--replace", o->replace, "Replace a different root already trusted for the namespace");
  json(tadd);
  tadd->callback([run, o] { *run = [o] { return TrustAdd(*o); }; });
  auto* tls = trust->add_subcommand("ls", "List trusted namespaces");
  json(tls);
  tls->callback([run, o] { *run = [o] { return TrustLs(*o); }; });
  auto* tlog_cmd = trust->add_subcommand("log", "Pin a registry's transparency-log key (from 'arca-registry log key') instead of trusting it at first pull");
  tlog_cmd->add_option("registry", o->registry, "Registry HOST:PORT")->required();
  tlog_cmd->add_option("key", o->root_file, "File holding the verifier key")->required();
  tlog_cmd->add_flag("--replace", o->replace, "Replace a different key already pinned (forgets the checkpoint seen with it)");
  json(tlog_cmd);
  tlog_cmd->callback([run, o] { *run = [o] { return TrustLog(*o); }; });
  auto* twit = trust->add_subcommand("witness", "Trust a witness of a registry's log and/or require N cosignatures on its checkpoints");
  twit->add_option("registry", o->registry, "Registry HOST:PORT")->required();
  twit->add_option("key", o->root_file, "File holding the witness's key (from 'arca-registry witness key')");
  twit->add_option("--min", o->min_witnesses, "Cosignatures from trusted witnesses every checkpoint must carry");
  twit->add_flag("--remove", o->remove, "Stop trusting this witness");
  json(twit);
  twit->callback([run, o] { *run = [o] { return TrustWitness(*o); }; });
  auto* trm = trust->add_subcommand("rm", "Stop trusting a namespace");
  trm->add_option("namespace", o->namespace_name, "Namespace")->required();
  json(trm);
  trm->callback([run, o] { *run = [o] { return TrustRm(*o); }; });

  auto* push = app.add_subcommand("push", "Upload a sealed package to an OCI registry (only the blobs it lacks)");
  push->add_option("package", o->package, "Package DIR[:REF]")->required();
  push->add_option("reference", o->reference, "HOST:PORT/namespace/name:tag")->required();
  push->add_option("--chunk-size", o->chunk_size, "Upload blobs in chunks of this size; an interrupted push resumes after the last chunk the registry acknowledged")
      ->capture_default_str();
  push->add_option("--min-witnesses", o->min_witnesses, "Witness cosignatures the log's checkpoint must carry (default: arca trust witness --min)");
  net(push);
  json(push);
  push->callback([run, o] { *run = [o] { return PushCmd(*o); }; });

  auto* pull = app.add_subcommand("pull", "Verify and install a package from a registry into the local store");
  pull->add_option("reference", o->reference, "HOST:PORT/namespace/name:tag or ...@sha256:HEX")->required();
  store(pull);
  pull->add_flag("--allow-downgrade", o->allow_downgrade, "Accept a tag that now points at an older version than this client installed for it");
  pull->add_option("--max-checkpoint-age", o->max_checkpoint_age_s, "Refuse a log checkpoint older than this many seconds (freeze)")
      ->capture_default_str();
  pull->add_option("--min-witnesses", o->min_witnesses, "Witness cosignatures the log's checkpoint must carry (default: arca trust witness --min)");
  net(pull);
  json(pull);
  pull->callback([run, o] { *run = [o] { return PullCmd(*o); }; });

  auto* ls = app.add_subcommand("ls", "List the packages in the local store");
  store(ls);
  json(ls);
  ls->callback([run, o] { *run = [o] { return LsCmd(*o); }; });

  auto* rm = app.add_subcommand("rm", "Remove a package from the local store's index (arca gc frees its blobs)");
  rm->add_option("reference", o->reference, "namespace/name:tag (as arca ls prints it)")->required();
  store(rm);
  json(rm);
  rm->callback([run, o] { *run = [o] { return RmCmd(*o); }; });

  auto* gc = app.add_subcommand("gc", "Delete blobs no package in the store references, and stale temporary files");
  store(gc);
  json(gc);
  gc->callback([run, o] { *run = [o] { return GcCmd(*o); }; });
}

}  // namespace arca::client
