#include "registry-server/witness_server.h"

#include <httplib.h>

#include <cstdio>
#include <mutex>
#include <thread>

#include "base/file_system.h"
#include "base/httplib_util.h"
#include "base/json.h"
#include <nlohmann/json.hpp>
#include "registry-server/registry.h"

namespace arca::registry {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS witnessed (
  origin   TEXT PRIMARY KEY,
  size     INTEGER NOT NULL,
  root     BLOB NOT NULL,
  note     TEXT NOT NULL,
  cosigned INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS refusals (
  id      INTEGER PRIMARY KEY,
  origin  TEXT NOT NULL,
  time    INTEGER NOT NULL,
  why     TEXT NOT NULL,
  request TEXT NOT NULL
);
)sql";

// Refusals kept at most: evidence, but not an unbounded disk sink for a log
// that keeps sending bad checkpoints.
constexpr std::uint64_t kMaxRefusals = 10000;

Status EnsureDataDir(const std::string& dir) {
  Status s = FileSystem::Default().MakeDir(dir, 0700);
  if (s.ok() || s.code() == StatusCode::kAlreadyExists) return Status::Ok();
  return s.WithContext("creating the witness data directory");
}

}  // namespace

Result<tlog::NoteSigner> LoadOrCreateWitnessKey(const std::string& data_dir, const std::string& name_if_new) {
  return LoadOrCreateNoteKey(JoinPath(data_dir, std::string(kWitnessKeyFile)),
                             name_if_new.empty() ? HostKeyName("arca-witness") : name_if_new,
                             tlog::NoteSignatureType::kCosignatureV1);
}

