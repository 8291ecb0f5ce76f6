#include "registry-server/keybroker.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>
#include <utility>

#include <httplib.h>

#include "base/httplib_util.h"
#include <openssl/crypto.h>

#include "attest/binding.h"
#include "base/crypto.h"
#include "base/time.h"
#include "base/secret_bytes.h"
#include "base/sqlite_util.h"
#include "signer/documents.h"
#include "signer/key_source.h"
#include "signer/pkcs11_aes.h"
#include "signer/package_signing.h"
#include "signer/verify.h"

namespace arca::keybroker {
namespace {

constexpr std::string_view kMasterKeyTag = "arca-broker-master-key-v1";
constexpr std::string_view kWrapDomain = "arca-broker-lineage-v1";

const char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS lineages(
  lineage_id TEXT PRIMARY KEY,
  nonce BLOB NOT NULL,
  wrapped BLOB NOT NULL,
  master_kind TEXT NOT NULL DEFAULT 'file');
CREATE TABLE IF NOT EXISTS packages(
  digest TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  lineage_id TEXT NOT NULL REFERENCES lineages(lineage_id),
  chunk_ids BLOB NOT NULL,
  policy BLOB NOT NULL,
  policy_digest TEXT NOT NULL,
  policy_version INTEGER NOT NULL,
  registered_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS nonces(
  nonce BLOB PRIMARY KEY,
  package TEXT NOT NULL,
  policy_digest TEXT NOT NULL,
  expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS releases(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time INTEGER NOT NULL,
  package TEXT NOT NULL,
  policy_digest TEXT NOT NULL,
  platform TEXT NOT NULL,
  measurement TEXT NOT NULL,
  released INTEGER NOT NULL,
  reason TEXT NOT NULL,
  chunks INTEGER NOT NULL);
)sql";

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string m = err ? err : "";
    sqlite3_free(err);
    return SqliteError(db, rc, std::string("keybroker.db: ") + m);
  }
  return Status::Ok();
}

// LoadOrCreateMasterKey reads master.key, or makes one (0600, exclusive
// create so two first starts cannot both win).
Result<SecretBytes> LoadOrCreateMasterKey(FileSystem& fs, const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    SecretBytes key(32);
    crypto::RandomBytes(key.ExposeMutable());
    std::string text = std::string(kMasterKeyTag) + " " + HexEncode(key.Expose()) + "\n";
    auto file = fs.NewWritableFile(path, 0600, /*exclusive=*/true);
    Status s = file.ok() ? (*file)->Append(AsBytes(text)) : file.status();
    if (s.ok()) s = (*file)->Sync();
    if (s.ok()) s = (*file)->Close();
    OPENSSL_cleanse(text.data(), text.size());
    if (s.ok()) return key;
    if (s.code() != StatusCode::kAlreadyExists) return s.WithContext(path);
    if (::stat(path.c_str(), &st) != 0) return InternalError(path + ": created by another process but cannot be read");
  }
  if ((st.st_mode & 077) != 0) {
    return PermissionDeniedError(path + " is readable by group or others (mode " +
                                 std::to_string(st.st_mode & 0777) + " octal " + [&] {
                                   char b[8];
                                   std::snprintf(b, sizeof b, "%o", st.st_mode & 0777);
                                   return std::string(b);
                                 }() + "); chmod 600 it");
  }
  ARCA_ASSIGN_OR_RETURN(Bytes raw, ReadFileBounded(fs, path, 256));
  SecretBytes guard = SecretBytes::CopyFrom(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  std::string_view text(reinterpret_cast<const char*>(guard.Expose().data()), guard.size());
  std::string prefix = std::string(kMasterKeyTag) + " ";
  if (text.size() != prefix.size() + 65 || text.substr(0, prefix.size()) != prefix || text.back() != '\n' ||
      !IsLowerHex(text.substr(prefix.size(), 64), 64)) {
    return InvalidArgumentError(path + ": not a broker master key file (expected \"" + std::string(kMasterKeyTag) +
                                " <64 lower-case hex>\")");
  }
  SecretBytes key(32);
  auto out = key.ExposeMutable();
  for (std::size_t i = 0; i < 32; ++i) {
    auto nib = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    out[i] = std::uint8_t(nib(text[prefix.size() + 2 * i]) << 4 | nib(text[prefix.size() + 2 * i + 1]));
  }
  return key;
}

Bytes WrapAad(std::string_view lineage_id) {
  Bytes aad(kWrapDomain.begin(), kWrapDomain.end());
  aad.push_back(0);
  aad.insert(aad.end(), lineage_id.begin(), lineage_id.end());
  return aad;
}

std::string Abbrev(const std::string& s) { return s.size() > 19 ? s.substr(0, 19) + "…" : s; }

// MasterKey wraps lineage PRKs: AES-256-GCM, 96-bit nonce, 16-byte tag,
// AAD WrapAad(lineage id), whichever kind holds the key (§2).
class MasterKey {
 public:
  virtual ~MasterKey() = default;
  virtual std::string_view kind() const = 0;    // "file" or "pkcs11", as stored in lineages.master_kind
  virtual std::string description() const = 0;  // for messages
  virtual Status Seal(ByteSpan nonce, ByteSpan aad, ByteSpan plaintext, std::span<std::uint8_t> out) = 0;
  virtual Status Open(ByteSpan nonce, ByteSpan aad, ByteSpan sealed, std::span<std::uint8_t> out) = 0;
};

class FileMasterKey final : public MasterKey {
 public:
  FileMasterKey(SecretBytes key, std::string path) : key_(std::move(key)), path_(std::move(path)) {}
  std::string_view kind() const override { return "file"; }
  std::string description() const override { return "the master key file " + path_; }
  Status Seal(ByteSpan nonce, ByteSpan aad, ByteSpan plaintext, std::span<std::uint8_t> out) override {
    return crypto::AesGcmSeal(key_.Expose(), nonce, aad, plaintext, out);
  }
  Status Open(ByteSpan nonce, ByteSpan aad, ByteSpan sealed, std::span<std::uint8_t> out) override {
    return crypto::AesGcmOpen(key_.Expose(), nonce, aad, sealed, out);
  }

