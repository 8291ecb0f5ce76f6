// The registry's metadata store: namespaces and their roots, access tokens
// (hashes only), which repository may see which blob, manifests, tags,
// upload sessions and pending blob deletions. SQLite in WAL mode, so admin
// commands (`arca-registry token create …`) work while `serve` runs; every
// write is one transaction, and the two operations that also touch blob
// files (CommitBlob, CollectGarbage) run their file step inside the same
// BEGIN IMMEDIATE transaction, which is how a concurrent push and gc are kept
// apart (specs/registry.md §6).
//
// Thread-safe: a small pool of connections, one per concurrent caller.
#ifndef ARCA_REGISTRY_SERVER_METADATA_H_
#define ARCA_REGISTRY_SERVER_METADATA_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/sqlite_util.h"
#include "base/status.h"
#include "base/time.h"
#include "tlog/entries.h"
#include "tlog/merkle.h"

namespace arca::registry {

// Scope bits of a token.
inline constexpr int kScopePull = 1;
inline constexpr int kScopePush = 2;
inline constexpr int kScopeDelete = 4;

// ParseScopes reads "push,pull[,delete]"; InvalidArgument naming a bad word.
Result<int> ParseScopes(const std::string& text);
std::string ScopesToString(int scopes);

struct TokenInfo {
  std::string id;  // first 12 hex digits of the token's hash: names it in lists and logs
  std::string ns;
  int scopes = 0;
  std::string label;
  UnixSeconds created = 0;
  bool revoked = false;
};

struct NamespaceInfo {
  std::string name;
  bool public_pull = false;
  std::vector<Bytes> roots;  // registered root documents, oldest version first
};

struct ManifestRecord {
  std::string repo;
  std::string digest;
  std::string media_type;
  std::string artifact_type;
  std::string subject;  // digest of the manifest it refers to, or empty
  std::uint64_t size = 0;
  UnixSeconds created = 0;
};

// LogRow is one entry of the transparency log as stored.
struct LogRow {
  std::uint64_t index = 0;
  std::string kind;
  std::string entry;  // canonical bytes (tlog/entries.h)
};

struct GcReport {
  std::uint64_t blobs_deleted = 0;
  std::uint64_t bytes_deleted = 0;
  std::uint64_t uploads_deleted = 0;
  std::vector<std::string> deleted;  // digests
};

class Metadata {
 public:
  // Open opens (creating if needed) the database at `path` in WAL mode.
  // Corruption when it is not an Arca registry database; FailedPrecondition
  // for a newer schema than this binary knows.
  static Result<std::unique_ptr<Metadata>> Open(const std::string& path);
  ~Metadata();

  // --- namespaces -------------------------------------------------------
  // EnsureNamespace creates the namespace if it does not exist.
  [[nodiscard]] Status EnsureNamespace(const std::string& ns, UnixSeconds now);
  Result<std::optional<NamespaceInfo>> GetNamespace(const std::string& ns);
  Result<std::vector<NamespaceInfo>> ListNamespaces();
  // AddRoot records root document `version` for `ns` (the caller has checked
  // it chains from the previous one) and appends a `root` log entry in the
  // same transaction. AlreadyExists if that version exists.
  [[nodiscard]] Status AddRoot(const std::string& ns, std::uint64_t version, ByteSpan doc, UnixSeconds now);
  [[nodiscard]] Status SetPublicPull(const std::string& ns, bool public_pull);

  // --- tokens -----------------------------------------------------------
  // CreateToken returns a fresh random token ("arca_" + 64 hex digits),
  // stores only its SHA-256 and returns the plaintext once.
  Result<std::string> CreateToken(const std::string& ns, int scopes, const std::string& label, UnixSeconds now);
  // LookupToken returns the grant of an unrevoked token, or nullopt.
  Result<std::optional<TokenInfo>> LookupToken(const std::string& token);
  Result<std::vector<TokenInfo>> ListTokens();
  // RevokeToken revokes the token whose id (hash prefix) is `id`; NotFound.
  [[nodiscard]] Status RevokeToken(const std::string& id);

  // --- blobs ------------------------------------------------------------
  // RepoBlobSize returns the blob's size when `repo` may see it.
  Result<std::optional<std::uint64_t>> RepoBlobSize(const std::string& repo, const std::string& digest);
  // CommitBlob links `digest` to `repo` and, inside the same write
  // transaction, runs `place_file` (which moves the verified bytes into the
  // blob store). A pending deletion of the digest is cancelled.
  [[nodiscard]] Status CommitBlob(const std::string& repo, const std::string& digest, std::uint64_t size,
                                  UnixSeconds now, const std::function<Status()>& place_file);
  // LinkExistingBlob links a blob already stored under `from` to `repo`
  // (cross-repository mount); false when `from` cannot see it.
  Result<bool> LinkExistingBlob(const std::string& from, const std::string& repo, const std::string& digest,
                                UnixSeconds now);

