#include "registry-server/registry.h"

#include <httplib.h>

#include "base/httplib_util.h"

#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <set>
#include <mutex>
#include <thread>

#include <unistd.h>

#include "base/crypto.h"
#include "base/file_system.h"
#include "base/json.h"
#include "format/oci_layout.h"
#include "format/package.h"
#include "signer/root.h"
#include "signer/verify.h"
#include "registry-server/routes.h"
#include "tlog/checkpoint.h"
#include "tlog/proof.h"
#include "tlog/tiles.h"
#include "tlog/witness.h"

namespace arca::registry {
namespace {

constexpr std::string_view kArcaArtifactType = "application/vnd.arca.package.v1";
constexpr std::size_t kMaxTagsPage = 1000;

UnixSeconds SystemClock() { return NowUnixSeconds(); }

// --- responses --------------------------------------------------------------

void SendError(httplib::Response& res, const ApiError& e) {
  res.status = e.http_status;
  Json body = {{"errors", Json::array({{{"code", e.code}, {"message", e.message}}})}};
  res.set_content(body.dump(), "application/json");
  if (e.http_status == 401) res.set_header("WWW-Authenticate", "Basic realm=\"arca-registry\"");
}

ApiError Err(int status, std::string code, std::string message) {
  return ApiError{status, std::move(code), std::move(message)};
}

// Internal failures are logged with detail but reported to the client
// without paths.
ApiError Internal(const Status& s) {
  std::fprintf(stderr, "arca-registry: internal error: %s\n", s.ToString().c_str());
  if (s.code() == StatusCode::kResourceExhausted) return Err(507, "UNSUPPORTED", "registry storage is full");
  if (s.code() == StatusCode::kUnavailable) return Err(503, "UNAVAILABLE", "registry is busy; retry");
  return Err(500, "UNKNOWN", "internal error (see the registry's log)");
}

std::string BlobLocation(const std::string& name, const std::string& digest) {
  return "/v2/" + name + "/blobs/" + digest;
}
std::string UploadLocation(const std::string& name, const std::string& id) {
  return "/v2/" + name + "/blobs/uploads/" + id;
}
std::string RangeHeader(std::uint64_t size) {
  // distribution's convention: "0-<last>", "0-0" for an empty session.
  return "0-" + std::to_string(size == 0 ? 0 : size - 1);
}

// --- metrics ----------------------------------------------------------------

struct Metrics {
  std::mutex mu;
  std::map<std::pair<std::string, int>, std::uint64_t> requests;
  std::atomic<std::uint64_t> bytes_in{0}, bytes_out{0}, pushes_refused{0};
  std::atomic<std::uint64_t> request_micros{0};
};

// --- upload sessions ----------------------------------------------------------
// The hash of an upload is kept in memory as bytes arrive, so finishing a
// session does not re-read it; after a restart (no state) it is re-read.
struct Session {
  std::mutex mu;
  crypto::Sha256 hash;
  std::uint64_t hashed = 0;
};

}  // namespace

// ============================================================================
// Registry

std::string HostKeyName(std::string_view suffix) {
  char host[256] = {0};
  std::string name = gethostname(host, sizeof host - 1) == 0 ? host : "";
  std::string clean;
  for (char c : name) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-') clean += c;
  }
  if (clean.empty()) clean = "localhost";
  return clean + "/" + std::string(suffix);
}

std::string DefaultLogOrigin() { return HostKeyName("arca-log"); }

Result<tlog::NoteSigner> LoadOrCreateNoteKey(const std::string& path, const std::string& name_if_new,
                                             tlog::NoteSignatureType type) {
  auto& fs = FileSystem::Default();
  const char* what = type == tlog::NoteSignatureType::kEd25519 ? "log" : "witness";
  if (fs.Stat(path).ok()) {
    ARCA_ASSIGN_OR_RETURN(auto st, fs.Stat(path));
    if (st.mode & 077) {
      return PermissionDeniedError(path + " is readable by group or others: chmod 600 it (it holds the " + what +
                                   "'s signing key)");
    }
    ARCA_ASSIGN_OR_RETURN(SecretBytes text, ReadSecretFileBounded(fs, path, 4096));
    std::string_view view(reinterpret_cast<const char*>(text.Expose().data()), text.size());
    while (!view.empty() && view.back() == '\n') view.remove_suffix(1);
    auto key = tlog::NoteSigner::Parse(view);
    if (!key.ok()) return key.status().WithContext(path);
    if (key->verifier().type() != type) {
      return InvalidArgumentError(path + " is not a " + what + " key (signature type " +
                                  std::to_string(static_cast<int>(type)) + ")");
    }
    return key;
  }
  ARCA_ASSIGN_OR_RETURN(auto key, tlog::NoteSigner::Generate(name_if_new, type));
  const std::string dir = path.substr(0, path.rfind('/') == std::string::npos ? 0 : path.rfind('/'));
  if (!dir.empty()) {
    Status made = fs.MakeDir(dir, 0700);  // the data directory of a first command
    if (!made.ok() && made.code() != StatusCode::kAlreadyExists) return made.WithContext("creating " + dir);
  }
  SecretBytes text = key.ToSecretString();
  Bytes line(text.Expose().begin(), text.Expose().end());
  line.push_back('\n');
  Status w = WriteFileAtomic(fs, path, line, 0600, /*exclusive=*/true);
  OPENSSL_cleanse(line.data(), line.size());
  if (w.code() == StatusCode::kAlreadyExists) return LoadOrCreateNoteKey(path, name_if_new, type);  // another process won
  ARCA_RETURN_IF_ERROR(w.WithContext(std::string("writing the ") + what + " key " + path));
  return key;
}

Result<tlog::NoteSigner> LoadOrCreateLogKey(const std::string& data_dir, const std::string& origin_if_new) {
  return LoadOrCreateNoteKey(JoinPath(data_dir, std::string(kLogKeyFile)),
                             origin_if_new.empty() ? DefaultLogOrigin() : origin_if_new, tlog::NoteSignatureType::kEd25519);
}

Result<std::unique_ptr<Registry>> Registry::Open(const std::string& data_dir, const std::string& log_origin) {
  std::unique_ptr<Registry> r(new Registry());
  ARCA_ASSIGN_OR_RETURN(r->blobs_, BlobStore::Create(data_dir));
  ARCA_ASSIGN_OR_RETURN(r->metadata_, Metadata::Open(data_dir + "/metadata.db"));
  ARCA_ASSIGN_OR_RETURN(auto key, LoadOrCreateLogKey(data_dir, log_origin));
  r->log_key_ = std::make_unique<tlog::NoteSigner>(std::move(key));
  return r;
}

Result<Registry::SignedHead> Registry::SignCheckpoint(UnixSeconds now) {
  std::lock_guard<std::mutex> lock(checkpoint_mu_);
  return SignLocked(now);
}

Result<Registry::SignedHead> Registry::SignLocked(UnixSeconds now) {
  ARCA_ASSIGN_OR_RETURN(std::uint64_t size, metadata_->LogSize());
  ARCA_ASSIGN_OR_RETURN(tlog::Hash root, tlog::TreeRoot(metadata_->LogHashes(), size));
  SignedHead head;
  head.checkpoint.origin = log_key_->verifier().name();
  head.checkpoint.size = size;
  head.checkpoint.root = root;
  // specs/log.md §3.2: a log never signs a time earlier than one it signed.
  last_checkpoint_time_ = std::max(last_checkpoint_time_, now);
  head.checkpoint.time = last_checkpoint_time_;
  ARCA_ASSIGN_OR_RETURN(head.note, tlog::SignCheckpoint(head.checkpoint, *log_key_));
  return head;
}