 private:
  SecretBytes key_;
  std::string path_;
};

class HsmMasterKey final : public MasterKey {
 public:
  explicit HsmMasterKey(std::unique_ptr<signer::Pkcs11AesKey> key) : key_(std::move(key)) {}
  std::string_view kind() const override { return "pkcs11"; }
  std::string description() const override { return "the PKCS#11 " + key_->description(); }
  Status Seal(ByteSpan nonce, ByteSpan aad, ByteSpan plaintext, std::span<std::uint8_t> out) override {
    ARCA_ASSIGN_OR_RETURN(Bytes sealed, key_->GcmSeal(nonce, aad, plaintext));
    if (sealed.size() != out.size()) return InternalError("PKCS#11 AES-GCM returned an unexpected length");
    std::memcpy(out.data(), sealed.data(), sealed.size());
    return Status::Ok();
  }
  Status Open(ByteSpan nonce, ByteSpan aad, ByteSpan sealed, std::span<std::uint8_t> out) override {
    return key_->GcmOpen(nonce, aad, sealed, out);
  }

 private:
  std::unique_ptr<signer::Pkcs11AesKey> key_;
};

Status OtherMasterKind(std::string_view lineage_id, std::string_view stored, const MasterKey& have) {
  auto name = [](std::string_view kind) {
    return kind == "pkcs11" ? std::string("a PKCS#11 master key (--master-key pkcs11:…)")
                            : std::string("the master key file (DIR/master.key, no --master-key)");
  };
  return FailedPreconditionError("the lineage key of " + std::string(lineage_id) + " is wrapped under " +
                                 name(stored) + ", but this broker was opened with " + have.description() +
                                 "; open it with the kind of master key that registered the lineage");
}

// EnsureMasterKindColumn adds lineages.master_kind to databases made before
// it existed (their lineages were all wrapped under master.key).
Status EnsureMasterKindColumn(sqlite3* db) {
  ARCA_ASSIGN_OR_RETURN(auto q, SqliteStmt::Prepare(db, "SELECT count(*) FROM pragma_table_info('lineages') WHERE name='master_kind'"));
  ARCA_ASSIGN_OR_RETURN(bool row, q.Step());
  if (row && q.Int(0) > 0) return Status::Ok();
  return Exec(db, "ALTER TABLE lineages ADD COLUMN master_kind TEXT NOT NULL DEFAULT 'file'");
}

}  // namespace

std::string PolicyDigestOf(ByteSpan envelope_bytes) {
  return "sha256:" + HexEncode(crypto::Sha256::Hash(envelope_bytes));
}

