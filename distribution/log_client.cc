#include "distribution/log_client.h"

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "tlog/proof.h"
#include "tlog/tiles.h"

namespace arca::distribution {
namespace {

std::string Text(ByteSpan b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

// HttpTileFetcher reads tiles from the registry's log endpoint. Tiles are
// unauthenticated: what is built from them is verified against signed roots.
class HttpTileFetcher : public tlog::TileFetcher {
 public:
  explicit HttpTileFetcher(RegistryClient& client) : client_(client) {}
  Result<Bytes> Fetch(const tlog::TileId& tile) override {
    ARCA_ASSIGN_OR_RETURN(std::string path, tlog::TilePath(tile));
    std::uint64_t max = tile.entries ? std::uint64_t(tlog::kTileWidth) * (tlog::kMaxEntryBytes + 2)
                                     : std::uint64_t(tlog::kTileWidth) * tlog::kHashSize;
    return client_.Get(std::string(kLogApiPrefix) + path, max);
  }

 private:
  RegistryClient& client_;
};

Status Refuse(std::string_view check, const std::string& why) {
  return UnauthenticatedError(std::string(check) + ": " + why);
}

}  // namespace

std::string LogStatePath(const Paths& paths, const std::string& registry) {
  std::string name;
  for (char c : registry) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    name += keep ? c : '_';
  }
  return paths.config_dir + "/logs/" + name + ".json";
}

Result<LogState> ParseLogState(ByteSpan bytes) {
  if (bytes.size() > kMaxLogStateBytes) return ResourceExhaustedError("log state is over 1 MiB");
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(Text(bytes), "log state"));
  ARCA_RETURN_IF_ERROR(
      RejectUnknownFields(j, {"registry", "logKey", "checkpoint", "tags", "witnesses", "minWitnesses"}, "log state"));
  LogState s;
  ARCA_ASSIGN_OR_RETURN(s.registry, RequireString(j, "registry", "log state"));
  ARCA_ASSIGN_OR_RETURN(s.log_key, RequireString(j, "logKey", "log state"));
  if (!s.log_key.empty()) {  // empty: witnesses trusted before the first contact
    ARCA_RETURN_IF_ERROR(tlog::NoteVerifier::Parse(s.log_key).status().WithContext("log state logKey"));
  }
  ARCA_ASSIGN_OR_RETURN(s.checkpoint, RequireString(j, "checkpoint", "log state"));
  if (!s.checkpoint.empty()) {
    ARCA_ASSIGN_OR_RETURN(auto note, tlog::ParseNote(s.checkpoint));
    ARCA_RETURN_IF_ERROR(tlog::ParseCheckpointBody(note.text).status().WithContext("log state checkpoint"));
  }
  ARCA_ASSIGN_OR_RETURN(const Json* tags, RequireObject(j, "tags", "log state"));
  for (const auto& [k, v] : tags->items()) {
    std::string where = "log state tag " + k.substr(0, 80);
    ARCA_RETURN_IF_ERROR(RejectUnknownFields(v, {"manifest", "publishIndex"}, where));
    TagSeen t;
    ARCA_ASSIGN_OR_RETURN(t.manifest, RequireString(v, "manifest", where));
    ARCA_ASSIGN_OR_RETURN(t.publish_index, RequireUint(v, "publishIndex", where, INT64_MAX));
    s.tags[k] = t;
  }
  if (j.contains("witnesses")) {
    ARCA_ASSIGN_OR_RETURN(const Json* ws, RequireArray(j, "witnesses", "log state"));
    if (ws->size() > kMaxTrustedWitnesses) return ResourceExhaustedError("log state: more than 32 witnesses");
    for (const auto& w : *ws) {
      if (!w.is_string()) return InvalidArgumentError("log state witnesses: not a string");
      auto v = tlog::NoteVerifier::Parse(w.get<std::string>());
      if (!v.ok()) return v.status().WithContext("log state witnesses");
      if (v->type() != tlog::NoteSignatureType::kCosignatureV1) {
        return InvalidArgumentError("log state witnesses: " + v->name() + " is not a cosignature (type 0x04) key");
      }
      s.witnesses.push_back(w.get<std::string>());
    }
  }
  if (j.contains("minWitnesses")) {
    ARCA_ASSIGN_OR_RETURN(std::uint64_t n, RequireUint(j, "minWitnesses", "log state", kMaxTrustedWitnesses));
    s.min_witnesses = n;
  }
  if (s.min_witnesses > s.witnesses.size()) {
    return InvalidArgumentError("log state: minWitnesses " + std::to_string(s.min_witnesses) + " exceeds the " +
                                std::to_string(s.witnesses.size()) + " trusted witnesses");
  }
  return s;
}

