#include "registry-server/metadata.h"

#include <chrono>
#include <set>
#include <thread>

#include "base/crypto.h"

namespace arca::registry {
namespace {

// 1: namespaces … pending_deletes. 2: the transparency log (log_entries,
// log_nodes); a version-1 database gains the tables with an empty log.
constexpr int kSchemaVersion = 2;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS namespaces(
  name TEXT PRIMARY KEY, public_pull INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS roots(
  namespace TEXT NOT NULL REFERENCES namespaces(name), version INTEGER NOT NULL, doc BLOB NOT NULL,
  added INTEGER NOT NULL, PRIMARY KEY(namespace, version));
CREATE TABLE IF NOT EXISTS tokens(
  hash TEXT PRIMARY KEY, namespace TEXT NOT NULL, scopes INTEGER NOT NULL, label TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS blobs(digest TEXT PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS repo_blobs(
  repo TEXT NOT NULL, digest TEXT NOT NULL REFERENCES blobs(digest), linked INTEGER NOT NULL,
  PRIMARY KEY(repo, digest));
CREATE INDEX IF NOT EXISTS repo_blobs_digest ON repo_blobs(digest);
CREATE TABLE IF NOT EXISTS manifests(
  repo TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL, artifact_type TEXT NOT NULL,
  subject TEXT NOT NULL, size INTEGER NOT NULL, created INTEGER NOT NULL, PRIMARY KEY(repo, digest));
CREATE INDEX IF NOT EXISTS manifests_subject ON manifests(repo, subject);
CREATE INDEX IF NOT EXISTS manifests_digest ON manifests(digest);
CREATE TABLE IF NOT EXISTS manifest_blobs(
  repo TEXT NOT NULL, manifest TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY(repo, manifest, digest));
CREATE INDEX IF NOT EXISTS manifest_blobs_digest ON manifest_blobs(digest);
CREATE TABLE IF NOT EXISTS tags(
  repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY(repo, tag));
CREATE TABLE IF NOT EXISTS uploads(id TEXT PRIMARY KEY, repo TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pending_deletes(digest TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS log_entries(
  idx INTEGER PRIMARY KEY, kind TEXT NOT NULL, namespace TEXT NOT NULL, repo TEXT NOT NULL,
  manifest TEXT NOT NULL, package TEXT NOT NULL, policy TEXT NOT NULL, entry BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS log_entries_repo ON log_entries(repo, kind);
CREATE INDEX IF NOT EXISTS log_entries_ns ON log_entries(namespace, kind);
CREATE TABLE IF NOT EXISTS log_nodes(
  level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY(level, idx)) WITHOUT ROWID;
)sql";

std::string HashToken(const std::string& token) {
  auto d = crypto::Sha256::Hash(AsBytes(token));
  return HexEncode(d);
}

}  // namespace

class Metadata::Conn {
 public:
  explicit Conn(SqlitePtr db) : db_(std::move(db)) {}
  sqlite3* db() { return db_.get(); }

  Status Exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    if (rc != SQLITE_OK) return SqliteError(db_.get(), rc, std::string("executing ") + std::string(sql).substr(0, 40));
    return Status::Ok();
  }

  // Tx runs fn inside BEGIN IMMEDIATE … COMMIT, rolling back on error.
  Status Tx(const std::function<Status()>& fn) {
    ARCA_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status s = fn();
    if (!s.ok()) {
      (void)Exec("ROLLBACK");
      return s;
    }
    Status c = Exec("COMMIT");
    if (!c.ok()) (void)Exec("ROLLBACK");
    return c;
  }

  Result<SqliteStmt> Prepare(std::string_view sql) { return SqliteStmt::Prepare(db_.get(), sql); }

 private:
  SqlitePtr db_;
};

// Lease returns its connection to the pool when it goes out of scope.
struct Metadata::Lease {
  Metadata* owner;
  std::unique_ptr<Conn> conn;
  ~Lease() {
    if (conn) owner->Release(std::move(conn));
  }
  Conn* operator->() { return conn.get(); }
};

namespace {

// AppendLogLocked appends `entries` inside the caller's write transaction:
// it restores the tree's frontier from log_nodes, appends each leaf and
// stores every complete subtree the append finishes. A rollback of the
// transaction drops entries and nodes together.
Result<std::vector<LogRow>> AppendLogLocked(sqlite3* db, const std::vector<tlog::LogEntry>& entries) {
  std::vector<LogRow> out;
  if (entries.empty()) return out;
  ARCA_ASSIGN_OR_RETURN(auto sz, SqliteStmt::Prepare(db, "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries"));
  ARCA_ASSIGN_OR_RETURN(bool row, sz.Step());
  std::uint64_t size = row ? std::uint64_t(sz.Int(0)) : 0;
  std::vector<tlog::Hash> frontier;
  std::uint64_t start = 0;
  for (int level = 63; level >= 0; --level) {
    if (!((size >> level) & 1)) continue;
    ARCA_ASSIGN_OR_RETURN(auto n, SqliteStmt::Prepare(db, "SELECT hash FROM log_nodes WHERE level = ? AND idx = ?"));
    n.Bind(1, std::int64_t(level)).Bind(2, std::int64_t(start >> level));
    ARCA_ASSIGN_OR_RETURN(bool found, n.Step());
    if (!found) return CorruptionError("log: node (" + std::to_string(level) + ", " + std::to_string(start >> level) + ") of the frontier is missing");
    ARCA_ASSIGN_OR_RETURN(tlog::Hash h, tlog::HashFromBytes(n.Blob(0), "log node"));
    frontier.push_back(h);
    start += std::uint64_t(1) << level;
  }
  ARCA_ASSIGN_OR_RETURN(tlog::CompactRange range, tlog::CompactRange::FromFrontier(size, std::move(frontier)));
  Status sink_status;
  ARCA_ASSIGN_OR_RETURN(auto node, SqliteStmt::Prepare(db, "INSERT INTO log_nodes(level, idx, hash) VALUES(?, ?, ?)"));
  auto sink = [&](const tlog::NodeId& id, const tlog::Hash& h) {
    if (!sink_status.ok()) return;
    sink_status = node.Reset().Bind(1, std::int64_t(id.level)).Bind(2, std::int64_t(id.index)).BindBlob(3, h).Run();
  };
  ARCA_ASSIGN_OR_RETURN(auto ins, SqliteStmt::Prepare(db,
      "INSERT INTO log_entries(idx, kind, namespace, repo, manifest, package, policy, entry) VALUES(?, ?, ?, ?, ?, ?, ?, ?)"));
  for (const auto& e : entries) {
    ARCA_ASSIGN_OR_RETURN(std::string bytes, tlog::EncodeLogEntry(e));
    std::uint64_t index = range.size();
    ARCA_RETURN_IF_ERROR(ins.Reset().Bind(1, std::int64_t(index)).Bind(2, e.kind).Bind(3, e.ns).Bind(4, e.repository)
                             .Bind(5, e.manifest).Bind(6, e.package).Bind(7, e.policy).BindBlob(8, AsBytes(bytes)).Run());
    ARCA_RETURN_IF_ERROR(range.Append(tlog::HashLeaf(AsBytes(bytes)), sink));
    ARCA_RETURN_IF_ERROR(sink_status);
    out.push_back(LogRow{index, e.kind, std::move(bytes)});
  }
  return out;
}

}  // namespace

#define ARCA_LEASE_(var)                                   \
  ARCA_ASSIGN_OR_RETURN(auto var##_conn, Acquire());       \
  Lease var{this, std::move(var##_conn)}

// LogReader serves log_nodes to proof generation (tlog::HashReader).
class Metadata::LogReader : public tlog::HashReader {
 public:
  explicit LogReader(Metadata* m) : m_(m) {}
  Result<std::vector<tlog::Hash>> ReadHashes(std::span<const tlog::NodeId> ids) const override {
    ARCA_ASSIGN_OR_RETURN(auto conn, m_->Acquire());
    Lease c{m_, std::move(conn)};
    std::vector<tlog::Hash> out;
    out.reserve(ids.size());
    ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("SELECT hash FROM log_nodes WHERE level = ? AND idx = ?"));
    for (const auto& id : ids) {
      s.Reset().Bind(1, std::int64_t(id.level)).Bind(2, std::int64_t(id.index));
      ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return NotFoundError("log node (" + std::to_string(id.level) + ", " + std::to_string(id.index) + ") does not exist");
      ARCA_ASSIGN_OR_RETURN(tlog::Hash h, tlog::HashFromBytes(s.Blob(0), "log node"));
      out.push_back(h);
    }
    return out;
  }

 private:
  Metadata* m_;
};

Metadata::Metadata(std::string path) : path_(std::move(path)), log_hashes_(std::make_unique<LogReader>(this)) {}
Metadata::~Metadata() = default;

Result<std::unique_ptr<Metadata::Conn>> Metadata::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!free_.empty()) {
      auto c = std::move(free_.back());
      free_.pop_back();
      return c;
    }
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  SqlitePtr db(raw);
  if (rc != SQLITE_OK) return SqliteError(raw, rc, "opening " + path_);
  sqlite3_busy_timeout(raw, 15000);
  auto c = std::make_unique<Conn>(std::move(db));
  ARCA_RETURN_IF_ERROR(c->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  return c;
}

void Metadata::Release(std::unique_ptr<Conn> c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (free_.size() < 16) free_.push_back(std::move(c));
}

Result<std::unique_ptr<Metadata>> Metadata::Open(const std::string& path) {
  std::unique_ptr<Metadata> m(new Metadata(path));
  ARCA_ASSIGN_OR_RETURN(auto c, m->Acquire());
  ARCA_ASSIGN_OR_RETURN(auto v, c->Prepare("PRAGMA user_version"));
  ARCA_ASSIGN_OR_RETURN(bool row, v.Step());
  std::int64_t version = row ? v.Int(0) : 0;
  if (version > kSchemaVersion) {
    return FailedPreconditionError(path + " has metadata schema " + std::to_string(version) +
                                   ", newer than this arca-registry knows (" + std::to_string(kSchemaVersion) +
                                   "): upgrade arca-registry");
  }
  if (version < kSchemaVersion) {
    ARCA_RETURN_IF_ERROR(c->Tx([&]() -> Status {
      ARCA_RETURN_IF_ERROR(c->Exec(kSchema));
      return c->Exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
    }));
  }
  m->Release(std::move(c));
  return m;
}

// ---------------------------------------------------------------------------

Result<int> ParseScopes(const std::string& text) {
  int scopes = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    std::string word = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (word == "pull") {
      scopes |= kScopePull;
    } else if (word == "push") {
      scopes |= kScopePush;
    } else if (word == "delete") {
      scopes |= kScopeDelete;
    } else {
      return InvalidArgumentError("scope '" + word + "' is not one of pull, push, delete");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return scopes;
}

std::string ScopesToString(int scopes) {
  std::string out;
  auto add = [&](int bit, const char* name) {
    if (scopes & bit) out += std::string(out.empty() ? "" : ",") + name;
  };
  add(kScopePull, "pull");
  add(kScopePush, "push");
  add(kScopeDelete, "delete");
  return out;
}

Status Metadata::EnsureNamespace(const std::string& ns, UnixSeconds now) {
  ARCA_LEASE_(c);
  ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("INSERT OR IGNORE INTO namespaces(name, created) VALUES(?, ?)"));
  return s.Bind(1, ns).Bind(2, std::int64_t(now)).Run();
}

Result<std::optional<NamespaceInfo>> Metadata::GetNamespace(const std::string& ns) {
  ARCA_LEASE_(c);
  ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("SELECT public_pull FROM namespaces WHERE name = ?"));
  s.Bind(1, ns);
  ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<NamespaceInfo>();
  NamespaceInfo info{ns, s.Int(0) != 0, {}};
  ARCA_ASSIGN_OR_RETURN(auto r, c->Prepare("SELECT doc FROM roots WHERE namespace = ? ORDER BY version"));
  r.Bind(1, ns);
  while (true) {
    ARCA_ASSIGN_OR_RETURN(bool more, r.Step());
    if (!more) break;
    info.roots.push_back(r.Blob(0));
  }
  return std::optional<NamespaceInfo>(std::move(info));
}

Result<std::vector<NamespaceInfo>> Metadata::ListNamespaces() {
  std::vector<std::string> names;
  {
    ARCA_LEASE_(c);
    ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("SELECT name FROM namespaces ORDER BY name"));
    while (true) {
      ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      names.push_back(s.Text(0));
    }
  }
  std::vector<NamespaceInfo> out;
  for (const auto& n : names) {
    ARCA_ASSIGN_OR_RETURN(auto info, GetNamespace(n));
    if (info) out.push_back(std::move(*info));
  }
  return out;
}

Status Metadata::AddRoot(const std::string& ns, std::uint64_t version, ByteSpan doc, UnixSeconds now) {
  ARCA_LEASE_(c);
  return c->Tx([&]() -> Status {
    ARCA_ASSIGN_OR_RETURN(auto n, c->Prepare("INSERT OR IGNORE INTO namespaces(name, created) VALUES(?, ?)"));
    ARCA_RETURN_IF_ERROR(n.Bind(1, ns).Bind(2, std::int64_t(now)).Run());
    tlog::LogEntry e;
    e.kind = std::string(tlog::kEntryRoot);
    e.ns = ns;
    e.time = now;
    e.root = "sha256:" + HexEncode(crypto::Sha256::Hash(doc));
    e.root_version = version;
    ARCA_ASSIGN_OR_RETURN(auto prev, c->Prepare("SELECT doc FROM roots WHERE namespace = ? ORDER BY version DESC LIMIT 1"));
    prev.Bind(1, ns);
    ARCA_ASSIGN_OR_RETURN(bool has_prev, prev.Step());
    if (has_prev) e.previous = "sha256:" + HexEncode(crypto::Sha256::Hash(prev.Blob(0)));
    ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("INSERT INTO roots(namespace, version, doc, added) VALUES(?, ?, ?, ?)"));
    Status st = s.Bind(1, ns).Bind(2, std::int64_t(version)).BindBlob(3, doc).Bind(4, std::int64_t(now)).Run();
    if (st.code() == StatusCode::kAlreadyExists) {
      return AlreadyExistsError("namespace " + ns + " already has root version " + std::to_string(version));
    }
    ARCA_RETURN_IF_ERROR(st);
    return AppendLogLocked(c->db(), {e}).status();
  });
}

Status Metadata::SetPublicPull(const std::string& ns, bool public_pull) {
  ARCA_LEASE_(c);
  ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("UPDATE namespaces SET public_pull = ? WHERE name = ?"));
  ARCA_RETURN_IF_ERROR(s.Bind(1, std::int64_t(public_pull ? 1 : 0)).Bind(2, ns).Run());
  if (sqlite3_changes(c->db()) == 0) return NotFoundError("no namespace " + ns);
  return Status::Ok();
}

Result<std::string> Metadata::CreateToken(const std::string& ns, int scopes, const std::string& label,
                                          UnixSeconds now) {
  std::uint8_t raw[32];
  crypto::RandomBytes(raw);
  std::string token = "arca_" + HexEncode(raw);
  OPENSSL_cleanse(raw, sizeof raw);
  ARCA_LEASE_(c);
  ARCA_RETURN_IF_ERROR(c->Tx([&]() -> Status {
    ARCA_ASSIGN_OR_RETURN(auto n, c->Prepare("INSERT OR IGNORE INTO namespaces(name, created) VALUES(?, ?)"));
    ARCA_RETURN_IF_ERROR(n.Bind(1, ns).Bind(2, std::int64_t(now)).Run());
    ARCA_ASSIGN_OR_RETURN(
        auto s, c->Prepare("INSERT INTO tokens(hash, namespace, scopes, label, created) VALUES(?, ?, ?, ?, ?)"));
    return s.Bind(1, HashToken(token)).Bind(2, ns).Bind(3, std::int64_t(scopes)).Bind(4, label)
        .Bind(5, std::int64_t(now)).Run();
  }));
  return token;
}

Result<std::optional<TokenInfo>> Metadata::LookupToken(const std::string& token) {
  // The lookup is by the token's SHA-256: timing reveals nothing about the
  // stored hashes that an attacker could turn into a token.
  std::string hash = HashToken(token);
  ARCA_LEASE_(c);
  ARCA_ASSIGN_OR_RETURN(
      auto s, c->Prepare("SELECT namespace, scopes, label, created FROM tokens WHERE hash = ? AND revoked = 0"));
  s.Bind(1, hash);
  ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<TokenInfo>();
  return std::optional<TokenInfo>(TokenInfo{hash.substr(0, 12), s.Text(0), int(s.Int(1)), s.Text(2), s.Int(3), false});
}

Result<std::vector<TokenInfo>> Metadata::ListTokens() {
  ARCA_LEASE_(c);
  ARCA_ASSIGN_OR_RETURN(
      auto s, c->Prepare("SELECT hash, namespace, scopes, label, created, revoked FROM tokens ORDER BY created, hash"));
  std::vector<TokenInfo> out;
  while (true) {
    ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(TokenInfo{s.Text(0).substr(0, 12), s.Text(1), int(s.Int(2)), s.Text(3), s.Int(4), s.Int(5) != 0});
  }
  return out;
}

Status Metadata::RevokeToken(const std::string& id) {
  if (!IsLowerHex(id, 12)) return InvalidArgumentError("a token id is 12 lower-case hex digits (see token list)");
  ARCA_LEASE_(c);
  ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("UPDATE tokens SET revoked = 1 WHERE substr(hash, 1, 12) = ?"));
  ARCA_RETURN_IF_ERROR(s.Bind(1, id).Run());
  if (sqlite3_changes(c->db()) == 0) return NotFoundError("no token with id " + id);
  return Status::Ok();
}

Result<std::optional<std::uint64_t>> Metadata::RepoBlobSize(const std::string& repo, const std::string& digest) {
  ARCA_LEASE_(c);
  ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare(
      "SELECT b.size FROM repo_blobs r JOIN blobs b ON b.digest = r.digest WHERE r.repo = ? AND r.digest = ?"));
  s.Bind(1, repo).Bind(2, digest);
  ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(std::uint64_t(s.Int(0)));
}

