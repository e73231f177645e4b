#include "sqlite_conn.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace walship::bench {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

}  // namespace

std::unique_ptr<Connection> Connection::Open(const std::string& path,
                                             const ConnectionOptions& options, std::string* error) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  std::unique_ptr<Connection> conn(new Connection(db));  // closes db even on failure
  if (rc != SQLITE_OK) {
    *error = "open " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    return nullptr;
  }
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  std::string mode;
  if (!conn->QueryText("PRAGMA journal_mode=" + options.journal_mode, &mode, error)) {
    return nullptr;
  }
  // SQLite answers with the mode in effect; a refusal is not an error code.
  if (Lower(mode) != Lower(options.journal_mode)) {
    *error = "journal_mode " + options.journal_mode + " refused on " + path + " (got " + mode + ")";
    return nullptr;
  }
  if (!conn->Exec("PRAGMA synchronous=" + options.synchronous, error)) return nullptr;
  return conn;
}

std::unique_ptr<Connection> Connection::OpenReadOnly(const std::string& path, int busy_timeout_ms,
                                                     std::string* error) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Connection> conn(new Connection(db));  // closes db even on failure
  if (rc != SQLITE_OK) {
    *error = "open " + path + " read-only: " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    return nullptr;
  }
  sqlite3_busy_timeout(db, busy_timeout_ms);
  return conn;
}

bool Connection::Exec(const std::string& sql, std::string* error) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return true;
  *error = sql + ": " + (message ? message : sqlite3_errstr(rc));
  sqlite3_free(message);
  return false;
}

bool Connection::QueryText(const std::string& sql, std::string* value, std::string* error) {
  std::unique_ptr<Statement> stmt = Prepare(sql, error);
  if (!stmt) return false;
  if (stmt->Step() != SQLITE_ROW) {
    *error = sql + ": " + stmt->ErrorMessage();
    return false;
  }
  int size = stmt->ColumnBytes(0);
  const char* text = static_cast<const char*>(stmt->ColumnBlob(0));
  value->assign(text ? text : "", text ? size : 0);
  return true;
}

std::unique_ptr<Statement> Connection::Prepare(const std::string& sql, std::string* error) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    *error = "prepare " + sql + ": " + sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    return nullptr;
  }
  return std::make_unique<Statement>(db_, stmt);
}

bool RemoveDatabaseFiles(const std::string& path, std::string* error) {
  bool ok = true;
  // Companions first: on a walship mount the database goes last.
  for (const char* suffix : {"-wal", "-shm", "-journal", ""}) {
    std::string file = path + suffix;
    if (::unlink(file.c_str()) != 0 && errno != ENOENT && ok) {
      *error = "remove " + file + ": " + std::strerror(errno);
      ok = false;
    }
  }
  return ok;
}

}  // namespace walship::bench
