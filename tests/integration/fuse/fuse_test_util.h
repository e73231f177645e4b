// Shared pieces of the single-node mount tests: the journal-mode parameter,
// a fixture that runs one walship per test, the test table, and writers that
// run in forked child processes.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>

#include "harness/child_process.h"
#include "harness/consistency.h"
#include "harness/sql.h"
#include "harness/journal_mode.h"
#include "harness/status_assert.h"
#include "harness/walship_process.h"

namespace walship::testing {

// TXID of a new database after SetUpDb: switching an empty database to WAL
// writes page 1 (file format version 2) in its own transaction; the other
// modes only take effect with the CREATE TABLE.
uint64_t SetUpTxids(JournalMode mode);

// Sets the journal mode and creates the test table
//   t(id INTEGER PRIMARY KEY, writer INTEGER, seq INTEGER, payload BLOB,
//     UNIQUE(writer, seq))
// Exactly SetUpTxids(mode) transactions.
::testing::AssertionResult SetUpDb(Sql& sql, JournalMode mode);

// One single-row transaction: row (writer, seq) with `payload_bytes` random bytes.
::testing::AssertionResult InsertRow(Sql& sql, int64_t writer, int64_t seq,
                                     int payload_bytes = 100);

// What a forked writer does (see WriterChild).
struct WriterSpec {
  int64_t writer = 1;  // the rows' `writer` column
  int64_t rows = 0;    // seq 0..rows-1
  int payload_bytes = 100;
  std::string setup_sql;  // run first, e.g. connection PRAGMAs
  int busy_timeout_ms = 30000;
  Pipe* acks = nullptr;  // gets each seq once its commit returned OK
  // When set, the writer stops (exit 1) before an insert if stat() of this
  // path fails: after walship died, SQLite would spend seconds retrying the
  // WAL read lock before giving up.
  std::string liveness_path;
};

// Body of a forked writer: opens `path` with its own connection, runs
// spec.setup_sql and inserts the rows one transaction each. Exit code: 0 when
// every row committed, 1 when an insert failed (a crashed mount, as crash
// tests expect), 2 when the database could not be opened or set up, 3 when
// an ack could not be sent.
int WriterChild(const std::string& path, const WriterSpec& spec);

// SELECT count(*) FROM t WHERE `where`; -1 (with a test failure) on error.
int64_t CountRows(Sql& sql, const std::string& where = "1");

// Number of transactions recorded for `db` (TXIDs in its LTX files and its
// LTX log, which must form one verified chain), or -1 (with a test failure).
int64_t CountTxids(const WalshipProcess& walship, const std::string& db);

// A single walship per test, started in SetUp, stopped (and checked to stop
// cleanly) in TearDown unless the test already stopped or killed it.
class MountTest : public ::testing::TestWithParam<JournalMode> {
 protected:
  static constexpr char kDb[] = "app.db";

  void SetUp() override;
  void TearDown() override;

  JournalMode mode() const { return GetParam(); }
  std::string DbPath() const { return walship_.Path(kDb); }
  Result<Pos> Position() const { return ReadPos(walship_.mount_dir(), kDb); }
  // Position(), or {} with a test failure.
  Pos CurrentPos() const;
  ::testing::AssertionResult Consistent(Pos* pos = nullptr) const {
    return CheckConsistent(walship_.mount_dir(), walship_.data_dir(), kDb, pos);
  }

  WalshipProcess walship_;
};

}  // namespace walship::testing