Status Metadata::CommitBlob(const std::string& repo, const std::string& digest, std::uint64_t size, UnixSeconds now,
                            const std::function<Status()>& place_file) {
  ARCA_LEASE_(c);
  return c->Tx([&]() -> Status {
    ARCA_RETURN_IF_ERROR(place_file());
    ARCA_ASSIGN_OR_RETURN(auto b, c->Prepare("INSERT OR IGNORE INTO blobs(digest, size) VALUES(?, ?)"));
    ARCA_RETURN_IF_ERROR(b.Bind(1, digest).Bind(2, std::int64_t(size)).Run());
    ARCA_ASSIGN_OR_RETURN(auto r, c->Prepare(
        "INSERT INTO repo_blobs(repo, digest, linked) VALUES(?, ?, ?) "
        "ON CONFLICT(repo, digest) DO UPDATE SET linked = excluded.linked"));
    ARCA_RETURN_IF_ERROR(r.Bind(1, repo).Bind(2, digest).Bind(3, std::int64_t(now)).Run());
    ARCA_ASSIGN_OR_RETURN(auto p, c->Prepare("DELETE FROM pending_deletes WHERE digest = ?"));
    return p.Bind(1, digest).Run();
  });
}

Result<bool> Metadata::LinkExistingBlob(const std::string& from, const std::string& repo, const std::string& digest,
                                        UnixSeconds now) {
  ARCA_LEASE_(c);
  bool linked = false;
  ARCA_RETURN_IF_ERROR(c->Tx([&]() -> Status {
    ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("SELECT 1 FROM repo_blobs WHERE repo = ? AND digest = ?"));
    s.Bind(1, from).Bind(2, digest);
    ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Status::Ok();
    ARCA_ASSIGN_OR_RETURN(auto r, c->Prepare(
        "INSERT INTO repo_blobs(repo, digest, linked) VALUES(?, ?, ?) "
        "ON CONFLICT(repo, digest) DO UPDATE SET linked = excluded.linked"));
    ARCA_RETURN_IF_ERROR(r.Bind(1, repo).Bind(2, digest).Bind(3, std::int64_t(now)).Run());
    linked = true;
    return Status::Ok();
  }));
  return linked;
}