  // --- uploads ----------------------------------------------------------
  [[nodiscard]] Status CreateUpload(const std::string& id, const std::string& repo, UnixSeconds now);
  // UploadRepo: the repository an upload session belongs to, or nullopt.
  Result<std::optional<std::string>> UploadRepo(const std::string& id);
  [[nodiscard]] Status DeleteUpload(const std::string& id);

  // --- manifests and tags -------------------------------------------------
  // PutManifest records a manifest whose bytes are already a stored blob,
  // the blobs it references (each must be linked to the repo: otherwise
  // NotFound naming the first missing one) and, when tag is not empty, moves
  // the tag to it. In the same transaction it appends to the log
  // (specs/log.md §9): `publish` (when set and this manifest was not
  // published in the repository before), a `policy` entry when the publish
  // carries a policy other than the one last logged for its package, and a
  // `tag` entry when the tag moves. The indices appended go to `appended`.
  // FailedPrecondition (nothing written) when the publish carries a policy
  // whose version is not above the one last logged for its package with
  // other content (policies only move forward).
  [[nodiscard]] Status PutManifest(const ManifestRecord& m, const std::vector<std::string>& blob_digests,
                                   const std::string& tag, UnixSeconds now, const tlog::LogEntry* publish = nullptr,
                                   std::vector<LogRow>* appended = nullptr);
  // ResolveManifest finds a manifest by tag or digest in `repo`.
  Result<std::optional<ManifestRecord>> ResolveManifest(const std::string& repo, const std::string& reference);
  // ListTags: sorted, after `last`, at most `n`.
  Result<std::vector<std::string>> ListTags(const std::string& repo, const std::string& last, std::size_t n);
  Result<std::vector<ManifestRecord>> Referrers(const std::string& repo, const std::string& subject);
  // DeleteManifest removes a manifest and every tag pointing at it.
  [[nodiscard]] Status DeleteManifest(const std::string& repo, const std::string& digest);

  // --- garbage collection --------------------------------------------------
  // CollectGarbage deletes every blob that no manifest references and that
  // was last linked before now - grace (so an in-progress push keeps its
  // blobs), and upload sessions older than upload_grace. Two phases: the
  // candidates' rows are deleted and recorded as pending deletions in one
  // transaction; then, in a second write transaction, each pending digest
  // still unreferenced has its file removed by `delete_file`. A CommitBlob
  // of the same digest between the phases cancels the deletion. Still under
  // that lock, `sweep_orphans` gets every digest that has a row, to remove
  // blob files that have none (a crash between rename and commit).
  Result<GcReport> CollectGarbage(UnixSeconds now, std::int64_t grace_s, std::int64_t upload_grace_s,
                                  const std::function<Result<std::uint64_t>(const std::string&)>& delete_file,
                                  const std::function<Status(const std::string&)>& delete_upload,
                                  const std::function<Status(const std::set<std::string>& known, GcReport&)>& sweep_orphans);
  // --- transparency log (specs/log.md) --------------------------------------
  // AppendLog appends one entry on its own (a key release a broker reports).
  Result<LogRow> AppendLog(const tlog::LogEntry& entry);
  // AppendLogs appends several entries in one transaction (all or none).
  Result<std::vector<LogRow>> AppendLogs(const std::vector<tlog::LogEntry>& entries);
  // LogSize is the number of committed entries.
  Result<std::uint64_t> LogSize();
  // LogEntriesFor lists, in log order, the entries of `repo` and the root
  // entries of its namespace `ns`.
  Result<std::vector<LogRow>> LogEntriesFor(const std::string& repo, const std::string& ns);
  // LogEntriesRange returns entries [start, start + count) (fewer at the end).
  Result<std::vector<Bytes>> LogEntriesRange(std::uint64_t start, std::uint64_t count);
  // LogHashes is the log's complete-subtree hashes as a HashReader (nodes are
  // written once, in the append's transaction, and never change).
  const tlog::HashReader& LogHashes() const;

  // Counts for /metrics.
  struct Counts {
    std::uint64_t blobs = 0, blob_bytes = 0, manifests = 0, tags = 0, namespaces = 0;
  };
  Result<Counts> CountAll();

 private:
  class Conn;
  explicit Metadata(std::string path);
  Result<std::unique_ptr<Conn>> Acquire();
  void Release(std::unique_ptr<Conn> c);
  struct Lease;

  class LogReader;
  std::string path_;
  std::unique_ptr<LogReader> log_hashes_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Conn>> free_;
};

}  // namespace arca::registry

#endif  // ARCA_REGISTRY_SERVER_METADATA_H_