Result<std::string> SerializeLogState(const LogState& s) {
  Json tags = Json::object();
  for (const auto& [k, v] : s.tags) tags[k] = {{"manifest", v.manifest}, {"publishIndex", v.publish_index}};
  Json j = {{"registry", s.registry}, {"logKey", s.log_key}, {"checkpoint", s.checkpoint}, {"tags", tags},
            {"witnesses", s.witnesses}, {"minWitnesses", s.min_witnesses}};
  return j.dump(2) + "\n";
}

Result<std::optional<LogState>> LoadLogState(FileSystem& fs, const Paths& paths, const std::string& registry) {
  std::string path = LogStatePath(paths, registry);
  auto bytes = ReadFileBounded(fs, path, kMaxLogStateBytes);
  if (bytes.status().code() == StatusCode::kNotFound) return std::optional<LogState>();
  if (!bytes.ok()) return bytes.status();
  auto s = ParseLogState(*bytes);
  if (!s.ok()) return s.status().WithContext(path);
  if (s->registry != registry) return InvalidArgumentError(path + " is the log state of " + s->registry + ", not " + registry);
  return std::optional<LogState>(std::move(*s));
}

Status SaveLogState(FileSystem& fs, const Paths& paths, const LogState& state) {
  ARCA_RETURN_IF_ERROR(MakeDirs(fs, paths.config_dir + "/logs", 0700));
  ARCA_ASSIGN_OR_RETURN(std::string text, SerializeLogState(state));
  return WriteFileAtomic(fs, LogStatePath(paths, state.registry), AsBytes(text), 0600);
}

Result<std::vector<tlog::NoteVerifier>> TrustedWitnesses(const std::optional<LogState>& state) {
  std::vector<tlog::NoteVerifier> out;
  if (!state) return out;
  for (const auto& w : state->witnesses) {
    auto v = tlog::NoteVerifier::Parse(w);
    if (!v.ok()) return v.status().WithContext("trusted witness key");
    out.push_back(std::move(*v));
  }
  return out;
}

bool IsLogRefusal(const Status& status) { return status.code() == StatusCode::kUnauthenticated; }