Status Metadata::CreateUpload(const std::string& id, const std::string& repo, UnixSeconds now) {
  ARCA_LEASE_(c);
  ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("INSERT INTO uploads(id, repo, created) VALUES(?, ?, ?)"));
  return s.Bind(1, id).Bind(2, repo).Bind(3, std::int64_t(now)).Run();
}

Result<std::optional<std::string>> Metadata::UploadRepo(const std::string& id) {
  ARCA_LEASE_(c);
  ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("SELECT repo FROM uploads WHERE id = ?"));
  s.Bind(1, id);
  ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.Text(0));
}

Status Metadata::DeleteUpload(const std::string& id) {
  ARCA_LEASE_(c);
  ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("DELETE FROM uploads WHERE id = ?"));
  return s.Bind(1, id).Run();
}

Status Metadata::PutManifest(const ManifestRecord& m, const std::vector<std::string>& blob_digests,
                             const std::string& tag, UnixSeconds now, const tlog::LogEntry* publish,
                             std::vector<LogRow>* appended) {
  ARCA_LEASE_(c);
  if (appended) appended->clear();
  return c->Tx([&]() -> Status {
    // Log entries first: they read the state this push changes.
    std::vector<tlog::LogEntry> log;
    std::string ns = m.repo.substr(0, m.repo.find('/'));
    if (publish) {
      ARCA_ASSIGN_OR_RETURN(auto seen, c->Prepare(
          "SELECT 1 FROM log_entries WHERE repo = ? AND kind = 'publish' AND manifest = ?"));
      seen.Bind(1, m.repo).Bind(2, m.digest);
      ARCA_ASSIGN_OR_RETURN(bool already, seen.Step());
      if (!already) {
        if (!publish->package.empty() && !publish->policy.empty()) {
          ARCA_ASSIGN_OR_RETURN(auto pol, c->Prepare(
              "SELECT policy, entry FROM log_entries WHERE repo = ? AND package = ? AND policy != '' ORDER BY idx DESC LIMIT 1"));
          pol.Bind(1, m.repo).Bind(2, publish->package);
          ARCA_ASSIGN_OR_RETURN(bool had, pol.Step());
          if (had && pol.Text(0) != publish->policy) {
            // Policies only move forward (specs/registry.md §8): a lower or
            // equal version with other content is a rollback.
            Bytes prev_bytes = pol.Blob(1);
            ARCA_ASSIGN_OR_RETURN(auto prev, tlog::ParseLogEntry(std::string(prev_bytes.begin(), prev_bytes.end())));
            std::uint64_t before = prev.policy_version.value_or(0), now_v = publish->policy_version.value_or(0);
            if (now_v <= before) {
              return FailedPreconditionError("policy rollback: the log already records policy version " +
                                             std::to_string(before) + " for " + publish->package + "; version " +
                                             std::to_string(now_v) + " with other content is refused");
            }
          }
          log.push_back(*publish);
          if (had && pol.Text(0) != publish->policy) {
            tlog::LogEntry p;
            p.kind = std::string(tlog::kEntryPolicy);
            p.ns = ns;
            p.time = now;
            p.repository = m.repo;
            p.package = publish->package;
            p.policy = publish->policy;
            p.policy_version = publish->policy_version.value_or(0);
            log.push_back(p);
          }
        } else {
          log.push_back(*publish);
        }
      }
    }
    if (!tag.empty()) {
      ARCA_ASSIGN_OR_RETURN(auto t, c->Prepare("SELECT digest FROM tags WHERE repo = ? AND tag = ?"));
      t.Bind(1, m.repo).Bind(2, tag);
      ARCA_ASSIGN_OR_RETURN(bool had, t.Step());
      std::string previous = had ? t.Text(0) : "";
      if (previous != m.digest) {
        tlog::LogEntry e;
        e.kind = std::string(tlog::kEntryTag);
        e.ns = ns;
        e.time = now;
        e.repository = m.repo;
        e.tag = tag;
        e.manifest = m.digest;
        e.previous = previous;
        log.push_back(e);
      }
    }
    for (const auto& d : blob_digests) {
      ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("SELECT 1 FROM repo_blobs WHERE repo = ? AND digest = ?"));
      s.Bind(1, m.repo).Bind(2, d);
      ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return NotFoundError("blob " + d + " is not in " + m.repo);
    }
    ARCA_ASSIGN_OR_RETURN(auto ins, c->Prepare(
        "INSERT OR REPLACE INTO manifests(repo, digest, media_type, artifact_type, subject, size, created) "
        "VALUES(?, ?, ?, ?, ?, ?, ?)"));
    ARCA_RETURN_IF_ERROR(ins.Bind(1, m.repo).Bind(2, m.digest).Bind(3, m.media_type).Bind(4, m.artifact_type)
                             .Bind(5, m.subject).Bind(6, std::int64_t(m.size)).Bind(7, std::int64_t(now)).Run());
    for (const auto& d : blob_digests) {
      ARCA_ASSIGN_OR_RETURN(auto mb, c->Prepare(
          "INSERT OR IGNORE INTO manifest_blobs(repo, manifest, digest) VALUES(?, ?, ?)"));
      ARCA_RETURN_IF_ERROR(mb.Bind(1, m.repo).Bind(2, m.digest).Bind(3, d).Run());
    }
    if (!tag.empty()) {
      ARCA_ASSIGN_OR_RETURN(auto t, c->Prepare("INSERT OR REPLACE INTO tags(repo, tag, digest, updated) VALUES(?, ?, ?, ?)"));
      ARCA_RETURN_IF_ERROR(t.Bind(1, m.repo).Bind(2, tag).Bind(3, m.digest).Bind(4, std::int64_t(now)).Run());
    }
    ARCA_ASSIGN_OR_RETURN(auto rows, AppendLogLocked(c->db(), log));
    if (appended) *appended = std::move(rows);
    return Status::Ok();
  });
}