Result<std::unique_ptr<SqliteWitnessState>> SqliteWitnessState::Open(const std::string& data_dir) {
  ARCA_RETURN_IF_ERROR(EnsureDataDir(data_dir));
  const std::string path = JoinPath(data_dir, std::string(kWitnessDbFile));
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  SqlitePtr db(raw);
  if (rc != SQLITE_OK) return SqliteError(raw, rc, "opening " + path);
  sqlite3_busy_timeout(raw, 15000);
  // The protocol requires the record to be durable before answering.
  ARCA_RETURN_IF_ERROR(SqliteExec(raw, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", path));
  ARCA_RETURN_IF_ERROR(SqliteExec(raw, kSchema, path));
  return std::unique_ptr<SqliteWitnessState>(new SqliteWitnessState(std::move(db)));
}

Result<std::optional<tlog::WitnessedCheckpoint>> SqliteWitnessState::Latest(const std::string& origin) {
  std::lock_guard<std::mutex> lock(mu_);
  ARCA_ASSIGN_OR_RETURN(SqliteStmt q, SqliteStmt::Prepare(db_.get(), "SELECT size, root, note, cosigned FROM witnessed WHERE origin = ?"));
  q.Bind(1, origin);
  ARCA_ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<tlog::WitnessedCheckpoint>();
  tlog::WitnessedCheckpoint c;
  c.size = static_cast<std::uint64_t>(q.Int(0));
  ARCA_ASSIGN_OR_RETURN(c.root, tlog::HashFromBytes(q.Blob(1), "witness.db root of " + origin));
  c.note = q.Text(2);
  c.cosigned = q.Int(3);
  return std::optional<tlog::WitnessedCheckpoint>(std::move(c));
}

Status SqliteWitnessState::Put(const std::string& origin, const tlog::WitnessedCheckpoint& c) {
  std::lock_guard<std::mutex> lock(mu_);
  ARCA_ASSIGN_OR_RETURN(SqliteStmt q, SqliteStmt::Prepare(db_.get(),
      "INSERT INTO witnessed (origin, size, root, note, cosigned) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT(origin) DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note, "
      "cosigned = excluded.cosigned"));
  q.Bind(1, origin).Bind(2, static_cast<std::int64_t>(c.size)).BindBlob(3, c.root).Bind(4, c.note).Bind(5, c.cosigned);
  return q.Run();
}

Result<std::uint64_t> SqliteWitnessState::CountRefusals() {
  std::lock_guard<std::mutex> lock(mu_);
  return CountRefusalsLocked();
}

Result<std::uint64_t> SqliteWitnessState::CountRefusalsLocked() {
  ARCA_ASSIGN_OR_RETURN(SqliteStmt n, SqliteStmt::Prepare(db_.get(), "SELECT count(*) FROM refusals"));
  ARCA_ASSIGN_OR_RETURN(bool row, n.Step());
  return row ? static_cast<std::uint64_t>(n.Int(0)) : 0;
}

Status SqliteWitnessState::RecordRefusal(const std::string& origin, std::string_view request, std::string_view why,
                                         UnixSeconds when) {
  std::lock_guard<std::mutex> lock(mu_);
  ARCA_ASSIGN_OR_RETURN(std::uint64_t kept, CountRefusalsLocked());
  if (kept >= kMaxRefusals) return ResourceExhaustedError("witness.db keeps at most 10000 refusals");
  ARCA_ASSIGN_OR_RETURN(SqliteStmt q, SqliteStmt::Prepare(db_.get(),
      "INSERT INTO refusals (origin, time, why, request) VALUES (?, ?, ?, ?)"));
  q.Bind(1, origin).Bind(2, when).Bind(3, why).Bind(4, request);
  return q.Run();
}

Result<std::vector<std::pair<std::string, tlog::WitnessedCheckpoint>>> SqliteWitnessState::ListLatest() {
  std::lock_guard<std::mutex> lock(mu_);
  ARCA_ASSIGN_OR_RETURN(SqliteStmt q, SqliteStmt::Prepare(db_.get(),
      "SELECT origin, size, root, note, cosigned FROM witnessed ORDER BY origin"));
  std::vector<std::pair<std::string, tlog::WitnessedCheckpoint>> out;
  for (;;) {
    ARCA_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    tlog::WitnessedCheckpoint c;
    c.size = static_cast<std::uint64_t>(q.Int(1));
    ARCA_ASSIGN_OR_RETURN(c.root, tlog::HashFromBytes(q.Blob(2), "witness.db root"));
    c.note = q.Text(3);
    c.cosigned = q.Int(4);
    out.emplace_back(q.Text(0), std::move(c));
  }
  return out;
}

Result<std::vector<WitnessRefusal>> SqliteWitnessState::ListRefusals(std::size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  ARCA_ASSIGN_OR_RETURN(SqliteStmt q, SqliteStmt::Prepare(db_.get(),
      "SELECT origin, time, why, request FROM refusals ORDER BY id LIMIT ?"));
  q.Bind(1, static_cast<std::int64_t>(limit));
  std::vector<WitnessRefusal> out;
  for (;;) {
    ARCA_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back({q.Text(0), q.Int(1), q.Text(2), q.Text(3)});
  }
  return out;
}

// --- HTTP ----------------------------------------------------------------------

struct WitnessServer::Impl {
  tlog::Witness* witness = nullptr;
  SqliteWitnessState* state = nullptr;
  WitnessServeOptions opt;
  std::unique_ptr<httplib::Server> http;
  std::thread thread;
  int bound_port = 0;
};

WitnessServer::WitnessServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WitnessServer::~WitnessServer() { Stop(); }

Result<std::unique_ptr<WitnessServer>> WitnessServer::Create(tlog::Witness& witness, SqliteWitnessState& state,
                                                             WitnessServeOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->witness = &witness;
  impl->state = &state;
  impl->opt = std::move(options);
  impl->http = std::make_unique<httplib::Server>();
  Impl* self = impl.get();
  auto& svr = *impl->http;
  svr.new_task_queue = [] { return new httplib::ThreadPool(8); };
  svr.set_payload_max_length(tlog::kMaxAddCheckpointBytes);
  svr.set_read_timeout(30, 0);
  svr.set_write_timeout(30, 0);
  auto log = [self](const httplib::Request& req, const httplib::Response& res, std::string_view why) {
    if (!self->opt.log_requests) return;
    std::string line(why.substr(0, 300));
    for (char& c : line) {
      if (c == '\n') c = ' ';
    }
    std::fprintf(stderr, "%s %s %s %d %s\n", req.remote_addr.c_str(), req.method.c_str(), req.path.c_str(), res.status,
                 line.c_str());
  };
  svr.Post("/add-checkpoint", [self, log](const httplib::Request& req, httplib::Response& res) {
    tlog::WitnessAnswer a = self->witness->AddCheckpoint(req.body, NowUnixSeconds());
    res.status = a.http_status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(a.body, a.content_type);
    log(req, res, a.http_status == 200 ? std::string_view("cosigned") : std::string_view(a.body));
  });
  svr.Get("/arca/v1/witness", [self](const httplib::Request&, httplib::Response& res) {
    Json logs = Json::array();
    auto list = self->state->ListLatest();
    if (!list.ok()) {
      res.status = 500;
      res.set_content(list.status().message() + "\n", "text/plain");
      return;
    }
    for (const auto& [origin, c] : *list) {
      logs.push_back({{"origin", origin}, {"size", c.size}, {"root", Base64Encode(c.root)},
                      {"cosigned", FormatRfc3339(c.cosigned)}});
    }
    auto refusals = self->state->CountRefusals();
    Json out = {{"name", self->witness->verifier().name()}, {"key", self->witness->verifier().ToString()},
                {"witnesses", self->witness->Origins()}, {"logs", logs},
                {"refusals", refusals.ok() ? *refusals : 0}};
    res.set_header("Cache-Control", "no-store");
    res.set_content(out.dump(), "application/json");
  });
  return std::unique_ptr<WitnessServer>(new WitnessServer(std::move(impl)));
}

Status WitnessServer::Start() {
  ARCA_ASSIGN_OR_RETURN(impl_->bound_port, StartHttpServer(*impl_->http, impl_->opt.host, impl_->opt.port, &impl_->thread));
  return Status::Ok();
}

int WitnessServer::port() const { return impl_->bound_port; }

void WitnessServer::Stop() {
  if (!impl_) return;
  if (impl_->http) impl_->http->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace arca::registry
