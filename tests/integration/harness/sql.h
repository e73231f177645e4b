// SQLite clients for integration tests: Sql, a connection through the C
// library in this process (or a forked child), and RunSqliteCli, the real
// sqlite3 command-line shell in its own process.
//
// Sql is move-only and thread-compatible (one thread at a time, as SQLite's
// serialized mode would allow more but tests do not need it).
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "base/status.h"
#include "harness/child_process.h"

namespace walship::testing {

class Sql {
 public:
  // Opens (creating) `path` read-write with a busy timeout.
  explicit Sql(const std::string& path, int busy_timeout_ms = 5000);
  ~Sql();
  Sql(Sql&& other) noexcept;
  Sql& operator=(Sql&& other) noexcept;
  Sql(const Sql&) = delete;
  Sql& operator=(const Sql&) = delete;

  // False when the open failed; error() says why.
  bool ok() const { return db_ != nullptr && open_rc_ == SQLITE_OK; }
  const std::string& error() const { return error_; }
  sqlite3* get() const { return db_; }

  // Runs one or more statements; the failure names the SQL, the result code
  // and SQLite's message. last_rc() is the extended result code.
  ::testing::AssertionResult Exec(const std::string& sql);
  // The first column of the first row as an integer / text.
  Result<int64_t> QueryInt(const std::string& sql);
  Result<std::string> QueryString(const std::string& sql);
  int last_rc() const { return last_rc_; }

  // sqlite3_close_v2; also done by the destructor.
  void Close();

 private:
  Status Fail(const std::string& sql, int rc);

  sqlite3* db_ = nullptr;
  int open_rc_ = SQLITE_OK;
  int last_rc_ = SQLITE_OK;
  std::string error_;
};

struct CliResult {
  int wait_status = -1;  // as waitpid reports it
  std::string output;    // stdout and stderr together
  bool ok() const;       // exited 0
};

// Starts `sqlite3 -batch -bail DB` with `.timeout busy_timeout_ms`, feeding it
// `sql` on stdin (through a file in `scratch_dir`) and writing its output to
// `output_path`. For concurrent CLI clients; Wait on the Child.
Child StartSqliteCli(const std::string& db_path, const std::string& sql,
                     const std::string& scratch_dir, const std::string& output_path,
                     int busy_timeout_ms = 10000);

// Waits (up to `timeout`) for a CLI `child` whose output goes to `output`
// and collects it; on timeout kills it and says that `what` timed out.
CliResult WaitForCli(Child& child, const std::string& output, std::chrono::milliseconds timeout,
                     const std::string& what);

// Runs the sqlite3 CLI to completion (see StartSqliteCli); list mode, no
// headers, so `SELECT count(*) FROM t` prints "3\n".
CliResult RunSqliteCli(const std::string& db_path, const std::string& sql,
                       std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace walship::testing