Result<LogRow> Metadata::AppendLog(const tlog::LogEntry& entry) {
  ARCA_ASSIGN_OR_RETURN(auto rows, AppendLogs({entry}));
  return std::move(rows.front());
}

Result<std::vector<LogRow>> Metadata::AppendLogs(const std::vector<tlog::LogEntry>& entries) {
  if (entries.empty()) return InvalidArgumentError("no log entries to append");
  ARCA_LEASE_(c);
  std::vector<LogRow> out;
  ARCA_RETURN_IF_ERROR(c->Tx([&]() -> Status {
    ARCA_ASSIGN_OR_RETURN(out, AppendLogLocked(c->db(), entries));
    return Status::Ok();
  }));
  return out;
}

const tlog::HashReader& Metadata::LogHashes() const { return *log_hashes_; }

Result<std::uint64_t> Metadata::LogSize() {
  ARCA_LEASE_(c);
  ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries"));
  ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? std::uint64_t(s.Int(0)) : 0;
}

Result<std::vector<LogRow>> Metadata::LogEntriesFor(const std::string& repo, const std::string& ns) {
  ARCA_LEASE_(c);
  ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare(
      "SELECT idx, kind, entry FROM log_entries WHERE repo = ? OR (namespace = ? AND kind = 'root') ORDER BY idx LIMIT 10000"));
  s.Bind(1, repo).Bind(2, ns);
  std::vector<LogRow> out;
  while (true) {
    ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    Bytes b = s.Blob(2);
    out.push_back(LogRow{std::uint64_t(s.Int(0)), s.Text(1), std::string(b.begin(), b.end())});
  }
  return out;
}

