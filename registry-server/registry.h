// arca-registry's request handling: the OCI distribution API (blobs,
// resumable uploads with cross-repository mount, manifests, tags,
// referrers), per-namespace token authorization (default deny), and the
// check that makes a registry more than storage: a manifest pushed into a
// namespace that has a registered root must be a sealed Arca package whose
// release signatures satisfy that root (signer::VerifyPackage), or it is
// refused. specs/registry.md is the normative description.
#ifndef ARCA_REGISTRY_SERVER_REGISTRY_H_
#define ARCA_REGISTRY_SERVER_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>
#include <string>

#include "base/status.h"
#include "base/time.h"
#include "registry-server/blob_store.h"
#include "registry-server/metadata.h"
#include "tlog/checkpoint.h"
#include "tlog/note.h"

namespace arca::registry {

inline constexpr std::uint64_t kMaxManifestBytes = 4 << 20;

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8700;              // 0: pick a free port (see Server::port)
  std::string tls_cert, tls_key;  // both or neither
  std::size_t threads = 64;     // one per concurrent keep-alive connection
  bool log_requests = true;     // one line per request on stderr
  std::function<UnixSeconds()> clock;  // default: the system clock
};

// kLogKeyFile is the log's signing key in the data directory: the C2SP
// signer key text "PRIVATE+KEY+<origin>+<key ID>+<base64>", mode 0600.
inline constexpr std::string_view kLogKeyFile = "log.key";

// HostKeyName is "<host name>/<suffix>", a valid C2SP key name.
std::string HostKeyName(std::string_view suffix);

// DefaultLogOrigin is "<host name>/arca-log" (a C2SP key name: no spaces or
// '+'), the origin a new log key gets unless the operator names one.
std::string DefaultLogOrigin();

// LoadOrCreateNoteKey reads the C2SP signer key at `path` (it must be of
// `type`), or generates one named `name_if_new` and writes it with mode 0600
// (temporary file, fsync, rename; an existing key is never replaced).
// PermissionDenied when the file is readable by group or others;
// InvalidArgument when it is malformed (the message never holds key bytes).
Result<tlog::NoteSigner> LoadOrCreateNoteKey(const std::string& path, const std::string& name_if_new,
                                             tlog::NoteSignatureType type);

// LoadOrCreateLogKey reads DATA/log.key, or generates an Ed25519 key named
// `origin_if_new` (DefaultLogOrigin() when empty) and writes it with mode
// 0600 (temporary file, fsync, rename; an existing key is never replaced).
// PermissionDenied when the key file is readable by group or others;
// InvalidArgument when it is malformed (the message never holds key bytes).
Result<tlog::NoteSigner> LoadOrCreateLogKey(const std::string& data_dir, const std::string& origin_if_new);

// WitnessEndpoint is a witness the log asks for cosignatures: the URL prefix
// of its add-checkpoint call and its cosigning key (type 0x04).
struct WitnessEndpoint {
  std::string url;
  tlog::NoteVerifier key;
  int timeout_ms = 5000;
};

// kWitnessRetryS: by default a witness that failed is not asked again for
// this long (so a dead witness does not slow every request).
inline constexpr std::int64_t kWitnessRetryS = 30;

// Registry opens a data directory: metadata.db (SQLite, WAL), blobs/ and the
// transparency log's key (log.key, created on first open).
class Registry {
 public:
  static Result<std::unique_ptr<Registry>> Open(const std::string& data_dir, const std::string& log_origin = "");
  Metadata& metadata() { return *metadata_; }
  BlobStore& blobs() { return *blobs_; }

  // AddRoot registers a namespace root: the first one must be signed by a
  // threshold of its own keys; a later one must be version N+1 of the
  // newest registered and pass the rotation rule (signer::WalkRootChain).
  // Returns the registered version. InvalidArgument for a malformed root,
  // Unauthenticated for signatures, FailedPrecondition for a version gap or
  // another namespace, AlreadyExists for a registered version.
  Result<std::uint64_t> AddRoot(const std::string& ns, ByteSpan root_doc, UnixSeconds now);

  // CollectGarbage: see Metadata::CollectGarbage (blobs unreferenced for
  // grace_s, upload sessions older than upload_grace_s); also removes blob
  // files that have no metadata row (a crash between rename and commit).
  Result<GcReport> CollectGarbage(UnixSeconds now, std::int64_t grace_s, std::int64_t upload_grace_s);

  // --- transparency log (specs/log.md, specs/registry.md §8) -------------
  const tlog::NoteSigner& log_key() const { return *log_key_; }
  struct SignedHead {
    tlog::Checkpoint checkpoint;
    std::string note;
  };
  // SignCheckpoint signs the log's current head now (C2SP checkpoint with a
  // `time` line never earlier than one this process signed before).
  Result<SignedHead> SignCheckpoint(UnixSeconds now);

  // ConfigureWitnesses names the witnesses whose cosignatures the served
  // checkpoint carries (tlog-witness add-checkpoint over HTTP), and how old a
  // served checkpoint may get before it is signed again. Call before serving.
  // A witness that failed is asked again after retry_s.
  void ConfigureWitnesses(std::vector<WitnessEndpoint> witnesses, std::int64_t refresh_s,
                          std::int64_t retry_s = kWitnessRetryS);

  // CurrentHead is the checkpoint the log serves: signed again when the tree
  // grew or the last one is older than the refresh interval, and carrying a
  // cosignature from each configured witness that gave one. A witness that
  // failed is asked again after the retry interval; its error is in
  // WitnessStatus and on stderr. Witnesses are asked concurrently, each
  // bounded by its endpoint's timeouts; cosignatures are added in the
  // configured order.
  Result<SignedHead> CurrentHead(UnixSeconds now);

  // WitnessStatus reports, per configured witness, the size it is known to
  // have cosigned and its last error (empty when the last call succeeded).
  struct WitnessReport {
    std::string name, key, url;
    std::uint64_t known_size = 0;
    std::string last_error;
  };
  std::vector<WitnessReport> WitnessStatus();

  // TlogProof returns a C2SP tlog-proof@v1 for entry `index` under
  // CurrentHead. InvalidArgument when the entry does not exist.
  Result<std::string> TlogProof(std::uint64_t index, UnixSeconds now);

 private:
  Registry() = default;
  Result<SignedHead> SignLocked(UnixSeconds now);  // checkpoint_mu_ held
  struct WitnessSlot {
    WitnessEndpoint endpoint;
    std::uint64_t known_size = 0;  // what the witness last said it cosigned
    UnixSeconds retry_after = 0;
    std::string last_error;
  };
  std::unique_ptr<tlog::NoteSigner> log_key_;
  std::mutex checkpoint_mu_;  // guards everything below
  UnixSeconds last_checkpoint_time_ = 0;
  std::optional<SignedHead> head_;  // what CurrentHead serves
  std::int64_t head_refresh_s_ = 300;
  std::int64_t witness_retry_s_ = kWitnessRetryS;
  std::vector<WitnessSlot> witnesses_;
  std::unique_ptr<Metadata> metadata_;
  std::unique_ptr<BlobStore> blobs_;
};

// Server serves a Registry over HTTP(S) until Stop().
class Server {
 public:
  static Result<std::unique_ptr<Server>> Create(Registry& registry, ServeOptions options);
  ~Server();
  // Start binds and begins serving on a background thread; Unavailable when
  // the address cannot be bound.
  [[nodiscard]] Status Start();
  int port() const;
  // Wait blocks until the server stops.
  void Wait();
  void Stop();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::registry

#endif  // ARCA_REGISTRY_SERVER_REGISTRY_H_
