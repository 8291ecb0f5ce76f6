// arca-registry's witness mode (`arca-registry witness serve`): a C2SP
// tlog-witness (tlog/witness.h) that cosigns the checkpoints of the logs it
// is told to witness, after checking each extends the last one it cosigned.
// specs/log.md §4.1 and specs/registry.md §8.1 are the normative text.
//
// State lives in DATA/witness.db (SQLite, synchronous=FULL): the latest
// cosigned checkpoint per origin, written before the cosignature is
// returned, and every validly signed checkpoint it refused (evidence that a
// log forked or rolled back). The key is DATA/witness.key (mode 0600).
#ifndef ARCA_REGISTRY_SERVER_WITNESS_SERVER_H_
#define ARCA_REGISTRY_SERVER_WITNESS_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "base/sqlite_util.h"
#include "base/status.h"
#include "base/time.h"
#include "tlog/witness.h"

namespace arca::registry {

inline constexpr std::string_view kWitnessKeyFile = "witness.key";
inline constexpr std::string_view kWitnessDbFile = "witness.db";

// LoadOrCreateWitnessKey reads DATA/witness.key or creates a cosignature
// (type 0x04) key named `name_if_new` (default "<host>/arca-witness").
Result<tlog::NoteSigner> LoadOrCreateWitnessKey(const std::string& data_dir, const std::string& name_if_new);

// WitnessRefusal is a refused checkpoint kept as evidence.
struct WitnessRefusal {
  std::string origin;
  UnixSeconds time = 0;
  std::string why;
  std::string request;  // the add-checkpoint body, verbatim
};

// SqliteWitnessState is tlog::WitnessState over DATA/witness.db.
class SqliteWitnessState : public tlog::WitnessState {
 public:
  static Result<std::unique_ptr<SqliteWitnessState>> Open(const std::string& data_dir);

  Result<std::optional<tlog::WitnessedCheckpoint>> Latest(const std::string& origin) override;
  Status Put(const std::string& origin, const tlog::WitnessedCheckpoint& checkpoint) override;
  Status RecordRefusal(const std::string& origin, std::string_view request, std::string_view why, UnixSeconds when) override;

  // All records, by origin; the refusals, oldest first (at most `limit`).
  Result<std::vector<std::pair<std::string, tlog::WitnessedCheckpoint>>> ListLatest();
  Result<std::vector<WitnessRefusal>> ListRefusals(std::size_t limit);
  Result<std::uint64_t> CountRefusals();

 private:
  explicit SqliteWitnessState(SqlitePtr db) : db_(std::move(db)) {}
  Result<std::uint64_t> CountRefusalsLocked();  // mu_ held
  SqlitePtr db_;
  std::mutex mu_;  // one connection; `witness status` may read while serving
};

struct WitnessServeOptions {
  std::string host = "127.0.0.1";
  int port = 8701;
  bool log_requests = true;
};

// WitnessServer serves POST /add-checkpoint (tlog-witness) and
// GET /arca/v1/witness (JSON: name, key, logs with their latest cosigned
// size and root, refusal count). No token: a submission is authorized by the
// log's signature on it (tlog-witness §Introduction); anything else is 404.
class WitnessServer {
 public:
  static Result<std::unique_ptr<WitnessServer>> Create(tlog::Witness& witness, SqliteWitnessState& state,
                                                       WitnessServeOptions options);
  ~WitnessServer();
  [[nodiscard]] Status Start();
  int port() const;
  void Stop();

 private:
  struct Impl;
  explicit WitnessServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::registry

#endif  // ARCA_REGISTRY_SERVER_WITNESS_SERVER_H_