struct KeyBroker::Impl {
  std::mutex mu;
  SqlitePtr db;
  std::unique_ptr<MasterKey> master;
};

KeyBroker::KeyBroker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KeyBroker::~KeyBroker() = default;

Result<std::unique_ptr<KeyBroker>> KeyBroker::Open(const std::string& data_dir, const std::string& master_key) {
  if (data_dir.empty()) return InvalidArgumentError("--data DIR is required");
  if (!master_key.empty() && !signer::IsPkcs11Uri(master_key)) {
    return InvalidArgumentError("--master-key: expected a PKCS#11 URI (pkcs11:token=…;object=…); without it the "
                                "broker uses DIR/master.key");
  }
  if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus("creating", data_dir, errno);
  auto impl = std::make_unique<Impl>();
  if (master_key.empty()) {
    const std::string path = data_dir + "/master.key";
    ARCA_ASSIGN_OR_RETURN(SecretBytes key, LoadOrCreateMasterKey(FileSystem::Default(), path));
    impl->master = std::make_unique<FileMasterKey>(std::move(key), path);
  } else {
    auto key = signer::OpenPkcs11AesKey(master_key);
    if (!key.ok()) return key.status().WithContext("--master-key");
    impl->master = std::make_unique<HsmMasterKey>(std::move(*key));
  }
  std::string path = data_dir + "/keybroker.db";
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  impl->db.reset(raw);
  if (rc != SQLITE_OK) return SqliteError(raw, rc, "opening " + path);
  sqlite3_busy_timeout(raw, 15000);
  ARCA_RETURN_IF_ERROR(Exec(raw, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  ARCA_RETURN_IF_ERROR(Exec(raw, kSchema));
  ARCA_RETURN_IF_ERROR(EnsureMasterKindColumn(raw));
  return std::unique_ptr<KeyBroker>(new KeyBroker(std::move(impl)));
}

Result<RegisterReport> KeyBroker::Register(FileSystem& fs, const format::PackageRef& ref, const format::LineageKey& key,
                                           const signer::SignedRoot& root, UnixSeconds now) {
  ARCA_ASSIGN_OR_RETURN(format::LoadedPackage pkg, format::LoadPackage(fs, ref));
  const format::Manifest& m = pkg.manifest;
  signer::VerifyOptions vo;
  vo.now = now;
  auto verdict = signer::VerifyPackage(fs, ref, root, vo);
  if (!verdict.ok()) return verdict.status().WithContext("package " + ref.dir + " does not verify against the root");
  if (key.LineageId() != m.lineage_id) {
    return UnauthenticatedError("the lineage key (id " + key.LineageId() + ") is not this package's (lineage " +
                                m.lineage_id + ")");
  }
  ARCA_ASSIGN_OR_RETURN(auto policies, signer::LoadEnvelopes(pkg, signer::kRolePolicy));
  if (policies.size() != 1) {
    return FailedPreconditionError("package " + ref.dir + " has no release policy attached (arca policy new/allow/sign/attach); "
                                   "the broker releases keys only under a lab-signed policy");
  }
  ARCA_ASSIGN_OR_RETURN(Bytes policy_bytes, pkg.layout.ReadBlob(policies[0].descriptor, 1 << 20));
  ARCA_ASSIGN_OR_RETURN(signer::Policy policy, signer::DecodePolicyEnvelope(policies[0].envelope));

  RegisterReport report;
  report.package_digest = pkg.manifest_blob.digest;
  report.name = m.name;
  report.version = m.version;
  report.lineage_id = m.lineage_id;
  report.policy_digest = PolicyDigestOf(policy_bytes);
  report.policy_version = policy.version;

  // Exactly the keys this version needs: its files' chunks and, for delta
  // chunks, their bases (specs/format.md §6.1), never another version's.
  Bytes chunk_ids;
  std::vector<format::ChunkId> needed = format::ChunkIdsToRelease(m);
  chunk_ids.reserve(needed.size() * 32);
  for (const auto& id : needed) chunk_ids.insert(chunk_ids.end(), id.begin(), id.end());
  report.chunks = needed.size();

  // The PRK, encrypted under the master key with the lineage id as AAD (a
  // wrapped key moved to another lineage's row does not open).
  const SecretBytes& prk = key.ChunkKeyPrk();
  Bytes nonce(crypto::kAesGcmNonceSize);
  crypto::RandomBytes(nonce);
  Bytes wrapped(prk.size() + crypto::kAesGcmTagSize);
  ARCA_RETURN_IF_ERROR(impl_->master->Seal(nonce, WrapAad(m.lineage_id), prk.Expose(), wrapped));

  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db.get();
  ARCA_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE"));
  Status s = [&]() -> Status {
    ARCA_ASSIGN_OR_RETURN(auto q, SqliteStmt::Prepare(db, "SELECT policy_version, policy_digest FROM packages WHERE digest=?"));
    q.Bind(1, report.package_digest);
    ARCA_ASSIGN_OR_RETURN(bool have, q.Step());
    if (have) {
      std::uint64_t old_version = std::uint64_t(q.Int(0));
      std::string old_digest = q.Text(1);
      if (old_version > policy.version || (old_version == policy.version && old_digest != report.policy_digest)) {
        return FailedPreconditionError("the broker has policy version " + std::to_string(old_version) + " (" +
                                       Abbrev(old_digest) + ") for this package; refusing version " +
                                       std::to_string(policy.version) + " (a policy rollback)");
      }
      report.replaced_policy = old_digest != report.policy_digest;
    }
    ARCA_ASSIGN_OR_RETURN(auto k, SqliteStmt::Prepare(db, "SELECT master_kind FROM lineages WHERE lineage_id=?"));
    k.Bind(1, m.lineage_id);
    ARCA_ASSIGN_OR_RETURN(bool known, k.Step());
    if (known && k.Text(0) != impl_->master->kind()) return OtherMasterKind(m.lineage_id, k.Text(0), *impl_->master);
    ARCA_ASSIGN_OR_RETURN(auto l, SqliteStmt::Prepare(db,
        "INSERT OR IGNORE INTO lineages(lineage_id, nonce, wrapped, master_kind) VALUES(?,?,?,?)"));
    l.Bind(1, m.lineage_id).BindBlob(2, nonce).BindBlob(3, wrapped).Bind(4, std::string(impl_->master->kind()));
    ARCA_RETURN_IF_ERROR(l.Run());
    ARCA_ASSIGN_OR_RETURN(auto p, SqliteStmt::Prepare(db,
        "INSERT INTO packages(digest, name, version, lineage_id, chunk_ids, policy, policy_digest, policy_version, "
        "registered_at) VALUES(?,?,?,?,?,?,?,?,?) ON CONFLICT(digest) DO UPDATE SET policy=excluded.policy, "
        "policy_digest=excluded.policy_digest, policy_version=excluded.policy_version"));
    p.Bind(1, report.package_digest).Bind(2, m.name).Bind(3, m.version).Bind(4, m.lineage_id).BindBlob(5, chunk_ids);
    p.BindBlob(6, policy_bytes).Bind(7, report.policy_digest).Bind(8, std::int64_t(policy.version)).Bind(9, now);
    return p.Run();
  }();
  if (!s.ok()) {
    (void)Exec(db, "ROLLBACK");
    return s;
  }
  ARCA_RETURN_IF_ERROR(Exec(db, "COMMIT"));
  return report;
}

Result<release::Challenge> KeyBroker::Challenge(const release::ChallengeRequest& request, UnixSeconds now) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db.get();
  ARCA_ASSIGN_OR_RETURN(auto q, SqliteStmt::Prepare(db, "SELECT policy_digest, policy_version FROM packages WHERE digest=?"));
  q.Bind(1, request.package_digest);
  ARCA_ASSIGN_OR_RETURN(bool have, q.Step());
  if (!have) {
    return NotFoundError("package " + request.package_digest + " is not registered with this key broker " +
                         "(the lab runs arca-keybroker register)");
  }
  release::Challenge c;
  c.policy_digest = q.Text(0);
  c.policy_version = std::uint64_t(q.Int(1));
  c.nonce.resize(release::kNonceSize);
  crypto::RandomBytes(c.nonce);
  c.expires = now + release::kNonceLifetimeSeconds;
  ARCA_ASSIGN_OR_RETURN(auto purge, SqliteStmt::Prepare(db, "DELETE FROM nonces WHERE expires <= ?"));
  purge.Bind(1, now);
  ARCA_RETURN_IF_ERROR(purge.Run());
  ARCA_ASSIGN_OR_RETURN(auto count, SqliteStmt::Prepare(db, "SELECT count(*) FROM nonces"));
  ARCA_ASSIGN_OR_RETURN(bool row, count.Step());
  if (row && std::size_t(count.Int(0)) >= kMaxOutstandingNonces) {
    return ResourceExhaustedError("too many challenges outstanding; retry in " +
                                  std::to_string(release::kNonceLifetimeSeconds) + " s");
  }
  ARCA_ASSIGN_OR_RETURN(auto ins, SqliteStmt::Prepare(db, "INSERT INTO nonces(nonce, package, policy_digest, expires) VALUES(?,?,?,?)"));
  ins.BindBlob(1, c.nonce).Bind(2, request.package_digest).Bind(3, c.policy_digest).Bind(4, c.expires);
  ARCA_RETURN_IF_ERROR(ins.Run());
  return c;
}

ReleaseOutcome KeyBroker::Release(const release::ReleaseRequest& req, const JudgeOptions& judge, UnixSeconds now) {
  ReleaseOutcome out;
  std::string platform, measurement, policy_digest;
  std::uint64_t released_chunks = 0;
  std::string lineage_id, master_kind, repository;
  Bytes policy_bytes, chunk_ids, wrap_nonce, wrapped;

  // 1. The nonce: exists, unexpired, for this package; consumed whatever follows.
  Status s = [&]() -> Status {
    std::lock_guard<std::mutex> lock(impl_->mu);
    sqlite3* db = impl_->db.get();
    ARCA_ASSIGN_OR_RETURN(auto take, SqliteStmt::Prepare(db, "DELETE FROM nonces WHERE nonce=? RETURNING package, policy_digest, expires"));
    take.BindBlob(1, req.nonce);
    ARCA_ASSIGN_OR_RETURN(bool have, take.Step());
    if (!have) return PermissionDeniedError("nonce: not issued by this broker, or already used (a replayed request); ask for a new challenge");
    std::string package = take.Text(0);
    policy_digest = take.Text(1);
    UnixSeconds expires = take.Int(2);
    ARCA_RETURN_IF_ERROR(take.Run());  // finish the statement so the delete commits
    if (expires <= now) return PermissionDeniedError("nonce: expired " + std::to_string(now - expires) + " s ago; ask for a new challenge");
    if (package != req.package_digest) {
      return PermissionDeniedError("nonce: issued for package " + Abbrev(package) + ", used for " + Abbrev(req.package_digest));
    }
    ARCA_ASSIGN_OR_RETURN(auto q, SqliteStmt::Prepare(db,
        "SELECT p.policy, p.policy_digest, p.chunk_ids, l.nonce, l.wrapped, p.lineage_id, l.master_kind, p.name FROM packages p "
        "JOIN lineages l ON l.lineage_id = p.lineage_id WHERE p.digest=?"));
    q.Bind(1, req.package_digest);
    ARCA_ASSIGN_OR_RETURN(bool found, q.Step());
    if (!found) return NotFoundError("package " + req.package_digest + " is not registered with this key broker");
    if (q.Text(1) != policy_digest) {
      return FailedPreconditionError("the lab registered a new policy since this challenge; ask for a new challenge");
    }
    policy_bytes = q.Blob(0);
    chunk_ids = q.Blob(2);
    wrap_nonce = q.Blob(3);
    wrapped = q.Blob(4);
    lineage_id = q.Text(5);
    master_kind = q.Text(6);
    repository = q.Text(7);
    return Status::Ok();
  }();

  // 2. The evidence, its binding, the policy.
  if (s.ok()) {
    s = [&]() -> Status {
      ARCA_ASSIGN_OR_RETURN(signer::DsseEnvelope env, signer::ParseDsseEnvelope(policy_bytes));
      ARCA_ASSIGN_OR_RETURN(signer::Policy policy, signer::DecodePolicyEnvelope(env));
      ARCA_ASSIGN_OR_RETURN(attest::EvidenceBundle bundle, attest::ParseBundle(req.evidence));
      attest::VerifyOptions vo;
      vo.time = now;
      vo.tpm_ak_spki = judge.tpm_ak_spki;
      attest::Verdict verdict = attest::VerifyBundle(bundle, judge.roots, vo);
      platform = attest::PolicyPlatform(verdict.claims);
      measurement = attest::ClaimedMeasurement(verdict.claims);
      attest::PolicyDecision decision = attest::EvaluatePolicy(policy, verdict, now);
      if (verdict.ok()) {
        attest::BindingInputs in{req.nonce, req.public_key, req.package_digest, policy_digest};
        Status bind = attest::CheckEvidenceBinding(verdict.claims, in);
        decision.clauses.insert(decision.clauses.begin() + 1,
                                attest::Clause{"binding", bind.ok(),
                                               "report data binding this nonce, key, package and policy",
                                               bind.ok() ? "bound" : bind.message()});
      }
      out.decision = decision;
      return decision.status();
    }();
  }

  // 3. The registry's log records the release before any key leaves.
  if (s.ok() && judge.report) {
    KeyReleaseReport r{repository, req.package_digest, measurement, platform,
                       "sha256:" + HexEncode(crypto::Sha256::Hash(AsBytes(req.evidence))),
                       "sha256:" + HexEncode(crypto::Sha256::Hash(req.public_key))};
    Status reported = judge.report(r);
    if (!reported.ok()) {
      s = UnavailableError("the registry's transparency log did not record this release, so no keys are released: " +
                           reported.message());
    }
  }

  // 4. The keys of exactly this version's chunks, sealed to the bound key.
  if (s.ok()) {
    s = [&]() -> Status {
      if (wrapped.size() != 32 + crypto::kAesGcmTagSize || chunk_ids.size() % 32 != 0) {
        return CorruptionError("keybroker.db: the record of package " + Abbrev(req.package_digest) + " is damaged");
      }
      if (master_kind != impl_->master->kind()) return OtherMasterKind(lineage_id, master_kind, *impl_->master);
      SecretBytes prk(32);
      Status open = impl_->master->Open(wrap_nonce, WrapAad(lineage_id), wrapped, prk.ExposeMutable());
      if (open.code() == StatusCode::kUnavailable) return open.WithContext("unwrapping the lineage key of " + lineage_id);
      if (!open.ok()) {
        return UnauthenticatedError("the lineage key of " + lineage_id + " does not decrypt with " +
                                    impl_->master->description() + " (the master key replaced, or the database altered)");
      }
      release::ChunkKeys keys;
      for (std::size_t at = 0; at < chunk_ids.size(); at += 32) {
        format::ChunkId id;
        std::memcpy(id.data(), &chunk_ids[at], 32);
        keys.emplace(id, format::DeriveChunkKey(prk.Expose(), id));
      }
      out.response.package_digest = req.package_digest;
      out.response.policy_digest = policy_digest;
      ARCA_RETURN_IF_ERROR(release::SealChunkKeys(keys, req.public_key, req.nonce, &out.response));
      released_chunks = keys.size();
      return Status::Ok();
    }();
  }

  // 5. The record: a release that cannot be recorded is not made.
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    sqlite3* db = impl_->db.get();
    Status rec = [&]() -> Status {
      ARCA_ASSIGN_OR_RETURN(auto ins, SqliteStmt::Prepare(db,
          "INSERT INTO releases(time, package, policy_digest, platform, measurement, released, reason, chunks) "
          "VALUES(?,?,?,?,?,?,?,?)"));
      ins.Bind(1, now).Bind(2, req.package_digest).Bind(3, policy_digest).Bind(4, platform).Bind(5, measurement);
      ins.Bind(6, std::int64_t(s.ok())).Bind(7, s.ok() ? std::string() : s.message()).Bind(8, std::int64_t(released_chunks));
      return ins.Run();
    }();
    if (s.ok() && !rec.ok()) s = rec.WithContext("recording the release");
    if (s.ok()) out.response.release_id = std::uint64_t(sqlite3_last_insert_rowid(db));
  }
  if (!s.ok()) out.response = release::ReleaseResponse();
  out.status = s;
  return out;
}

