// WalCapture driven by SQLite itself: a VFS shim passes every write and
// truncate SQLite makes to a -wal file to a WalCapture as it happens, and
// applies each captured transaction's pages to a shadow copy of the database.
// The oracle is SQLite: after a checkpoint, the database file must equal the
// shadow byte for byte, and there must be one capture per committed
// transaction. This covers write sequences hand-made tests miss (spilled
// transactions whose frames SQLite rewrites in place and whose checksums it
// fills in after the commit frame, rollbacks, WAL restarts).
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>

#include "env/env.h"
#include "store/wal_capture.h"
#include "test_util.h"

namespace walship::store {
namespace {

using testing::Exec;
using testing::ReadAll;
using testing::TempDir;

// What the shim feeds. One at a time (the tests are single-threaded).
struct Recorder {
  WalCapture capture;
  std::string wal_path;
  std::map<uint32_t, std::vector<uint8_t>> shadow;  // pgno -> page
  uint32_t commit = 0;                              // database size in pages
  int transactions = 0;
  std::string error;

  void Take() {
    auto wal = env::Env::Posix()->Open(wal_path, env::OpenMode::kRead);
    if (!wal.ok()) {
      error = wal.status().ToString();
      return;
    }
    while (true) {
      auto spec = capture.TakeNextCommitted(wal->get());
      if (!spec.ok()) {
        error = spec.status().ToString();
        return;
      }
      if (!spec->has_value()) return;
      transactions++;
      commit = (*spec)->commit;
      for (const PageSource& p : (*spec)->pages) {
        std::vector<uint8_t> page((*spec)->page_size);
        auto n = (*wal)->ReadAt(p.offset, page);
        if (!n.ok() || *n != page.size()) error = "short read of page " + std::to_string(p.pgno);
        shadow[p.pgno] = page;
      }
    }
  }
};

Recorder* g_recorder = nullptr;
sqlite3_vfs* g_base = nullptr;

struct ShimFile {
  sqlite3_file base;      // must be first: SQLite sees this
  bool is_wal;
  sqlite3_file* real;     // the default VFS's file, allocated after this struct
};

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f)->real; }

int ShimWrite(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  int rc = Real(f)->pMethods->xWrite(Real(f), buf, amt, off);
  if (rc == SQLITE_OK && reinterpret_cast<ShimFile*>(f)->is_wal) {
    g_recorder->capture.OnWrite(uint64_t(off),
                                std::span(static_cast<const uint8_t*>(buf), size_t(amt)));
    g_recorder->Take();
  }
  return rc;
}

int ShimTruncate(sqlite3_file* f, sqlite3_int64 size) {
  int rc = Real(f)->pMethods->xTruncate(Real(f), size);
  if (rc == SQLITE_OK && reinterpret_cast<ShimFile*>(f)->is_wal) {
    g_recorder->capture.OnTruncate(uint64_t(size));
  }
  return rc;
}

// Every other method forwards to the real file.
sqlite3_io_methods MakeMethods() {
  sqlite3_io_methods m{};
  m.iVersion = 3;
  m.xClose = [](sqlite3_file* f) {
    int rc = Real(f)->pMethods ? Real(f)->pMethods->xClose(Real(f)) : SQLITE_OK;
    return rc;
  };
  m.xRead = [](sqlite3_file* f, void* b, int n, sqlite3_int64 o) {
    return Real(f)->pMethods->xRead(Real(f), b, n, o);
  };
  m.xWrite = ShimWrite;
  m.xTruncate = ShimTruncate;
  m.xSync = [](sqlite3_file* f, int flags) { return Real(f)->pMethods->xSync(Real(f), flags); };
  m.xFileSize = [](sqlite3_file* f, sqlite3_int64* s) {
    return Real(f)->pMethods->xFileSize(Real(f), s);
  };
  m.xLock = [](sqlite3_file* f, int l) { return Real(f)->pMethods->xLock(Real(f), l); };
  m.xUnlock = [](sqlite3_file* f, int l) { return Real(f)->pMethods->xUnlock(Real(f), l); };
  m.xCheckReservedLock = [](sqlite3_file* f, int* r) {
    return Real(f)->pMethods->xCheckReservedLock(Real(f), r);
  };
  m.xFileControl = [](sqlite3_file* f, int op, void* a) {
    return Real(f)->pMethods->xFileControl(Real(f), op, a);
  };
  m.xSectorSize = [](sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); };
  m.xDeviceCharacteristics = [](sqlite3_file* f) {
    return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
  };
  m.xShmMap = [](sqlite3_file* f, int i, int sz, int ext, void volatile** p) {
    return Real(f)->pMethods->xShmMap(Real(f), i, sz, ext, p);
  };
  m.xShmLock = [](sqlite3_file* f, int o, int n, int fl) {
    return Real(f)->pMethods->xShmLock(Real(f), o, n, fl);
  };
  m.xShmBarrier = [](sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); };
  m.xShmUnmap = [](sqlite3_file* f, int d) { return Real(f)->pMethods->xShmUnmap(Real(f), d); };
  m.xFetch = [](sqlite3_file* f, sqlite3_int64 o, int n, void** p) {
    return Real(f)->pMethods->xFetch(Real(f), o, n, p);
  };
  m.xUnfetch = [](sqlite3_file* f, sqlite3_int64 o, void* p) {
    return Real(f)->pMethods->xUnfetch(Real(f), o, p);
  };
  return m;
}

