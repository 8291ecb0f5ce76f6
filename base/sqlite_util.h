// Owner types and a small statement helper for SQLite 3 (the registry's and
// the key broker's embedded metadata stores). Header-only; users link
// sqlite3 themselves.
#ifndef ARCA_BASE_SQLITE_UTIL_H_
#define ARCA_BASE_SQLITE_UTIL_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace arca {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqlitePtr = std::unique_ptr<sqlite3, SqliteCloser>;

struct SqliteStmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using SqliteStmtPtr = std::unique_ptr<sqlite3_stmt, SqliteStmtFinalizer>;

// SqliteError turns a failed call into a Status naming what was attempted.
// SQLITE_BUSY/LOCKED are Unavailable (retry), SQLITE_CONSTRAINT is
// AlreadyExists, SQLITE_CORRUPT/NOTADB Corruption, others Internal.
inline Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string m = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return UnavailableError(std::move(m));
    case SQLITE_CONSTRAINT:
      return AlreadyExistsError(std::move(m));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return CorruptionError(std::move(m));
    case SQLITE_FULL:
      return ResourceExhaustedError(std::move(m));
    default:
      return InternalError(std::move(m));
  }
}

// SqliteExec runs SQL that returns no rows (schema, pragmas); the error
// names `what` (e.g. the database file).
inline Status SqliteExec(sqlite3* db, const char* sql, std::string_view what) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string m = std::string(what) + ": " + (err ? err : "");
  sqlite3_free(err);
  return SqliteError(db, rc, m);
}

// SqliteStmt is a prepared statement with positional binds (1-based) and
// column reads; Step returns true while rows remain. Not thread-safe.
class SqliteStmt {
 public:
  static Result<SqliteStmt> Prepare(sqlite3* db, std::string_view sql) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.data(), int(sql.size()), &s, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db, rc, "preparing statement");
    return SqliteStmt(db, SqliteStmtPtr(s));
  }
  SqliteStmt& Bind(int i, std::string_view v) {
    sqlite3_bind_text(s_.get(), i, v.data(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  SqliteStmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  SqliteStmt& Bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_.get(), i, v);
    return *this;
  }
  SqliteStmt& BindBlob(int i, ByteSpan v) {
    sqlite3_bind_blob(s_.get(), i, v.data(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // Step: true with a row, false when done; an error Status otherwise.
  Result<bool> Step() {
    int rc = sqlite3_step(s_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, rc, "executing statement");
  }
  // Run steps a statement that returns no rows.
  Status Run() {
    auto r = Step();
    return r.status();
  }
  std::int64_t Int(int col) const { return sqlite3_column_int64(s_.get(), col); }
  std::string Text(int col) const {
    const unsigned char* t = sqlite3_column_text(s_.get(), col);
    return t ? std::string(reinterpret_cast<const char*>(t), std::size_t(sqlite3_column_bytes(s_.get(), col)))
             : std::string();
  }
  Bytes Blob(int col) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s_.get(), col));
    return p ? Bytes(p, p + sqlite3_column_bytes(s_.get(), col)) : Bytes();
  }
  bool IsNull(int col) const { return sqlite3_column_type(s_.get(), col) == SQLITE_NULL; }
  // Reset makes the statement ready to bind and step again (one prepare
  // for many rows).
  SqliteStmt& Reset() {
    sqlite3_reset(s_.get());
    sqlite3_clear_bindings(s_.get());
    return *this;
  }

 private:
  SqliteStmt(sqlite3* db, SqliteStmtPtr s) : db_(db), s_(std::move(s)) {}
  sqlite3* db_;
  SqliteStmtPtr s_;
};

}  // namespace arca

#endif  // ARCA_BASE_SQLITE_UTIL_H_