Result<std::vector<ReleaseRecord>> KeyBroker::Releases(std::size_t limit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  ARCA_ASSIGN_OR_RETURN(auto q, SqliteStmt::Prepare(impl_->db.get(),
      "SELECT id, time, package, policy_digest, platform, measurement, released, reason, chunks FROM releases "
      "ORDER BY id DESC LIMIT ?"));
  q.Bind(1, std::int64_t(limit));
  std::vector<ReleaseRecord> out;
  for (;;) {
    ARCA_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(ReleaseRecord{q.Int(0), q.Int(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5), q.Int(6) != 0,
                                q.Text(7), std::uint64_t(q.Int(8))});
  }
  return out;
}

std::function<Status(const KeyReleaseReport&)> RegistryReporter(const std::string& registry_url, const std::string& token) {
  return [registry_url, token](const KeyReleaseReport& r) -> Status {
    httplib::Client cli(registry_url);
    if (!cli.is_valid()) return InvalidArgumentError("--registry " + registry_url + ": not an http(s) URL");
    cli.set_connection_timeout(5, 0);
    cli.set_read_timeout(30, 0);
    cli.set_bearer_token_auth(token);
    Json body = {{"repository", r.repository}, {"manifest", r.manifest}, {"measurement", r.measurement},
                 {"platform", r.platform}, {"evidence", r.evidence}, {"recipient", r.recipient}};
    auto res = cli.Post("/arca/v1/log/key-release", body.dump(), "application/json");
    if (!res) return UnavailableError("registry " + registry_url + " unreachable (" + httplib::to_string(res.error()) + ")");
    if (res->status != 201) {
      return UnavailableError("registry " + registry_url + " answered HTTP " + std::to_string(res->status) + ": " +
                              res->body.substr(0, 300));
    }
    return Status::Ok();
  };
}