const sqlite3_io_methods kMethods = MakeMethods();

int ShimOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out) {
  auto* shim = reinterpret_cast<ShimFile*>(f);
  shim->real = reinterpret_cast<sqlite3_file*>(shim + 1);
  shim->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  shim->base.pMethods = nullptr;
  int rc = g_base->xOpen(g_base, name, shim->real, flags, out);
  if (rc == SQLITE_OK) shim->base.pMethods = &kMethods;
  return rc;
}

sqlite3_vfs MakeShim() {
  g_base = sqlite3_vfs_find(nullptr);
  sqlite3_vfs vfs = *g_base;
  vfs.zName = "walship-capture-shim";
  vfs.szOsFile = int(sizeof(ShimFile)) + g_base->szOsFile;
  vfs.xOpen = ShimOpen;
  vfs.pNext = nullptr;
  return vfs;
}

class WalCaptureLive : public ::testing::Test {
 protected:
  void SetUp() override {
    static sqlite3_vfs vfs = MakeShim();
    static bool registered = sqlite3_vfs_register(&vfs, 0) == SQLITE_OK;
    ASSERT_TRUE(registered);
    g_recorder = &recorder_;
    recorder_.wal_path = dir_ / "x.db-wal";
    ASSERT_EQ(sqlite3_open_v2((dir_ / "x.db").c_str(), &db_,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "walship-capture-shim"),
              SQLITE_OK);
    Exec(db_, "PRAGMA journal_mode=wal; PRAGMA wal_autocheckpoint=0;");
  }
  void TearDown() override {
    sqlite3_close(db_);
    g_recorder = nullptr;
  }

  int64_t Changes() { return sqlite3_total_changes64(db_); }

  // Checkpoints everything and compares the database file with the shadow
  // built from the captured transactions alone.
  void ExpectShadowIsTheDatabase() {
    ASSERT_TRUE(recorder_.error.empty()) << recorder_.error;
    Exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)");
    const std::vector<uint8_t> file = ReadAll(dir_ / "x.db");
    ASSERT_FALSE(recorder_.shadow.empty());
    const size_t page_size = recorder_.shadow.begin()->second.size();
    ASSERT_EQ(file.size(), page_size * recorder_.commit);
    for (uint32_t pgno = 1; pgno <= recorder_.commit; pgno++) {
      auto it = recorder_.shadow.find(pgno);
      ASSERT_NE(it, recorder_.shadow.end()) << "page " << pgno << " never captured";
      ASSERT_EQ(0, std::memcmp(it->second.data(), file.data() + (pgno - 1) * page_size, page_size))
          << "page " << pgno << " differs from what SQLite committed";
    }
  }

  TempDir dir_;
  Recorder recorder_;
  sqlite3* db_ = nullptr;
};

TEST_F(WalCaptureLive, OneCapturePerCommit) {
  Exec(db_, "CREATE TABLE t(x)");
  for (int i = 0; i < 20; i++) Exec(db_, "INSERT INTO t VALUES(randomblob(300))");
  EXPECT_EQ(recorder_.transactions, 21);
  ExpectShadowIsTheDatabase();
}

TEST_F(WalCaptureLive, SpilledTransactionWithRewrittenChecksums) {
  // A 2-page cache makes SQLite write frames before COMMIT, rewrite pages in
  // frames it already wrote, and so write unsalted frame headers that it
  // fills in after the commit frame.
  Exec(db_, "CREATE TABLE t(x); INSERT INTO t VALUES(randomblob(100));");
  const int before = recorder_.transactions;
  Exec(db_, "PRAGMA cache_size=2; BEGIN");
  for (int i = 0; i < 300; i++) Exec(db_, "INSERT INTO t VALUES(randomblob(1000))");
  Exec(db_, "UPDATE t SET x = randomblob(900) WHERE rowid = 1; COMMIT");
  EXPECT_EQ(recorder_.transactions, before + 1);
  ExpectShadowIsTheDatabase();
}

TEST_F(WalCaptureLive, RolledBackSpillThenCommitsOverTheSameFrames) {
  Exec(db_, "CREATE TABLE t(x)");
  const int before = recorder_.transactions;
  Exec(db_, "PRAGMA cache_size=2");
  for (int round = 0; round < 3; round++) {
    Exec(db_, "BEGIN");
    for (int i = 0; i < 100; i++) Exec(db_, "INSERT INTO t VALUES(randomblob(1000))");
    Exec(db_, "ROLLBACK");
    Exec(db_, "BEGIN");
    for (int i = 0; i < 100; i++) Exec(db_, "INSERT INTO t VALUES(randomblob(1000))");
    Exec(db_, "UPDATE t SET x = randomblob(10) WHERE rowid % 7 = 0; COMMIT");
  }
  EXPECT_EQ(recorder_.transactions, before + 3);
  ExpectShadowIsTheDatabase();
}

TEST_F(WalCaptureLive, WalRestartsAfterCheckpoints) {
  Exec(db_, "CREATE TABLE t(x)");
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 10; i++) Exec(db_, "INSERT INTO t VALUES(randomblob(2000))");
    Exec(db_, "PRAGMA wal_checkpoint(PASSIVE)");
  }
  EXPECT_EQ(recorder_.transactions, 31);
  ExpectShadowIsTheDatabase();
}

}  // namespace
}  // namespace walship::store