void Registry::ConfigureWitnesses(std::vector<WitnessEndpoint> witnesses, std::int64_t refresh_s, std::int64_t retry_s) {
  std::lock_guard<std::mutex> lock(checkpoint_mu_);
  witnesses_.clear();
  for (auto& w : witnesses) {
    WitnessSlot slot{std::move(w), 0, 0, {}};
    witnesses_.push_back(std::move(slot));
  }
  head_refresh_s_ = refresh_s;
  witness_retry_s_ = retry_s;
  head_.reset();
}

namespace {

// PostToWitness sends one add-checkpoint body (tlog-witness) over HTTP(S).
Result<tlog::WitnessAnswer> PostToWitness(const WitnessEndpoint& w, const std::string& body) {
  std::string url = w.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  const std::size_t scheme = url.find("://");
  const std::size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  std::string origin = slash == std::string::npos ? url : url.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : url.substr(slash);
  httplib::Client cli(origin);
  cli.set_connection_timeout(std::chrono::milliseconds(w.timeout_ms));
  cli.set_read_timeout(std::chrono::milliseconds(w.timeout_ms));
  cli.set_write_timeout(std::chrono::milliseconds(w.timeout_ms));
  auto res = cli.Post(prefix + "/add-checkpoint", body, "text/plain");
  if (!res) {
    return UnavailableError("cannot reach witness " + w.key.name() + " at " + w.url + " (" + httplib::to_string(res.error()) +
                            " error)");
  }
  tlog::WitnessAnswer a;
  a.http_status = res->status;
  a.content_type = res->get_header_value("Content-Type");
  a.body = res->body.substr(0, 64 * 1024);
  return a;
}

}  // namespace

Result<Registry::SignedHead> Registry::CurrentHead(UnixSeconds now) {
  std::lock_guard<std::mutex> lock(checkpoint_mu_);
  ARCA_ASSIGN_OR_RETURN(std::uint64_t size, metadata_->LogSize());
  if (!head_ || head_->checkpoint.size != size || now - *head_->checkpoint.time >= head_refresh_s_) {
    ARCA_ASSIGN_OR_RETURN(head_, SignLocked(now));
  }
  if (witnesses_.empty()) return *head_;
  // Ask each witness whose cosignature the served note lacks, all at once
  // (one slow witness costs its own timeout, not the sum). Each request
  // touches only its own slot; metadata reads take their own connections.
  ARCA_ASSIGN_OR_RETURN(tlog::Note note, tlog::ParseNote(head_->note));
  // The log's own note, without other witnesses' lines, is what is submitted.
  ARCA_ASSIGN_OR_RETURN(std::string submitted, tlog::SerializeNote(tlog::Note{note.text, {note.signatures.front()}}));
  const tlog::ConsistencyProver prover = [this](std::uint64_t a, std::uint64_t b) {
    return tlog::ConsistencyProof(metadata_->LogHashes(), a, b);
  };
  std::vector<std::pair<WitnessSlot*, std::future<Result<tlog::NoteSignature>>>> asked;
  for (WitnessSlot& slot : witnesses_) {
    const tlog::NoteVerifier& key = slot.endpoint.key;
    const bool has = std::any_of(note.signatures.begin(), note.signatures.end(), [&](const tlog::NoteSignature& s) {
      return s.name == key.name() && s.key_id == key.key_id();
    });
    if (has || now < slot.retry_after) continue;
    WitnessSlot* sp = &slot;
    asked.emplace_back(sp, std::async(std::launch::async, [sp, &submitted, &prover] {
      tlog::WitnessPoster post = [sp](const std::string& body) { return PostToWitness(sp->endpoint, body); };
      return tlog::RequestCosignature(submitted, sp->endpoint.key, prover, post, &sp->known_size);
    }));
  }
  bool changed = false;
  for (auto& [slot, pending] : asked) {
    auto sig = pending.get();
    if (!sig.ok()) {
      slot->retry_after = now + witness_retry_s_;
      slot->last_error = sig.status().message();
      std::fprintf(stderr, "arca-registry: checkpoint of %llu entries not cosigned: %s\n",
                   static_cast<unsigned long long>(head_->checkpoint.size), slot->last_error.c_str());
      continue;
    }
    slot->last_error.clear();
    note.signatures.push_back(std::move(*sig));
    changed = true;
  }
  if (changed) {
    ARCA_ASSIGN_OR_RETURN(head_->note, tlog::SerializeNote(note));
  }
  return *head_;
}

std::vector<Registry::WitnessReport> Registry::WitnessStatus() {
  std::lock_guard<std::mutex> lock(checkpoint_mu_);
  std::vector<WitnessReport> out;
  for (const auto& w : witnesses_) {
    out.push_back({w.endpoint.key.name(), w.endpoint.key.ToString(), w.endpoint.url, w.known_size, w.last_error});
  }
  return out;
}

Result<std::string> Registry::TlogProof(std::uint64_t index, UnixSeconds now) {
  ARCA_ASSIGN_OR_RETURN(SignedHead head, CurrentHead(now));
  if (index >= head.checkpoint.size) {
    return InvalidArgumentError("log entry " + std::to_string(index) + " does not exist (the log has " +
                                std::to_string(head.checkpoint.size) + ")");
  }
  tlog::TlogProof proof;
  proof.index = index;
  ARCA_ASSIGN_OR_RETURN(proof.hashes, tlog::InclusionProof(metadata_->LogHashes(), index, head.checkpoint.size));
  proof.checkpoint = head.note;
  return tlog::SerializeTlogProof(proof);
}

Result<std::uint64_t> Registry::AddRoot(const std::string& ns, ByteSpan root_doc, UnixSeconds now) {
  if (!IsValidNamespace(ns)) return InvalidArgumentError("namespace '" + ns + "' is not a valid name component");
  ARCA_ASSIGN_OR_RETURN(signer::SignedRoot incoming, signer::ParseRoot(root_doc));
  if (incoming.root.namespace_name != ns) {
    return FailedPreconditionError("the root is for namespace " + incoming.root.namespace_name + ", not " + ns);
  }
  ARCA_ASSIGN_OR_RETURN(auto info, metadata_->GetNamespace(ns));
  std::vector<signer::SignedRoot> chain;
  if (info) {
    for (const auto& doc : info->roots) {
      ARCA_ASSIGN_OR_RETURN(auto r, signer::ParseRoot(doc));
      chain.push_back(std::move(r));
    }
  }
  Verdict v;
  if (chain.empty()) {
    // The operator vouches for the first root out of band; it must still be
    // signed by a threshold of its own keys.
    ARCA_RETURN_IF_ERROR(signer::WalkRootChain(incoming, {}, now, v).status());
  } else {
    std::uint64_t newest = chain.back().root.version;
    if (incoming.root.version <= newest) {
      return AlreadyExistsError("namespace " + ns + " already has root version " + std::to_string(newest) +
                                " (a root only moves forward)");
    }
    std::vector<signer::SignedRoot> updates(chain.begin() + 1, chain.end());
    updates.push_back(incoming);
    ARCA_RETURN_IF_ERROR(signer::WalkRootChain(chain.front(), updates, now, v).status());
  }
  ARCA_RETURN_IF_ERROR(metadata_->AddRoot(ns, incoming.root.version, root_doc, now));
  return incoming.root.version;
}