Result<LogView> OpenLog(RegistryClient& client, const std::optional<LogState>& state, const std::string& repository,
                        const LogCheckOptions& options) {
  LogView view;
  // The key: pinned, or learned now (trust on first use).
  if (state && !state->log_key.empty()) {
    view.log_key = state->log_key;
  } else {
    ARCA_ASSIGN_OR_RETURN(Bytes served, client.Get(std::string(kLogApiPrefix) + "key", 4096));
    std::string key = Text(served);
    while (!key.empty() && key.back() == '\n') key.pop_back();
    ARCA_RETURN_IF_ERROR(tlog::NoteVerifier::Parse(key).status().WithContext("the registry's log key"));
    view.log_key = key;
    view.key_pinned_now = true;
  }
  ARCA_ASSIGN_OR_RETURN(tlog::NoteVerifier verifier, tlog::NoteVerifier::Parse(view.log_key));
  tlog::CheckpointPolicy policy;
  policy.origin = verifier.name();
  policy.log_keys.push_back(verifier);
  ARCA_ASSIGN_OR_RETURN(policy.witnesses, TrustedWitnesses(state));
  policy.min_witnesses = options.min_witnesses.value_or(state ? state->min_witnesses : 0);
  if (policy.min_witnesses > policy.witnesses.size()) {
    return InvalidArgumentError(std::to_string(policy.min_witnesses) + " witness cosignatures required, but " +
                                std::to_string(policy.witnesses.size()) + " witness keys are trusted for this registry "
                                "(arca trust witness REGISTRY KEYFILE)");
  }
  // The stored checkpoint was checked when it was accepted; it is re-opened
  // only for its signature and tree, whatever the quorum is now.
  tlog::CheckpointPolicy stored_policy = policy;
  stored_policy.min_witnesses = 0;

  // 1-5. The head: signed by the log's key, for this origin, cosigned.
  ARCA_ASSIGN_OR_RETURN(Bytes note, client.Get(std::string(kLogApiPrefix) + "checkpoint", 64 * 1024));
  view.head_note = Text(note);
  auto head_opened = tlog::OpenCheckpoint(view.head_note, policy);
  if (!head_opened.ok() && head_opened.status().message().rfind("witnesses:", 0) == 0) {
    return Status(head_opened.status().code(),
                  head_opened.status().message() + " (a witness was down or refused to cosign, e.g. because this log "
                  "forked; the registry's /arca/v1/log/witnesses says which)");
  }
  if (!head_opened.ok()) return head_opened.status();
  view.head = std::move(*head_opened);
  const tlog::Checkpoint& head = view.head.checkpoint;
  // 6. freeze.
  if (!head.time) return Refuse("freeze", "the registry's checkpoint carries no time");
  if (*head.time < options.now - options.max_age_s) {
    return Refuse("freeze", "the registry's checkpoint was signed at " + FormatRfc3339(*head.time) + ", more than " +
                                std::to_string(options.max_age_s) + " s ago: it may be hiding newer entries");
  }
  if (*head.time > options.now + options.max_future_s) {
    return Refuse("freeze", "the registry's checkpoint is dated " + FormatRfc3339(*head.time) + ", in the future");
  }
  HttpTileFetcher fetcher(client);
  tlog::TileHashReader tiles(fetcher, head.size);

  // 8. Consistency with what this client saw before.
  if (state && !state->checkpoint.empty()) {
    auto old = tlog::OpenCheckpoint(state->checkpoint, stored_policy);
    if (!old.ok()) return old.status().WithContext("the last checkpoint this client saw (its state file)");
    view.previous = old->checkpoint;
    std::vector<tlog::Hash> proof;
    if (old->checkpoint.size > 0 && old->checkpoint.size < head.size) {
      auto p = tlog::ConsistencyProof(tiles, old->checkpoint.size, head.size);
      if (p.status().code() == StatusCode::kCorruption || p.status().code() == StatusCode::kNotFound) {
        return Refuse("split-view", "the registry cannot prove that its log of " + std::to_string(head.size) +
                                        " entries extends the one of " + std::to_string(old->checkpoint.size) +
                                        " this client saw: " + p.status().message());
      }
      if (!p.ok()) return p.status();
      proof = std::move(*p);
    }
    Status c = tlog::CheckConsistency(old->checkpoint, head, proof);
    if (!c.ok()) {
      return Status(c.code(), c.message() + " (this client saw a log of " + std::to_string(old->checkpoint.size) +
                                  " entries; the registry now shows " + std::to_string(head.size) + ")");
    }
  }

  // 7. The repository's entries, each included under the head.
  std::string ns = repository.substr(0, repository.find('/'));
  ARCA_ASSIGN_OR_RETURN(Bytes listing, client.Get(std::string(kLogApiPrefix) + "entries?repository=" + repository,
                                                  kMaxLogEntriesBytes));
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(Text(listing), "log entries listing"));
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(j, {"entries"}, "log entries listing"));
  ARCA_ASSIGN_OR_RETURN(const Json* list, RequireArray(j, "entries", "log entries listing"));
  std::optional<std::uint64_t> last;
  for (const auto& item : *list) {
    ARCA_RETURN_IF_ERROR(RejectUnknownFields(item, {"index", "entry"}, "log entries listing item"));
    VerifiedEntry v;
    ARCA_ASSIGN_OR_RETURN(v.index, RequireUint(item, "index", "log entries listing item"));
    ARCA_ASSIGN_OR_RETURN(v.bytes, RequireString(item, "entry", "log entries listing item"));
    std::string where = "log entry " + std::to_string(v.index);
    if (last && v.index <= *last) return Refuse("inclusion", where + " is listed out of order");
    last = v.index;
    // Appended after the checkpoint was signed: not provable under it yet.
    if (v.index >= head.size) continue;
    ARCA_ASSIGN_OR_RETURN(v.entry, tlog::ParseLogEntry(v.bytes));
    bool ours = v.entry.repository == repository || (v.entry.kind == tlog::kEntryRoot && v.entry.ns == ns);
    if (!ours) return Refuse("inclusion", where + " is not about " + repository);
    auto proof = tlog::InclusionProof(tiles, v.index, head.size);
    if (!proof.ok()) return Refuse("inclusion", where + ": no proof from the registry's tiles: " + proof.status().message());
    tlog::Hash leaf = tlog::HashLeaf(AsBytes(v.bytes));
    Status in = tlog::VerifyInclusion(v.index, head.size, leaf, *proof, head.root);
    if (!in.ok()) return Refuse("inclusion", where + ": " + in.message());
    v.inclusion = std::move(*proof);
    view.entries.push_back(std::move(v));
  }
  return view;
}

Result<std::string> TlogProofFor(const LogView& view, const VerifiedEntry& entry) {
  tlog::TlogProof p;
  p.index = entry.index;
  p.hashes = entry.inclusion;
  p.checkpoint = view.head_note;
  return tlog::SerializeTlogProof(p);
}

}  // namespace arca::distribution