Result<std::vector<Bytes>> Metadata::LogEntriesRange(std::uint64_t start, std::uint64_t count) {
  ARCA_LEASE_(c);
  ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("SELECT entry FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx"));
  s.Bind(1, std::int64_t(start)).Bind(2, std::int64_t(start + count));
  std::vector<Bytes> out;
  while (true) {
    ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(s.Blob(0));
  }
  return out;
}

Result<std::optional<ManifestRecord>> Metadata::ResolveManifest(const std::string& repo, const std::string& reference) {
  ARCA_LEASE_(c);
  std::string digest = reference;
  if (reference.rfind("sha256:", 0) != 0) {
    ARCA_ASSIGN_OR_RETURN(auto t, c->Prepare("SELECT digest FROM tags WHERE repo = ? AND tag = ?"));
    t.Bind(1, repo).Bind(2, reference);
    ARCA_ASSIGN_OR_RETURN(bool row, t.Step());
    if (!row) return std::optional<ManifestRecord>();
    digest = t.Text(0);
  }
  ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare(
      "SELECT media_type, artifact_type, subject, size, created FROM manifests WHERE repo = ? AND digest = ?"));
  s.Bind(1, repo).Bind(2, digest);
  ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<ManifestRecord>();
  return std::optional<ManifestRecord>(
      ManifestRecord{repo, digest, s.Text(0), s.Text(1), s.Text(2), std::uint64_t(s.Int(3)), s.Int(4)});
}