Result<GcReport> Registry::CollectGarbage(UnixSeconds now, std::int64_t grace_s, std::int64_t upload_grace_s) {
  auto sweep = [&](const std::set<std::string>& known, GcReport& report) -> Status {
    // Runs under the metadata write lock, so no blob is being placed now.
    auto& fs = FileSystem::Default();
    std::string base = blobs_->root() + "/blobs/sha256";
    ARCA_ASSIGN_OR_RETURN(auto prefixes, fs.ListDir(base));
    for (const auto& p : prefixes) {
      auto files = fs.ListDir(base + "/" + p);
      if (!files.ok()) continue;
      for (const auto& f : *files) {
        std::string digest = "sha256:" + f;
        if (!format::IsValidDigest(digest) || known.count(digest)) continue;
        ARCA_ASSIGN_OR_RETURN(std::uint64_t freed, blobs_->Delete(digest));
        report.blobs_deleted++;
        report.bytes_deleted += freed;
        report.deleted.push_back(digest);
      }
    }
    return Status::Ok();
  };
  return metadata_->CollectGarbage(
      now, grace_s, upload_grace_s, [&](const std::string& d) { return blobs_->Delete(d); },
      [&](const std::string& id) { return blobs_->DeleteUpload(id); }, sweep);
}

// ============================================================================
// Server

struct Server::Impl {
  Registry& reg;
  ServeOptions opt;
  std::unique_ptr<httplib::Server> http;
  std::thread thread;
  int bound_port = 0;
  Metrics metrics;
  std::mutex sessions_mu;
  std::map<std::string, std::shared_ptr<Session>> sessions;

  Impl(Registry& r, ServeOptions o) : reg(r), opt(std::move(o)) {}

  UnixSeconds Now() const { return opt.clock ? opt.clock() : SystemClock(); }

  std::shared_ptr<Session> SessionFor(const std::string& id, bool create) {
    std::lock_guard<std::mutex> lock(sessions_mu);
    auto it = sessions.find(id);
    if (it != sessions.end()) return it->second;
    if (!create) return nullptr;
    auto s = std::make_shared<Session>();
    sessions[id] = s;
    return s;
  }
  void DropSession(const std::string& id) {
    std::lock_guard<std::mutex> lock(sessions_mu);
    sessions.erase(id);
  }

  // ---- authorization ------------------------------------------------------
  // Authorize returns an error to send, or nullopt when allowed. The
  // default is deny: only a valid token granting the action on the
  // namespace, or a public-pull namespace for reads, gets through.
  std::optional<ApiError> Authorize(const httplib::Request& req, const Route& route,
                                    std::optional<TokenInfo>* grant_out = nullptr) {
    std::string header = req.get_header_value("Authorization");
    std::optional<TokenInfo> grant;
    if (!header.empty()) {
      auto token = TokenFromAuthorization(header);
      if (!token.ok()) return Err(401, "UNAUTHORIZED", token.status().message());
      auto looked = reg.metadata().LookupToken(*token);
      if (!looked.ok()) return Internal(looked.status());
      if (!*looked) return Err(401, "UNAUTHORIZED", "the token is not valid (unknown or revoked)");
      grant = **looked;
    }
    if (grant_out) *grant_out = grant;
    if (route.kind == RouteKind::kBase) {
      if (!grant) return Err(401, "UNAUTHORIZED", "authentication required: use a token from 'arca-registry token create'");
      return std::nullopt;
    }
    return Allowed(grant, route.ns, route.action);
  }

  std::optional<ApiError> Allowed(const std::optional<TokenInfo>& grant, const std::string& ns, Action action) {
    int need = action == Action::kPull ? kScopePull : action == Action::kPush ? kScopePush : kScopeDelete;
    if (grant && grant->ns == ns && (grant->scopes & need)) return std::nullopt;
    if (action == Action::kPull) {
      auto info = reg.metadata().GetNamespace(ns);
      if (!info.ok()) return Internal(info.status());
      if (*info && (*info)->public_pull) return std::nullopt;
    }
    std::string what = action == Action::kPull ? "pull from" : action == Action::kPush ? "push to" : "delete in";
    if (!grant) return Err(401, "UNAUTHORIZED", "authentication required to " + what + " namespace " + ns);
    return Err(403, "DENIED", "the token (id " + grant->id + ") may not " + what + " namespace " + ns);
  }

