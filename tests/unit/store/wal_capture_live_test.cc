// WalCapture driven by SQLite itself: the recording VFS passes every write and
// truncate SQLite makes to a -wal file to a WalCapture as it happens, and
// applies each captured transaction's pages to a shadow copy of the database.
// The oracle is SQLite: after a checkpoint, the database file must equal the
// shadow byte for byte, and there must be one capture per committed
// transaction. This covers write sequences hand-made tests miss (spilled
// transactions whose frames SQLite rewrites in place and whose checksums it
// fills in after the commit frame, rollbacks, WAL restarts).
//
// Each test runs three ways: OnWrite after every write (walship sees each
// write: the request path), and Rescan without OnWrite (FUSE passthrough:
// walship only reads the WAL back) after every write, or after every 7th
// only (the tailer's wake-ups coalesce) and before every write to the
// database file and truncation of the WAL (the synchronous captures at a
// checkpoint).
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "../sqlite/recording_vfs.h"
#include "env/env.h"
#include "store/wal_capture.h"
#include "test_util.h"

namespace walship::store {
namespace {

using testing::Exec;
using testing::ReadAll;
using testing::TempDir;

// What the observer feeds. One at a time (the tests are single-threaded).
struct Recorder {
  WalCapture capture;
  std::string wal_path;
  std::map<uint32_t, std::vector<uint8_t>> shadow;  // pgno -> page
  uint32_t commit = 0;                              // database size in pages
  int transactions = 0;
  std::string error;

  // Takes every committed transaction; `rescan` first reads the WAL back
  // as if its writes had not been seen.
  void Take(bool rescan = false) {
    auto wal = env::Env::Posix()->Open(wal_path, env::OpenMode::kRead);
    if (!wal.ok()) {
      if (!rescan) error = wal.status().ToString();
      return;
    }
    if (rescan) {
      if (Status st = capture.Rescan(wal->get(), 0); !st.ok()) {
        error = st.ToString();
        return;
      }
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

// 0: OnWrite after every write; n > 0: Rescan after every n-th.
class WalCaptureLive : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    recorder_.wal_path = dir_ / "x.db-wal";
    const int every = GetParam();
    sqlite::testing::IoObserver observer;
    observer.before_write = [this, every](const std::string& file, int64_t,
                                          std::span<const uint8_t>) {
      // A checkpoint's database write: walship captures first.
      if (every > 0 && file == dir_ / "x.db") recorder_.Take(/*rescan=*/true);
    };
    observer.after_write = [this, every](const std::string& file, int64_t offset,
                                         std::span<const uint8_t> data) {
      if (file != recorder_.wal_path) return;
      if (every == 0) {
        recorder_.capture.OnWrite(uint64_t(offset), data);
        recorder_.Take();
      } else if (++writes_ % every == 0) {
        recorder_.Take(/*rescan=*/true);
      }
    };
    observer.before_truncate = [this, every](const std::string& file, int64_t) {
      if (every > 0 && file == recorder_.wal_path) recorder_.Take(/*rescan=*/true);
    };
    observer.after_truncate = [this](const std::string& file, int64_t size) {
      if (file == recorder_.wal_path) recorder_.capture.OnTruncate(uint64_t(size));
    };
    sqlite::testing::SetIoObserver(observer);
    ASSERT_EQ(sqlite3_open_v2((dir_ / "x.db").c_str(), &db_,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                              sqlite::testing::RecordingVfsName()),
              SQLITE_OK);
    Exec(db_, "PRAGMA journal_mode=wal; PRAGMA wal_autocheckpoint=0;");
  }
  void TearDown() override {
    sqlite3_close(db_);
    sqlite::testing::SetIoObserver({});
  }

  int64_t Changes() { return sqlite3_total_changes64(db_); }
  // The looks that writes alone do not trigger: the tailer's next wake-up.
  void Settle() {
    if (GetParam() > 0) recorder_.Take(/*rescan=*/true);
  }

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
  int writes_ = 0;
};

TEST_P(WalCaptureLive, OneCapturePerCommit) {
  Exec(db_, "CREATE TABLE t(x)");
  for (int i = 0; i < 20; i++) Exec(db_, "INSERT INTO t VALUES(randomblob(300))");
  Settle();
  EXPECT_EQ(recorder_.transactions, 21);
  ExpectShadowIsTheDatabase();
}

TEST_P(WalCaptureLive, SpilledTransactionWithRewrittenChecksums) {
  // A 2-page cache makes SQLite write frames before COMMIT, rewrite pages in
  // frames it already wrote, and so write unsalted frame headers that it
  // fills in after the commit frame.
  Exec(db_, "CREATE TABLE t(x); INSERT INTO t VALUES(randomblob(100));");
  Settle();
  const int before = recorder_.transactions;
  Exec(db_, "PRAGMA cache_size=2; BEGIN");
  for (int i = 0; i < 300; i++) Exec(db_, "INSERT INTO t VALUES(randomblob(1000))");
  Exec(db_, "UPDATE t SET x = randomblob(900) WHERE rowid = 1; COMMIT");
  Settle();
  EXPECT_EQ(recorder_.transactions, before + 1);
  ExpectShadowIsTheDatabase();
}

TEST_P(WalCaptureLive, RolledBackSpillThenCommitsOverTheSameFrames) {
  Exec(db_, "CREATE TABLE t(x)");
  Settle();
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
  Settle();
  EXPECT_EQ(recorder_.transactions, before + 3);
  ExpectShadowIsTheDatabase();
}

TEST_P(WalCaptureLive, WalRestartsAfterCheckpoints) {
  Exec(db_, "CREATE TABLE t(x)");
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 10; i++) Exec(db_, "INSERT INTO t VALUES(randomblob(2000))");
    Exec(db_, "PRAGMA wal_checkpoint(PASSIVE)");
  }
  Settle();
  EXPECT_EQ(recorder_.transactions, 31);
  ExpectShadowIsTheDatabase();
}

INSTANTIATE_TEST_SUITE_P(Looks, WalCaptureLive, ::testing::Values(0, 1, 7),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return info.param == 0 ? std::string("OnWrite")
                                                  : "RescanEvery" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace walship::store
