// A thin RAII layer over one SQLite connection and its prepared statements.
//
// A Connection and its Statements belong to one thread at a time (SQLite's
// default multi-thread mode does not allow sharing a connection). Statements
// borrow their Connection and must be destroyed first.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

namespace walship::bench {

struct ConnectionOptions {
  std::string journal_mode;  // e.g. "wal"
  std::string synchronous;   // e.g. "normal"
  int busy_timeout_ms = 0;
  bool read_only = false;  // OpenReadOnly; journal_mode and synchronous untouched
};

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void BindInt64(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  void BindBlob(int index, const void* data, int size) {
    sqlite3_bind_blob(stmt_, index, data, size, SQLITE_STATIC);
  }
  // One sqlite3_step; returns its result code.
  int Step() { return sqlite3_step(stmt_); }
  // Resets and clears bindings so the statement can run again.
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t ColumnInt64(int column) { return sqlite3_column_int64(stmt_, column); }
  int ColumnBytes(int column) { return sqlite3_column_bytes(stmt_, column); }
  const void* ColumnBlob(int column) { return sqlite3_column_blob(stmt_, column); }
  std::string ErrorMessage() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_;         // borrowed from the Connection
  sqlite3_stmt* stmt_;  // owned
};

class Connection {
 public:
  // Opens (creating if needed) PATH and applies the pragmas of OPTIONS,
  // checking that the journal mode took. Returns null and sets *error on failure.
  static std::unique_ptr<Connection> Open(const std::string& path, const ConnectionOptions& options,
                                          std::string* error);
  // Opens an existing PATH read-only (a replica's database, which refuses
  // writes) with no pragmas. Returns null and sets *error on failure.
  static std::unique_ptr<Connection> OpenReadOnly(const std::string& path, int busy_timeout_ms,
                                                  std::string* error);
  ~Connection() { sqlite3_close_v2(db_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more SQL statements, ignoring result rows.
  bool Exec(const std::string& sql, std::string* error);
  // Runs SQL that returns one text value (e.g. a PRAGMA) and stores it in *value.
  bool QueryText(const std::string& sql, std::string* value, std::string* error);
  std::unique_ptr<Statement> Prepare(const std::string& sql, std::string* error);

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;  // owned
};

// Removes PATH and its -wal, -shm and -journal companions. Returns false and
// sets *error naming the first file that existed but could not be removed.
bool RemoveDatabaseFiles(const std::string& path, std::string* error);

}  // namespace walship::bench