  // ---- dispatch -------------------------------------------------------------
  void Handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    RouteResult parsed = ParseRoute(req.method, req.path);
    if (!parsed.route) return SendError(res, parsed.error);
    const Route& route = *parsed.route;
    std::optional<TokenInfo> grant;
    if (auto denied = Authorize(req, route, &grant)) return SendError(res, *denied);
    res.set_header("Docker-Distribution-API-Version", "registry/2.0");
    switch (route.kind) {
      case RouteKind::kBase:
        res.status = 200;
        res.set_content("{}", "application/json");
        return;
      case RouteKind::kBlob:
        return GetBlob(req, res, route);
      case RouteKind::kUploadStart:
        return StartUpload(req, res, route, grant, reader);
      case RouteKind::kUpload:
        return UploadChunk(req, res, route, reader);
      case RouteKind::kManifest:
        if (req.method == "PUT") return PutManifest(req, res, route, reader);
        if (req.method == "DELETE") return DeleteManifest(res, route);
        return GetManifest(req, res, route);
      case RouteKind::kTagsList:
        return ListTags(req, res, route);
      case RouteKind::kReferrers:
        return Referrers(req, res, route);
    }
  }

  // ---- transparency log (specs/registry.md §8) -------------------------------
  // The log is public: entries name repositories, tags and digests, never
  // content, and every client must be able to see the same history.
  void HandleLog(const httplib::Request& req, httplib::Response& res, const std::string& what) {
    auto text = [&](int status, const std::string& body, const char* type = "text/plain; charset=utf-8") {
      res.status = status;
      res.set_header("Cache-Control", "no-store");
      res.set_content(body, type);
    };
    if (what == "checkpoint") {
      auto head = reg.CurrentHead(Now());
      if (!head.ok()) return SendError(res, Internal(head.status()));
      return text(200, head->note);
    }
    if (what == "key") return text(200, reg.log_key().verifier().ToString() + "\n");
    if (what == "witnesses") {
      // The witnesses this log asks, for clients choosing whom to trust and
      // operators seeing why a checkpoint lacks a cosignature.
      Json list = Json::array();
      for (const auto& w : reg.WitnessStatus()) {
        list.push_back({{"name", w.name}, {"key", w.key}, {"url", w.url}, {"cosignedSize", w.known_size},
                        {"error", w.last_error.empty() ? Json(nullptr) : Json(w.last_error)}});
      }
      return text(200, Json{{"witnesses", list}}.dump(), "application/json");
    }
    if (what == "proof") {
      std::string v = req.get_param_value("index");
      if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos) {
        return SendError(res, Err(400, "UNSUPPORTED", "proof needs ?index=<entry index>"));
      }
      auto proof = reg.TlogProof(std::strtoull(v.c_str(), nullptr, 10), Now());
      if (proof.status().code() == StatusCode::kInvalidArgument) {
        return SendError(res, Err(404, "NAME_UNKNOWN", proof.status().message()));
      }
      if (!proof.ok()) return SendError(res, Internal(proof.status()));
      return text(200, *proof);
    }
    if (what == "entries") {
      std::string repo = req.get_param_value("repository");
      if (!IsValidRepositoryName(repo)) return SendError(res, Err(400, "NAME_INVALID", "entries needs ?repository=<namespace/name>"));
      auto rows = reg.metadata().LogEntriesFor(repo, repo.substr(0, repo.find('/')));
      if (!rows.ok()) return SendError(res, Internal(rows.status()));
      Json list = Json::array();
      for (const auto& r : *rows) list.push_back({{"index", r.index}, {"entry", r.entry}});
      return text(200, Json({{"entries", list}}).dump(), "application/json");
    }
    if (what == "roots") {
      // The namespace's registered root documents; each one's digest is in a
      // logged `root` entry, which is what makes them worth anything.
      std::string ns = req.get_param_value("namespace");
      if (!IsValidNamespace(ns)) return SendError(res, Err(400, "NAME_INVALID", "roots needs ?namespace=<namespace>"));
      auto info = reg.metadata().GetNamespace(ns);
      if (!info.ok()) return SendError(res, Internal(info.status()));
      Json list = Json::array();
      if (*info) {
        for (const auto& doc : (*info)->roots) list.push_back(Base64Encode(doc));
      }
      return text(200, Json({{"roots", list}}).dump(), "application/json");
    }
    if (what.rfind("tile/", 0) == 0) {
      auto tile = tlog::ParseTilePath(what);
      if (!tile.ok()) return SendError(res, Err(404, "NAME_UNKNOWN", tile.status().message()));
      Bytes body;
      if (tile->entries) {
        auto rows = reg.metadata().LogEntriesRange(tile->index * tlog::kTileWidth, tile->width);
        if (!rows.ok()) return SendError(res, Internal(rows.status()));
        if (rows->size() != tile->width) return SendError(res, Err(404, "NAME_UNKNOWN", "no such entry bundle (yet)"));
        auto b = tlog::EncodeEntryBundle(*rows);
        if (!b.ok()) return SendError(res, Internal(b.status()));
        body = std::move(*b);
      } else {
        auto b = tlog::ReadTile(reg.metadata().LogHashes(), *tile);
        if (b.status().code() == StatusCode::kNotFound) return SendError(res, Err(404, "NAME_UNKNOWN", "no such tile (yet)"));
        if (!b.ok()) return SendError(res, Internal(b.status()));
        body = std::move(*b);
      }
      res.status = 200;
      res.set_content(std::string(body.begin(), body.end()), "application/octet-stream");
      return;
    }
    return SendError(res, Err(404, "NAME_UNKNOWN", "no log endpoint " + what.substr(0, 64)));
  }

  // ReportKeyRelease appends a `key-release` entry reported by the key broker
  // (specs/registry.md §8): a token with push scope on the repository's
  // namespace, a JSON body naming a manifest this repository holds. Answers
  // 201 with the entry's tlog-proof@v1.
  void ReportKeyRelease(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    std::string body;
    bool too_big = false;
    reader([&](const char* data, std::size_t len) {
      if (body.size() + len > 16 * 1024) {
        too_big = true;
        return false;
      }
      body.append(data, len);
      return true;
    });
    if (too_big) return SendError(res, Err(413, "SIZE_INVALID", "a key-release report is at most 16 KiB"));
    auto j = ParseJson(body, "key-release report");
    if (!j.ok()) return SendError(res, Err(400, "UNSUPPORTED", j.status().message()));
    Status fields = RejectUnknownFields(*j, {"repository", "manifest", "measurement", "platform", "evidence", "recipient"},
                                        "key-release report");
    if (!fields.ok()) return SendError(res, Err(400, "UNSUPPORTED", fields.message()));
    tlog::LogEntry e;
    e.kind = std::string(tlog::kEntryKeyRelease);
    for (auto [name, out] : {std::pair<const char*, std::string*>{"repository", &e.repository}, {"manifest", &e.manifest},
                             {"measurement", &e.measurement}, {"platform", &e.platform}, {"evidence", &e.evidence},
                             {"recipient", &e.recipient}}) {
      auto v = RequireString(*j, name, "key-release report");
      if (!v.ok()) return SendError(res, Err(400, "UNSUPPORTED", v.status().message()));
      *out = *v;
    }
    if (!IsValidRepositoryName(e.repository)) return SendError(res, Err(400, "NAME_INVALID", "repository is not a valid name"));
    e.ns = e.repository.substr(0, e.repository.find('/'));
    Route route{RouteKind::kManifest, e.repository, e.ns, e.manifest, Action::kPush};
    std::optional<TokenInfo> grant;
    if (auto denied = Authorize(req, route, &grant)) return SendError(res, *denied);
    if (!format::IsValidDigest(e.manifest)) {
      return SendError(res, Err(400, "DIGEST_INVALID", "manifest is not a sha256 digest"));
    }
    // The broker knows a version by its Arca manifest (the blob every
    // signature's subject names); an OCI manifest digest is accepted too.
    auto m = reg.metadata().ResolveManifest(e.repository, e.manifest);
    if (!m.ok()) return SendError(res, Internal(m.status()));
    auto blob = reg.metadata().RepoBlobSize(e.repository, e.manifest);
    if (!blob.ok()) return SendError(res, Internal(blob.status()));
    if (!*m && !*blob) {
      return SendError(res, Err(404, "MANIFEST_UNKNOWN", "manifest " + e.manifest.substr(0, 80) + " is not in " + e.repository));
    }
    e.time = Now();
    if (auto check = tlog::EncodeLogEntry(e); !check.ok()) return SendError(res, Err(400, "UNSUPPORTED", check.status().message()));
    auto row = reg.metadata().AppendLog(e);
    if (!row.ok()) return SendError(res, Internal(row.status()));
    auto proof = reg.TlogProof(row->index, Now());
    if (!proof.ok()) return SendError(res, Internal(proof.status()));
    res.status = 201;
    res.set_header("Arca-Log-Entries", std::to_string(row->index));
    res.set_content(*proof, "text/plain; charset=utf-8");
  }

  // ---- blobs ------------------------------------------------------------------
  void GetBlob(const httplib::Request& req, httplib::Response& res, const Route& route) {
    if (req.method == "DELETE") {
      return SendError(res, Err(405, "UNSUPPORTED", "blobs are deleted by 'arca-registry gc', not by clients"));
    }
    auto size = reg.metadata().RepoBlobSize(route.name, route.reference);
    if (!size.ok()) return SendError(res, Internal(size.status()));
    if (!*size) return SendError(res, Err(404, "BLOB_UNKNOWN", "blob " + route.reference + " is not in " + route.name));
    auto file = reg.blobs().Open(route.reference);
    if (!file.ok()) return SendError(res, Internal(file.status().WithContext("blob " + route.reference)));
    std::shared_ptr<RandomAccessFile> f(std::move(*file));
    res.set_header("Docker-Content-Digest", route.reference);
    res.set_header("Accept-Ranges", "bytes");
    res.set_header("ETag", "\"" + route.reference + "\"");
    // Status left unset: httplib answers 206 for a Range request, else 200.
    std::uint64_t total = f->size();
    // One read buffer per response, not one per MiB sent.
    auto buf = std::make_shared<std::vector<std::uint8_t>>(std::min<std::uint64_t>(total, 1 << 20));
    res.set_content_provider(
        std::size_t(total), "application/octet-stream",
        [f, buf, this](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
          std::size_t n = std::min(length, buf->size());
          if (!f->ReadAt(offset, std::span<std::uint8_t>(buf->data(), n)).ok()) return false;
          metrics.bytes_out += n;
          return sink.write(reinterpret_cast<const char*>(buf->data()), n);
        });
  }

  void StartUpload(const httplib::Request& req, httplib::Response& res, const Route& route,
                   const std::optional<TokenInfo>& grant, const httplib::ContentReader* reader) {
    UnixSeconds now = Now();
    // Cross-repository mount (distribution-spec "Mounting a blob from another
    // repository"): needs pull on the source, and the source must have it.
    if (req.has_param("mount")) {
      std::string digest = req.get_param_value("mount");
      std::string from = req.get_param_value("from");
      if (format::IsValidDigest(digest) && IsValidRepositoryName(from)) {
        std::string from_ns = from.substr(0, from.find('/'));
        if (!Allowed(grant, from_ns, Action::kPull).has_value()) {  // allowed
          auto linked = reg.metadata().LinkExistingBlob(from, route.name, digest, now);
          if (!linked.ok()) return SendError(res, Internal(linked.status()));
          if (*linked) {
            res.status = 201;
            res.set_header("Location", BlobLocation(route.name, digest));
            res.set_header("Docker-Content-Digest", digest);
            return;
          }
        }
      }
      // Otherwise fall through to a normal upload session, as the spec says.
    }
    std::string id = NewUploadId();
    if (auto s = reg.blobs().NewUpload(id); !s.ok()) return SendError(res, Internal(s));
    if (auto s = reg.metadata().CreateUpload(id, route.name, now); !s.ok()) {
      (void)reg.blobs().DeleteUpload(id);
      return SendError(res, Internal(s));
    }
    if (req.has_param("digest")) {
      // Monolithic upload: the body is the whole blob.
      Route r = route;
      r.kind = RouteKind::kUpload;
      r.reference = id;
      return FinishOrAppend(req, res, r, reader, /*finish=*/true);
    }
    res.status = 202;
    res.set_header("Location", UploadLocation(route.name, id));
    res.set_header("Range", RangeHeader(0));
    res.set_header("Docker-Upload-UUID", id);
  }

  void UploadChunk(const httplib::Request& req, httplib::Response& res, const Route& route,
                   const httplib::ContentReader* reader) {
    auto repo = reg.metadata().UploadRepo(route.reference);
    if (!repo.ok()) return SendError(res, Internal(repo.status()));
    if (!*repo || **repo != route.name) {
      return SendError(res, Err(404, "BLOB_UPLOAD_UNKNOWN", "no upload session " + route.reference + " in " + route.name));
    }
    if (req.method == "DELETE") {
      (void)reg.blobs().DeleteUpload(route.reference);
      (void)reg.metadata().DeleteUpload(route.reference);
      DropSession(route.reference);
      res.status = 204;
      return;
    }
    if (req.method == "GET") {
      auto size = reg.blobs().UploadSize(route.reference);
      if (!size.ok()) return SendError(res, Err(404, "BLOB_UPLOAD_UNKNOWN", "upload session has no data file"));
      res.status = 204;
      res.set_header("Location", UploadLocation(route.name, route.reference));
      res.set_header("Range", RangeHeader(*size));
      res.set_header("Docker-Upload-UUID", route.reference);
      return;
    }
    return FinishOrAppend(req, res, route, reader, req.method == "PUT");
  }

  // FinishOrAppend appends the request body to the session (PATCH, or the
  // optional last chunk of PUT) and, with finish, checks the digest and
  // stores the blob.
  void FinishOrAppend(const httplib::Request& req, httplib::Response& res, const Route& route,
                      const httplib::ContentReader* reader, bool finish) {
    const std::string& id = route.reference;
    std::string digest;
    if (finish) {
      digest = req.get_param_value("digest");
      if (!format::IsValidDigest(digest)) {
        return SendError(res, Err(400, "DIGEST_INVALID", "finishing an upload needs ?digest=sha256:<64 hex digits>"));
      }
    }
    auto session = SessionFor(id, true);
    std::lock_guard<std::mutex> lock(session->mu);
    auto current = reg.blobs().UploadSize(id);
    if (!current.ok()) return SendError(res, Err(404, "BLOB_UPLOAD_UNKNOWN", "upload session has no data file"));
    std::optional<std::uint64_t> declared;
    if (req.has_header("Content-Range")) {
      auto range = ParseContentRange(req.get_header_value("Content-Range"));
      if (!range.ok()) return SendError(res, Err(400, "BLOB_UPLOAD_INVALID", range.status().message()));
      if (range->start != *current) {
        res.set_header("Location", UploadLocation(route.name, id));
        res.set_header("Range", RangeHeader(*current));
        return SendError(res, Err(416, "BLOB_UPLOAD_INVALID",
                                  "Content-Range starts at " + std::to_string(range->start) + " but the session holds " +
                                      std::to_string(*current) + " bytes"));
      }
      declared = range->end - range->start + 1;
    }
    if (req.has_header("Content-Length")) {
      std::uint64_t cl = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
      if (declared && cl != *declared) {
        return SendError(res, Err(400, "BLOB_UPLOAD_INVALID",
                                  "Content-Length " + std::to_string(cl) + " does not match Content-Range length " +
                                      std::to_string(*declared)));
      }
      declared = cl;
    }
    // The in-memory hash is only usable if it covers exactly the file (not
    // after a restart or a write that failed midway): otherwise re-read at finish.
    if (session->hashed != *current) session->hashed = UINT64_MAX;
    std::uint64_t received = 0;
    Status write_status;
    bool too_long = false;
    if (reader) {
      auto app = reg.blobs().AppendUpload(id);
      if (!app.ok()) return SendError(res, Internal(app.status()));
      (*reader)([&](const char* data, std::size_t len) {
        if (declared && received + len > *declared) {
          too_long = true;
          return false;
        }
        ByteSpan chunk(reinterpret_cast<const std::uint8_t*>(data), len);
        write_status = (*app)->Append(chunk);
        if (!write_status.ok()) return false;
        if (session->hashed != UINT64_MAX) {
          session->hash.Update(chunk);
          session->hashed += len;
        }
        received += len;
        metrics.bytes_in += len;
        return true;
      });
      // Durable before the reply: the Range we report is what a resumed
      // push continues from.
      if (write_status.ok()) write_status = (*app)->Sync();
      Status closed = (*app)->Close();
      if (write_status.ok()) write_status = closed;
    }
    if (too_long) {
      // What arrived before the excess stays; the client can resume from
      // the session's Range after fixing its request.
      return SendError(res, Err(400, "SIZE_INVALID", "the body is larger than its declared length " +
                                                         std::to_string(*declared)));
    }
    if (!write_status.ok()) return SendError(res, Internal(write_status));
    if (declared && received != *declared) {
      return SendError(res, Err(400, "SIZE_INVALID", "the body ended after " + std::to_string(received) +
                                                         " of its declared " + std::to_string(*declared) + " bytes"));
    }
    std::uint64_t size = *current + received;
    if (!finish) {
      res.status = 202;
      res.set_header("Location", UploadLocation(route.name, id));
      res.set_header("Range", RangeHeader(size));
      res.set_header("Docker-Upload-UUID", id);
      return;
    }
    std::string actual;
    if (session->hashed == size) {
      actual = "sha256:" + HexEncode(session->hash.Finish());
    } else {
      auto h = reg.blobs().HashUpload(id);
      if (!h.ok()) return SendError(res, Internal(h.status()));
      actual = *h;
    }
    DropSession(id);
    if (actual != digest) {
      (void)reg.blobs().DeleteUpload(id);
      (void)reg.metadata().DeleteUpload(id);
      return SendError(res, Err(400, "DIGEST_INVALID", "the uploaded bytes hash to " + actual + ", not " + digest +
                                                           "; the upload was discarded"));
    }
    Status committed = reg.metadata().CommitBlob(route.name, digest, size, Now(),
                                                 [&] { return reg.blobs().PlaceUpload(id, digest); });
    if (!committed.ok()) return SendError(res, Internal(committed));
    (void)reg.metadata().DeleteUpload(id);
    res.status = 201;
    res.set_header("Location", BlobLocation(route.name, digest));
    res.set_header("Docker-Content-Digest", digest);
  }

  // ---- manifests ------------------------------------------------------------
  void GetManifest(const httplib::Request& req, httplib::Response& res, const Route& route) {
    auto m = reg.metadata().ResolveManifest(route.name, route.reference);
    if (!m.ok()) return SendError(res, Internal(m.status()));
    if (!*m) {
      return SendError(res, Err(404, "MANIFEST_UNKNOWN", "manifest " + route.reference + " is not in " + route.name));
    }
    auto file = reg.blobs().Open((*m)->digest);
    if (!file.ok()) return SendError(res, Internal(file.status()));
    std::string body((*file)->size(), '\0');
    if (auto s = (*file)->ReadAt(0, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(body.data()), body.size()));
        !s.ok()) {
      return SendError(res, Internal(s));
    }
    res.status = 200;
    res.set_header("Docker-Content-Digest", (*m)->digest);
    res.set_header("ETag", "\"" + (*m)->digest + "\"");
    metrics.bytes_out += body.size();
    res.set_content(std::move(body), (*m)->media_type.c_str());
  }

  void DeleteManifest(httplib::Response& res, const Route& route) {
    if (!format::IsValidDigest(route.reference)) {
      return SendError(res, Err(400, "UNSUPPORTED", "delete a manifest by digest; tags move, they are not deleted"));
    }
    auto m = reg.metadata().ResolveManifest(route.name, route.reference);
    if (!m.ok()) return SendError(res, Internal(m.status()));
    if (!*m) return SendError(res, Err(404, "MANIFEST_UNKNOWN", "manifest " + route.reference + " is not in " + route.name));
    if (auto s = reg.metadata().DeleteManifest(route.name, route.reference); !s.ok()) return SendError(res, Internal(s));
    res.status = 202;
  }

  void PutManifest(const httplib::Request& req, httplib::Response& res, const Route& route,
                   const httplib::ContentReader* reader) {
    std::string content_type = req.get_header_value("Content-Type");
    if (auto semi = content_type.find(';'); semi != std::string::npos) content_type.resize(semi);
    if (content_type != format::kOciManifestMediaType) {
      return SendError(res, Err(415, "MANIFEST_INVALID",
                                "unsupported manifest media type '" + content_type + "': this registry stores " +
                                    std::string(format::kOciManifestMediaType)));
    }
    std::string body;
    bool too_big = false;
    if (reader) {
      (*reader)([&](const char* data, std::size_t len) {
        if (body.size() + len > kMaxManifestBytes) {
          too_big = true;
          return false;
        }
        body.append(data, len);
        return true;
      });
    }
    if (too_big) {
      return SendError(res, Err(413, "SIZE_INVALID", "manifest larger than " + std::to_string(kMaxManifestBytes) + " bytes"));
    }
    metrics.bytes_in += body.size();
    auto parsed = format::ParseOciManifest(AsBytes(body));
    if (!parsed.ok()) return SendError(res, Err(400, "MANIFEST_INVALID", parsed.status().message()));
    std::string digest = format::DigestOf(AsBytes(body));
    bool by_digest = format::IsValidDigest(route.reference);
    if (by_digest && route.reference != digest) {
      return SendError(res, Err(400, "DIGEST_INVALID", "the manifest hashes to " + digest + ", not " + route.reference));
    }
    // Every referenced blob must be in this repository, with its size.
    std::vector<format::Descriptor> descs = {parsed->config};
    descs.insert(descs.end(), parsed->layers.begin(), parsed->layers.end());
    std::vector<std::string> digests;
    for (const auto& d : descs) {
      auto size = reg.metadata().RepoBlobSize(route.name, d.digest);
      if (!size.ok()) return SendError(res, Internal(size.status()));
      if (!*size) {
        return SendError(res, Err(400, "MANIFEST_BLOB_UNKNOWN", "the manifest references blob " + d.digest +
                                                                    ", which is not in " + route.name + "; push it first"));
      }
      if (**size != d.size) {
        return SendError(res, Err(400, "SIZE_INVALID", "the manifest gives blob " + d.digest + " size " +
                                                           std::to_string(d.size) + " but it has " +
                                                           std::to_string(**size) + " bytes"));
      }
      digests.push_back(d.digest);
    }
    // The namespace's rule: with a registered root, only Arca packages that
    // verify against it.
    auto ns = reg.metadata().GetNamespace(route.ns);
    if (!ns.ok()) return SendError(res, Internal(ns.status()));
    bool is_arca = parsed->artifact_type == kArcaArtifactType;
    bool has_root = *ns && !(*ns)->roots.empty();
    if (has_root && !is_arca) {
      return SendError(res, Err(400, "MANIFEST_INVALID", "namespace " + route.ns + " has a root: it accepts only sealed Arca "
                                                        "packages (artifactType " + std::string(kArcaArtifactType) + ")"));
    }
    if (is_arca && !has_root) {
      return SendError(res, Err(403, "DENIED", "namespace " + route.ns + " has no registered root, so no package can be "
                                               "verified: run 'arca-registry namespace add " + route.ns +
                                               " --root ROOT.json' first"));
    }
    std::optional<tlog::LogEntry> publish;
    if (is_arca) {
      publish.emplace();
      if (auto refused = VerifyPackage(route, body, digest, *parsed, (*ns)->roots, &*publish)) {
        metrics.pushes_refused++;
        return SendError(res, *refused);
      }
    }
    // Store the manifest bytes as a blob, then record it (and move the tag).
    std::string staging = NewUploadId();
    auto written = reg.blobs().WriteBlob(AsBytes(body), staging);
    if (!written.ok()) return SendError(res, Internal(written.status()));
    UnixSeconds now = Now();
    Status committed = reg.metadata().CommitBlob(route.name, digest, body.size(), now,
                                                 [&] { return reg.blobs().PlaceUpload(staging, digest); });
    if (!committed.ok()) return SendError(res, Internal(committed));
    ManifestRecord rec{route.name, digest, std::string(format::kOciManifestMediaType), parsed->artifact_type, "",
                       body.size(), now};
    // subject (OCI 1.1) for the referrers API: read from the raw JSON, as the
    // format's manifest type does not carry it.
    if (auto j = ParseJson(body, "manifest"); j.ok() && j->contains("subject") && (*j)["subject"].is_object()) {
      const Json& s = (*j)["subject"];
      if (s.contains("digest") && s["digest"].is_string() && format::IsValidDigest(s["digest"].get<std::string>())) {
        rec.subject = s["digest"].get<std::string>();
        res.set_header("OCI-Subject", rec.subject);
      }
    }
    if (publish) publish->time = now;
    std::vector<LogRow> logged;
    Status put = reg.metadata().PutManifest(rec, digests, by_digest ? "" : route.reference, now,
                                            publish ? &*publish : nullptr, &logged);
    if (put.code() == StatusCode::kNotFound) {
      return SendError(res, Err(400, "MANIFEST_BLOB_UNKNOWN", put.message() + " (collected meanwhile); push it again"));
    }
    if (put.code() == StatusCode::kFailedPrecondition) {
      metrics.pushes_refused++;
      return SendError(res, Err(400, "MANIFEST_INVALID", "refused: " + put.message()));
    }
    if (!put.ok()) return SendError(res, Internal(put));
    if (!logged.empty()) {
      // specs/registry.md §8: the push's answer carries the log indices and
      // a tlog-proof@v1 of the first (the publish when there is one).
      std::string indices;
      for (const auto& r : logged) indices += (indices.empty() ? "" : ",") + std::to_string(r.index);
      res.set_header("Arca-Log-Entries", indices);
      auto proof = reg.TlogProof(logged.front().index, Now());
      if (proof.ok()) res.set_header("Arca-Log-Proof", Base64Encode(AsBytes(*proof)));
      else std::fprintf(stderr, "arca-registry: log proof for entry %llu: %s\n",
                        static_cast<unsigned long long>(logged.front().index), proof.status().ToString().c_str());
    }
    res.status = 201;
    res.set_header("Location", "/v2/" + route.name + "/manifests/" + digest);
    res.set_header("Docker-Content-Digest", digest);
  }

  // VerifyPackage assembles a temporary OCI layout of hard links to the
  // pushed blobs and runs the signer's full (non-deep) verification against
  // the namespace's registered roots. Returns the refusal, or nullopt.
  std::optional<ApiError> VerifyPackage(const Route& route, const std::string& body, const std::string& digest,
                                        const format::OciManifest& m, const std::vector<Bytes>& roots,
                                        tlog::LogEntry* publish) {
    auto& fs = FileSystem::Default();
    std::string dir = reg.blobs().TempDir() + "/verify-" + NewUploadId();
    struct Cleanup {
      std::string d;
      ~Cleanup() { (void)FileSystem::Default().RemoveAll(d); }
    } cleanup{dir};
    auto fail = [&](const Status& s) { return std::optional<ApiError>(Internal(s)); };
    for (const std::string& d : {dir, dir + "/blobs", dir + "/blobs/sha256"}) {
      if (auto s = fs.MakeDir(d, 0750); !s.ok()) return fail(s);
    }
    std::vector<format::Descriptor> descs = {m.config};
    descs.insert(descs.end(), m.layers.begin(), m.layers.end());
    for (const auto& d : descs) {
      std::string to = dir + "/blobs/sha256/" + d.digest.substr(7);
      if (fs.Stat(to).ok()) continue;
      if (auto s = fs.Link(reg.blobs().BlobPath(d.digest), to); !s.ok()) return fail(s);
    }
    if (auto s = WriteFileAtomic(fs, dir + "/blobs/sha256/" + digest.substr(7), AsBytes(body), 0640); !s.ok()) {
      return fail(s);
    }
    Json index = {{"schemaVersion", 2},
                  {"mediaType", std::string(format::kOciIndexMediaType)},
                  {"manifests", Json::array({{{"mediaType", std::string(format::kOciManifestMediaType)},
                                              {"digest", digest},
                                              {"size", body.size()},
                                              {"annotations", {{std::string(format::kRefNameAnnotation), "pushed"}}}}})}};
    if (auto s = WriteFileAtomic(fs, dir + "/index.json", AsBytes(index.dump()), 0640); !s.ok()) return fail(s);
    if (auto s = WriteFileAtomic(fs, dir + "/oci-layout", AsBytes(R"({"imageLayoutVersion":"1.0.0"})"), 0640); !s.ok()) {
      return fail(s);
    }
    std::vector<signer::SignedRoot> chain;
    for (const auto& doc : roots) {
      auto r = signer::ParseRoot(doc);
      if (!r.ok()) return fail(r.status().WithContext("a registered root"));
      chain.push_back(std::move(*r));
    }
    signer::VerifyOptions options;
    options.now = Now();
    options.root_updates.assign(chain.begin() + 1, chain.end());
    Verdict v = signer::VerifyPackage(fs, format::PackageRef{dir, "pushed"}, chain.front(), options);
    if (!v.ok()) {
      std::string failed;
      for (const auto& c : v.checks()) {
        if (!c.passed) failed += (failed.empty() ? "" : "; ") + c.name + ": " + c.detail;
      }
      if (failed.empty()) failed = v.status().message();
      return Err(400, "MANIFEST_INVALID", "refused: the package does not verify against the root of namespace " +
                                              route.ns + ": " + failed);
    }
    std::string name = v.claims.value("name", "");
    if (name != route.name) {
      return Err(400, "MANIFEST_INVALID", "refused: the package is signed as " + name + ", not " + route.name +
                                              " (a package is served only under the name it was signed for)");
    }
    // What the log records about this publish (specs/log.md §9).
    publish->kind = std::string(tlog::kEntryPublish);
    publish->ns = route.ns;
    publish->repository = route.name;
    publish->manifest = digest;
    publish->package = v.claims.value("manifest", "");
    publish->name = name;
    publish->version = v.claims.value("version", "");
    if (v.claims.contains("releaseSigners") && v.claims["releaseSigners"].is_array()) {
      for (const auto& k : v.claims["releaseSigners"]) {
        if (k.is_string()) publish->signers.push_back(k.get<std::string>());
      }
    }
    for (const auto& l : m.layers) {
      std::string role = format::AttachmentRole(l);
      if (role == "provenance") publish->provenance.push_back(l.digest);
      if (role == "policy") publish->policy = l.digest;
    }
    if (v.claims.contains("policy") && v.claims["policy"].is_object() && v.claims["policy"].contains("version")) {
      publish->policy_version = v.claims["policy"]["version"].get<std::uint64_t>();
    }
    if (auto pkg = format::LoadPackage(fs, format::PackageRef{dir, "pushed"}); pkg.ok() && pkg->manifest.parent) {
      publish->parent = *pkg->manifest.parent;
    }
    if (auto check = tlog::EncodeLogEntry(*publish); !check.ok()) {
      return Err(400, "MANIFEST_INVALID", "refused: the package's facts cannot be logged: " + check.status().message());
    }
    return std::nullopt;
  }

  // ---- listings ---------------------------------------------------------------
  void ListTags(const httplib::Request& req, httplib::Response& res, const Route& route) {
    std::size_t n = kMaxTagsPage;
    if (req.has_param("n")) {
      std::string v = req.get_param_value("n");
      if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos) {
        return SendError(res, Err(400, "PAGINATION_NUMBER_INVALID", "n must be a number up to 1000"));
      }
      n = std::min<std::size_t>(std::stoul(v), kMaxTagsPage);
    }
    std::string last = req.get_param_value("last");
    auto tags = reg.metadata().ListTags(route.name, last, n + 1);
    if (!tags.ok()) return SendError(res, Internal(tags.status()));
    bool more = tags->size() > n;
    if (more) tags->resize(n);
    if (more && !tags->empty()) {
      res.set_header("Link", "</v2/" + route.name + "/tags/list?n=" + std::to_string(n) + "&last=" + tags->back() +
                                 ">; rel=\"next\"");
    }
    Json body = {{"name", route.name}, {"tags", *tags}};
    res.status = 200;
    res.set_content(body.dump(), "application/json");
  }

  void Referrers(const httplib::Request& req, httplib::Response& res, const Route& route) {
    auto refs = reg.metadata().Referrers(route.name, route.reference);
    if (!refs.ok()) return SendError(res, Internal(refs.status()));
    std::string filter = req.get_param_value("artifactType");
    Json manifests = Json::array();
    for (const auto& m : *refs) {
      if (!filter.empty() && m.artifact_type != filter) continue;
      Json d = {{"mediaType", m.media_type}, {"digest", m.digest}, {"size", m.size}};
      if (!m.artifact_type.empty()) d["artifactType"] = m.artifact_type;
      manifests.push_back(d);
    }
    if (!filter.empty()) res.set_header("OCI-Filters-Applied", "artifactType");
    Json body = {{"schemaVersion", 2}, {"mediaType", std::string(format::kOciIndexMediaType)}, {"manifests", manifests}};
    res.status = 200;
    res.set_content(body.dump(), std::string(format::kOciIndexMediaType).c_str());
  }

  void ServeMetrics(httplib::Response& res) {
    std::string out;
    out += "# HELP arca_registry_requests_total Requests by method and status.\n";
    out += "# TYPE arca_registry_requests_total counter\n";
    {
      std::lock_guard<std::mutex> lock(metrics.mu);
      for (const auto& [k, v] : metrics.requests) {
        out += "arca_registry_requests_total{method=\"" + k.first + "\",code=\"" + std::to_string(k.second) + "\"} " +
               std::to_string(v) + "\n";
      }
    }
    auto line = [&](const char* name, const char* type, std::uint64_t v) {
      out += std::string("# TYPE ") + name + " " + type + "\n" + name + " " + std::to_string(v) + "\n";
    };
    line("arca_registry_received_bytes_total", "counter", metrics.bytes_in);
    line("arca_registry_sent_bytes_total", "counter", metrics.bytes_out);
    line("arca_registry_pushes_refused_total", "counter", metrics.pushes_refused);
    line("arca_registry_request_seconds_micros_total", "counter", metrics.request_micros);
    if (auto c = reg.metadata().CountAll(); c.ok()) {
      line("arca_registry_blobs", "gauge", c->blobs);
      line("arca_registry_blob_bytes", "gauge", c->blob_bytes);
      line("arca_registry_manifests", "gauge", c->manifests);
      line("arca_registry_tags", "gauge", c->tags);
      line("arca_registry_namespaces", "gauge", c->namespaces);
    }
    res.status = 200;
    res.set_content(out, "text/plain; version=0.0.4");
  }
};