Result<std::vector<std::string>> Metadata::ListTags(const std::string& repo, const std::string& last, std::size_t n) {
  ARCA_LEASE_(c);
  ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("SELECT tag FROM tags WHERE repo = ? AND tag > ? ORDER BY tag LIMIT ?"));
  s.Bind(1, repo).Bind(2, last).Bind(3, std::int64_t(n));
  std::vector<std::string> out;
  while (true) {
    ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(s.Text(0));
  }
  return out;
}

Result<std::vector<ManifestRecord>> Metadata::Referrers(const std::string& repo, const std::string& subject) {
  ARCA_LEASE_(c);
  ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare(
      "SELECT digest, media_type, artifact_type, size, created FROM manifests WHERE repo = ? AND subject = ? "
      "ORDER BY created, digest LIMIT 1000"));
  s.Bind(1, repo).Bind(2, subject);
  std::vector<ManifestRecord> out;
  while (true) {
    ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ManifestRecord{repo, s.Text(0), s.Text(1), s.Text(2), subject, std::uint64_t(s.Int(3)), s.Int(4)});
  }
  return out;
}

Status Metadata::DeleteManifest(const std::string& repo, const std::string& digest) {
  ARCA_LEASE_(c);
  return c->Tx([&]() -> Status {
    for (const char* sql : {"DELETE FROM tags WHERE repo = ? AND digest = ?",
                            "DELETE FROM manifest_blobs WHERE repo = ? AND manifest = ?",
                            "DELETE FROM manifests WHERE repo = ? AND digest = ?"}) {
      ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare(sql));
      ARCA_RETURN_IF_ERROR(s.Bind(1, repo).Bind(2, digest).Run());
    }
    return Status::Ok();
  });
}

