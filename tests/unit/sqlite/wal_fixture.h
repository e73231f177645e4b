// A real WAL-mode database kept open (so its -wal and -shm files stay) with
// automatic checkpoints off. Records, for every commit, the WAL frame count
// SQLite reports through sqlite3_wal_hook and the table's row count, so tests
// can compare what they parse with what SQLite did. Test-only.
#pragma once

#include <string>
#include <vector>

#include "test_util.h"

namespace walship::sqlite::testing {

class WalDb {
 public:
  WalDb(const TempDir& dir, uint32_t page_size, const std::string& name = "w.db")
      : db_path(dir.File(name)), wal_path(db_path + "-wal"), shm_path(db_path + "-shm"),
        page_size(page_size), conn(db_path) {
    conn.Exec("PRAGMA page_size=" + std::to_string(page_size));
    conn.Exec("PRAGMA journal_mode=WAL");
    conn.Exec("PRAGMA wal_autocheckpoint=0");
    // Replaces the auto-checkpoint hook: no checkpoint runs unless asked.
    sqlite3_wal_hook(conn.get(), &WalDb::OnCommit, this);
    Txn("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
  }

  // Runs `sql` as one transaction and records the commit.
  void Txn(const std::string& sql) {
    conn.Exec("BEGIN; " + sql + "; COMMIT");
    rows.push_back(RowCount());
  }

  // Inserts `n` rows of `size` random bytes and rewrites every 3rd old row,
  // so a transaction touches several pages, some already in the WAL.
  void InsertAndUpdate(int n, int size) {
    Txn("UPDATE t SET v = randomblob(length(v)) WHERE id % 3 = 0; "
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<" +
        std::to_string(n) + ") INSERT INTO t(v) SELECT randomblob(" + std::to_string(size) +
        ") FROM s");
  }

  int64_t RowCount() {
    return conn.TryExec("SELECT 1 FROM t LIMIT 0") == SQLITE_OK
               ? conn.QueryInt("SELECT count(*) FROM t")
               : 0;
  }

  const std::string db_path;
  const std::string wal_path;
  const std::string shm_path;
  const uint32_t page_size;
  Conn conn;
  std::vector<int> commits;    // WAL frame count after each commit
  std::vector<int64_t> rows;   // rows in t after each commit

 private:
  static int OnCommit(void* arg, sqlite3*, const char*, int frames) {
    static_cast<WalDb*>(arg)->commits.push_back(frames);
    return SQLITE_OK;
  }
};

// Opens a copy of db + wal (no -shm) in `dir` with SQLite, as recovery after a
// crash would, and returns the row count of t (or -1 if t is absent).
inline int64_t RowsSqliteRecovers(const TempDir& dir, const Bytes& db, const Bytes& wal,
                                  const std::string& name = "copy.db") {
  std::string path = dir.File(name);
  WriteBytes(path, db);
  WriteBytes(path + "-wal", wal);
  Conn c(path);
  if (c.TryExec("SELECT 1 FROM t LIMIT 0") != SQLITE_OK) return -1;
  return c.QueryInt("SELECT count(*) FROM t");
}

}  // namespace walship::sqlite::testing