thread_local std::chrono::steady_clock::time_point g_request_start;

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Stop(); }

Result<std::unique_ptr<Server>> Server::Create(Registry& registry, ServeOptions options) {
  auto impl = std::make_unique<Impl>(registry, std::move(options));
  auto& o = impl->opt;
  if (o.tls_cert.empty() != o.tls_key.empty()) return InvalidArgumentError("--tls-cert and --tls-key go together");
  if (!o.tls_cert.empty()) {
    auto https = std::make_unique<httplib::SSLServer>(o.tls_cert.c_str(), o.tls_key.c_str());
    if (!https->is_valid()) {
      return InvalidArgumentError("cannot load the TLS certificate " + o.tls_cert + " and key " + o.tls_key);
    }
    impl->http = std::move(https);
  } else {
    impl->http = std::make_unique<httplib::Server>();
  }
  auto& svr = *impl->http;
  Impl* p = impl.get();
  // FIELD-NOTES: without TCP_NODELAY every small response waits ~25 ms.
  svr.set_tcp_nodelay(true);
  std::size_t threads = std::max<std::size_t>(o.threads, 2);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_payload_max_length(std::size_t(1) << 40);
  svr.set_read_timeout(60, 0);
  svr.set_write_timeout(60, 0);
  svr.set_keep_alive_max_count(1000);
  svr.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    g_request_start = std::chrono::steady_clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  svr.set_logger([p](const httplib::Request& req, const httplib::Response& res) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - g_request_start)
                  .count();
    p->metrics.request_micros += std::uint64_t(us);
    {
      std::lock_guard<std::mutex> lock(p->metrics.mu);
      p->metrics.requests[{req.method, res.status}]++;
    }
    if (p->opt.log_requests) {
      // Method, path, status, bytes, ms: never headers (tokens) or queries.
      std::size_t out_bytes = res.body.size();
      if (auto cl = res.get_header_value("Content-Length"); !cl.empty()) out_bytes = std::strtoull(cl.c_str(), nullptr, 10);
      std::fprintf(stderr, "%s %s %d in=%zu out=%zu %.1fms\n", req.method.c_str(), req.path.c_str(), res.status,
                   std::size_t(std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10)), out_bytes,
                   double(us) / 1000.0);
    }
  });
  svr.Get("/metrics", [p](const httplib::Request&, httplib::Response& res) { p->ServeMetrics(res); });
  svr.Get("/arca/v1/log/(.+)", [p](const httplib::Request& req, httplib::Response& res) {
    p->HandleLog(req, res, req.matches[1]);
  });
  svr.Get(".*", [p](const httplib::Request& req, httplib::Response& res) { p->Handle(req, res, nullptr); });
  auto with_body = [p](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    p->Handle(req, res, &reader);
  };
  svr.Post("/arca/v1/log/key-release",
           [p](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
             p->ReportKeyRelease(req, res, reader);
           });
  svr.Post(".*", with_body);
  svr.Put(".*", with_body);
  svr.Patch(".*", with_body);
  svr.Delete(".*", [p](const httplib::Request& req, httplib::Response& res) { p->Handle(req, res, nullptr); });
  svr.Options(".*", [](const httplib::Request&, httplib::Response& res) {
    SendError(res, Err(405, "UNSUPPORTED", "OPTIONS is not supported"));
  });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Status Server::Start() {
  ARCA_ASSIGN_OR_RETURN(impl_->bound_port,
                        StartHttpServer(*impl_->http, impl_->opt.host, impl_->opt.port, &impl_->thread));
  return Status::Ok();
}

int Server::port() const { return impl_->bound_port; }

void Server::Wait() {
  if (impl_ && impl_->thread.joinable()) impl_->thread.join();
}

void Server::Stop() {
  if (!impl_) return;
  if (impl_->http) impl_->http->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace arca::registry