Result<GcReport> Metadata::CollectGarbage(UnixSeconds now, std::int64_t grace_s, std::int64_t upload_grace_s,
                                          const std::function<Result<std::uint64_t>(const std::string&)>& delete_file,
                                          const std::function<Status(const std::string&)>& delete_upload,
                                          const std::function<Status(const std::set<std::string>&, GcReport&)>& sweep_orphans) {
  GcReport report;
  ARCA_LEASE_(c);
  // Phase 1: unreferenced blobs whose newest link is older than the grace
  // period lose their rows and become pending deletions. A manifest PUT
  // referencing one of them afterwards finds no link and is refused with
  // MANIFEST_BLOB_UNKNOWN; the client uploads it again.
  ARCA_RETURN_IF_ERROR(c->Tx([&]() -> Status {
    ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare(
        "SELECT b.digest FROM blobs b "
        "WHERE NOT EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.digest = b.digest) "
        "AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = b.digest) "
        "AND COALESCE((SELECT MAX(linked) FROM repo_blobs r WHERE r.digest = b.digest), 0) < ?"));
    s.Bind(1, std::int64_t(now - grace_s));
    std::vector<std::string> doomed;
    while (true) {
      ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      doomed.push_back(s.Text(0));
    }
    for (const auto& d : doomed) {
      for (const char* sql : {"DELETE FROM repo_blobs WHERE digest = ?", "DELETE FROM blobs WHERE digest = ?",
                              "INSERT OR IGNORE INTO pending_deletes(digest) VALUES(?)"}) {
        ARCA_ASSIGN_OR_RETURN(auto st, c->Prepare(sql));
        ARCA_RETURN_IF_ERROR(st.Bind(1, d).Run());
      }
    }
    return Status::Ok();
  }));
  // Phase 2: under the write lock (so no CommitBlob can place the same file
  // meanwhile), remove each pending file that is still unclaimed.
  ARCA_RETURN_IF_ERROR(c->Tx([&]() -> Status {
    ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare(
        "SELECT digest FROM pending_deletes p WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.digest = p.digest)"));
    std::vector<std::string> pending;
    while (true) {
      ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      pending.push_back(s.Text(0));
    }
    for (const auto& d : pending) {
      ARCA_ASSIGN_OR_RETURN(std::uint64_t bytes, delete_file(d));
      report.blobs_deleted++;
      report.bytes_deleted += bytes;
      report.deleted.push_back(d);
    }
    ARCA_RETURN_IF_ERROR(c->Exec("DELETE FROM pending_deletes"));
    std::set<std::string> known;
    ARCA_ASSIGN_OR_RETURN(auto all, c->Prepare("SELECT digest FROM blobs"));
    while (true) {
      ARCA_ASSIGN_OR_RETURN(bool row, all.Step());
      if (!row) break;
      known.insert(all.Text(0));
    }
    return sweep_orphans(known, report);
  }));
  // Stale upload sessions.
  std::vector<std::string> stale;
  {
    ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("SELECT id FROM uploads WHERE created < ?"));
    s.Bind(1, std::int64_t(now - upload_grace_s));
    while (true) {
      ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      stale.push_back(s.Text(0));
    }
  }
  for (const auto& id : stale) {
    ARCA_RETURN_IF_ERROR(delete_upload(id));
    ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare("DELETE FROM uploads WHERE id = ?"));
    ARCA_RETURN_IF_ERROR(s.Bind(1, id).Run());
    report.uploads_deleted++;
  }
  return report;
}

Result<Metadata::Counts> Metadata::CountAll() {
  ARCA_LEASE_(c);
  Counts counts;
  ARCA_ASSIGN_OR_RETURN(auto s, c->Prepare(
      "SELECT (SELECT COUNT(*) FROM blobs), (SELECT COALESCE(SUM(size), 0) FROM blobs), "
      "(SELECT COUNT(*) FROM manifests), (SELECT COUNT(*) FROM tags), (SELECT COUNT(*) FROM namespaces)"));
  ARCA_ASSIGN_OR_RETURN(bool row, s.Step());
  if (row) {
    counts.blobs = std::uint64_t(s.Int(0));
    counts.blob_bytes = std::uint64_t(s.Int(1));
    counts.manifests = std::uint64_t(s.Int(2));
    counts.tags = std::uint64_t(s.Int(3));
    counts.namespaces = std::uint64_t(s.Int(4));
  }
  return counts;
}

}  // namespace arca::registry