// --- HTTP

namespace {

void Reply(httplib::Response& res, const Status& s, const std::optional<attest::PolicyDecision>& decision = std::nullopt) {
  Json body = release::ErrorJson(s);
  if (decision) body["clauses"] = decision->ToJson()["clauses"];
  res.status = release::HttpStatusFor(s.code());
  res.set_content(body.dump(), "application/json");
}

}  // namespace

struct Server::Impl {
  KeyBroker* broker = nullptr;
  ServeOptions opt;
  std::unique_ptr<httplib::Server> http;
  std::thread thread;
  int bound_port = 0;
  std::mutex log_mu;

  void Log(const httplib::Request& req, const httplib::Response& res, const std::string& what) {
    if (!opt.log_requests) return;
    std::lock_guard<std::mutex> l(log_mu);
    std::fprintf(stderr, "arca-keybroker: %s %s %s %d %s\n", req.remote_addr.c_str(), req.method.c_str(), req.path.c_str(),
                 res.status == -1 ? 200 : res.status, what.c_str());
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Stop(); }

Result<std::unique_ptr<Server>> Server::Create(KeyBroker& broker, ServeOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->broker = &broker;
  impl->opt = std::move(options);
  impl->http = std::make_unique<httplib::Server>();
  Impl* self = impl.get();
  auto& svr = *impl->http;
  const std::size_t threads = impl->opt.threads ? impl->opt.threads : 16;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_payload_max_length(release::kMaxMessageBytes);
  svr.set_read_timeout(30, 0);
  svr.set_write_timeout(30, 0);
  svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  svr.Post("/v1/challenge", [self](const httplib::Request& req, httplib::Response& res) {
    auto m = release::ParseChallengeRequest(req.body);
    auto c = m.ok() ? self->broker->Challenge(*m, NowUnixSeconds()) : Result<release::Challenge>(m.status());
    if (!c.ok()) {
      Reply(res, c.status());
      self->Log(req, res, c.status().message());
      return;
    }
    res.set_content(release::SerializeChallenge(*c), "application/json");
    self->Log(req, res, "challenge for " + m->package_digest.substr(0, 19) + "…");
  });
  svr.Post("/v1/release", [self](const httplib::Request& req, httplib::Response& res) {
    auto m = release::ParseReleaseRequest(req.body);
    if (!m.ok()) {
      Reply(res, m.status());
      self->Log(req, res, m.status().message());
      return;
    }
    ReleaseOutcome out = self->broker->Release(*m, self->opt.judge, NowUnixSeconds());
    if (!out.status.ok()) {
      Reply(res, out.status, out.decision);
      self->Log(req, res, "refused " + m->package_digest.substr(0, 19) + "…: " + out.status.message());
      return;
    }
    res.set_content(release::SerializeReleaseResponse(out.response), "application/json");
    self->Log(req, res, "released keys of " + m->package_digest.substr(0, 19) + "… (release " +
                            std::to_string(out.response.release_id) + ")");
  });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Status Server::Start() {
  ARCA_ASSIGN_OR_RETURN(impl_->bound_port,
                        StartHttpServer(*impl_->http, impl_->opt.host, impl_->opt.port, &impl_->thread));
  return Status::Ok();
}

int Server::port() const { return impl_->bound_port; }

void Server::Stop() {
  if (!impl_) return;
  if (impl_->http) impl_->http->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace arca::keybroker
