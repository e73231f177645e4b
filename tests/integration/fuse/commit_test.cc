// Commit capture through the mount (DESIGN.md §2.1): every transaction SQLite
// commits becomes exactly one LTX with the next TXID, appended to the LTX
// log (no file per commit); rollbacks and checkpoints become none; the chain
// of checksums always matches the bytes.
#include <sys/stat.h>

#include "fuse/fuse_test_util.h"

namespace walship::testing {
namespace {

int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? int64_t(st.st_size) : -1;
}

bool IsWal(JournalMode mode) { return mode == JournalMode::kWal; }

using CommitTest = MountTest;

TEST_P(CommitTest, EachCommittedTransactionIsExactlyOneLtx) {
  Sql sql(DbPath());
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(SetUpDb(sql, mode()));
  const uint64_t base = SetUpTxids(mode());
  WALSHIP_ASSERT_OK_AND_ASSIGN(Pos pos, Position());
  ASSERT_EQ(pos.txid, base);
  ASSERT_EQ(CountTxids(walship_, kDb), int64_t(base));

  const std::string db_file = walship_.data_dir() + "/dbs/app.db/database";
  WALSHIP_ASSERT_OK_AND_ASSIGN(const auto files_before, ListLtx(walship_.data_dir(), kDb));
  constexpr int kRows = 40;
  for (int i = 0; i < kRows; i++) {
    ASSERT_TRUE(InsertRow(sql, 1, i));
    WALSHIP_ASSERT_OK_AND_ASSIGN(pos, Position());
    ASSERT_EQ(pos.txid, base + i + 1) << "after row " << i;
    if (!IsWal(mode())) {
      // In the rollback-journal modes the database file alone is the
      // committed database after every commit.
      WALSHIP_ASSERT_OK_AND_ASSIGN(FileChecksum sum, DatabaseFileChecksum(db_file));
      ASSERT_EQ(sum.checksum, pos.checksum) << "after row " << i;
    }
  }
  EXPECT_EQ(CountTxids(walship_, kDb), int64_t(base + kRows));
  // Appended to the LTX log: not one file was created for them.
  WALSHIP_ASSERT_OK_AND_ASSIGN(const auto files_after, ListLtx(walship_.data_dir(), kDb));
  EXPECT_EQ(files_after.size(), files_before.size());

  // A transaction of many statements is still one TXID.
  ASSERT_TRUE(sql.Exec("BEGIN"));
  for (int i = 0; i < 10; i++) ASSERT_TRUE(InsertRow(sql, 2, i));
  ASSERT_TRUE(sql.Exec("COMMIT"));
  // And so is one statement changing many pages.
  ASSERT_TRUE(sql.Exec("UPDATE t SET payload = randomblob(3000) WHERE writer = 1"));
  EXPECT_EQ(CountTxids(walship_, kDb), int64_t(base + kRows + 2));

  // The sqlite3 CLI, another process: three statements, three TXIDs.
  CliResult cli = RunSqliteCli(DbPath(),
                               "INSERT INTO t(writer, seq) VALUES(3, 0);\n"
                               "INSERT INTO t(writer, seq) VALUES(3, 1);\n"
                               "INSERT INTO t(writer, seq) VALUES(3, 2);\n"
                               "SELECT count(*) FROM t;\n");
  ASSERT_TRUE(cli.ok()) << DescribeWaitStatus(cli.wait_status) << ": " << cli.output;
  EXPECT_EQ(cli.output, std::to_string(kRows + 13) + "\n");
  const uint64_t want = base + kRows + 5;
  EXPECT_EQ(CurrentPos().txid, want);

  Pos final_pos;
  ASSERT_TRUE(Consistent(&final_pos));
  EXPECT_EQ(final_pos.txid, want);
  EXPECT_EQ(CountRows(sql), kRows + 13);
  // The consistency check's checkpoint wrote no LTX either.
  EXPECT_EQ(CountTxids(walship_, kDb), int64_t(want));
}

TEST_P(CommitTest, RolledBackTransactionsWriteNoLtx) {
  Sql sql(DbPath());
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(SetUpDb(sql, mode()));
  for (int i = 0; i < 5; i++) ASSERT_TRUE(InsertRow(sql, 1, i));
  WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos before, Position());
  const int64_t files = CountTxids(walship_, kDb);

  ASSERT_TRUE(sql.Exec("BEGIN"));
  for (int i = 5; i < 10; i++) ASSERT_TRUE(InsertRow(sql, 1, i));
  ASSERT_TRUE(sql.Exec("ROLLBACK"));
  EXPECT_EQ(CurrentPos(), before);
  EXPECT_EQ(CountTxids(walship_, kDb), files);

  // A transaction too big for a 2-page cache spills its pages into the
  // database file (rollback modes) or the WAL before it ends.
  const std::string dir = walship_.data_dir() + "/dbs/app.db/";
  const std::string spill_file = dir + (IsWal(mode()) ? "wal" : "database");
  const int64_t size_before = FileSize(spill_file);
  ASSERT_TRUE(sql.Exec("PRAGMA cache_size=2"));
  ASSERT_TRUE(sql.Exec("BEGIN"));
  for (int i = 100; i < 400; i++) ASSERT_TRUE(InsertRow(sql, 2, i, 1000));
  EXPECT_GT(FileSize(spill_file), size_before + 100 * 1024) << "the transaction did not spill";
  ASSERT_TRUE(sql.Exec("ROLLBACK"));
  EXPECT_EQ(CurrentPos(), before);
  EXPECT_EQ(CountTxids(walship_, kDb), files);
  EXPECT_EQ(CountRows(sql), 5);

  // The next commit continues the chain.
  ASSERT_TRUE(InsertRow(sql, 1, 5));
  Pos after;
  ASSERT_TRUE(Consistent(&after));
  EXPECT_EQ(after.txid, before.txid + 1);
  EXPECT_EQ(CountTxids(walship_, kDb), files + 1);
}

TEST_P(CommitTest, SwitchingJournalModesKeepsOneLtxPerCommit) {
  Sql sql(DbPath());
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(SetUpDb(sql, mode()));
  uint64_t want = SetUpTxids(mode());
  bool wal = IsWal(mode());
  int rows = 0;
  // Leaving or entering WAL rewrites page 1 (file format versions 1 and 2):
  // one transaction. Switching between rollback modes writes nothing.
  for (JournalMode next :
       {JournalMode::kWal, JournalMode::kDelete, JournalMode::kWal, JournalMode::kTruncate,
        JournalMode::kPersist, JournalMode::kWal, mode()}) {
    auto got = sql.QueryString(std::string("PRAGMA journal_mode=") + ModeName(next));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(*got, ModeName(next));
    if (IsWal(next) != wal) want++;
    wal = IsWal(next);
    for (int i = 0; i < 3; i++) ASSERT_TRUE(InsertRow(sql, 1, rows++));
    want += 3;
    WALSHIP_ASSERT_OK_AND_ASSIGN(Pos pos, Position());
    ASSERT_EQ(pos.txid, want) << "after switching to " << ModeName(next);
    if (next == JournalMode::kDelete) {
      ASSERT_TRUE(Consistent());
    }
  }
  EXPECT_EQ(CountTxids(walship_, kDb), int64_t(want));
  Pos pos;
  ASSERT_TRUE(Consistent(&pos));
  EXPECT_EQ(pos.txid, want);
  EXPECT_EQ(CountRows(sql), rows);
}

TEST_P(CommitTest, BigSpilledTransactionIsOneLtx) {
  Sql sql(DbPath());
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(SetUpDb(sql, mode()));
  for (int i = 0; i < 5; i++) ASSERT_TRUE(InsertRow(sql, 1, i));
  WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos before, Position());
  // With a 2-page cache SQLite writes pages before COMMIT, some of them more
  // than once (a WAL then holds several frames of one page; the last counts).
  ASSERT_TRUE(sql.Exec("PRAGMA cache_size=2"));
  ASSERT_TRUE(sql.Exec("BEGIN"));
  for (int i = 0; i < 300; i++) ASSERT_TRUE(InsertRow(sql, 2, i, 1000));
  ASSERT_TRUE(sql.Exec("UPDATE t SET payload = randomblob(900) WHERE writer = 1"));
  ASSERT_TRUE(sql.Exec("COMMIT"));
  Pos after;
  ASSERT_TRUE(Consistent(&after));
  EXPECT_EQ(after.txid, before.txid + 1);
  EXPECT_EQ(CountTxids(walship_, kDb), int64_t(before.txid + 1));
  EXPECT_EQ(CountRows(sql), 305);
}

TEST_P(CommitTest, VacuumShrinkingTheDatabaseIsOneLtx) {
  Sql sql(DbPath());
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(SetUpDb(sql, mode()));
  ASSERT_TRUE(sql.Exec("BEGIN"));
  for (int i = 0; i < 200; i++) ASSERT_TRUE(InsertRow(sql, 1, i, 1000));
  ASSERT_TRUE(sql.Exec("COMMIT"));
  ASSERT_TRUE(sql.Exec("DELETE FROM t WHERE seq >= 10"));
  Pos pos;
  ASSERT_TRUE(Consistent(&pos));
  WALSHIP_ASSERT_OK_AND_ASSIGN(LtxChain big, VerifyLtxChain(walship_.data_dir(), kDb));

  ASSERT_TRUE(sql.Exec("VACUUM"));
  Pos vacuumed;
  ASSERT_TRUE(Consistent(&vacuumed));
  EXPECT_EQ(vacuumed.txid, pos.txid + 1);
  WALSHIP_ASSERT_OK_AND_ASSIGN(LtxChain small, VerifyLtxChain(walship_.data_dir(), kDb));
  EXPECT_LT(small.commit, big.commit / 4) << "VACUUM did not shrink the database";
  EXPECT_EQ(CountRows(sql), 10);
  ASSERT_TRUE(InsertRow(sql, 1, 1000));
  ASSERT_TRUE(Consistent(&pos));
  EXPECT_EQ(pos.txid, vacuumed.txid + 1);
}

TEST_P(CommitTest, VacuumChangingThePageSizeIsOneLtx) {
  Sql sql(DbPath());
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(SetUpDb(sql, mode()));
  for (int i = 0; i < 20; i++) ASSERT_TRUE(InsertRow(sql, 1, i, 500));
  WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos before, Position());
  // SQLite changes the page size only outside WAL mode: a WAL database
  // leaves it (one TXID) and comes back (one more).
  const uint64_t switches = IsWal(mode()) ? 2 : 0;
  if (IsWal(mode())) {
    ASSERT_TRUE(sql.Exec("PRAGMA journal_mode=delete"));
  }
  // 65536 is stored as 1 in the header's two-byte field.
  ASSERT_TRUE(sql.Exec("PRAGMA page_size=65536; VACUUM"));
  if (IsWal(mode())) {
    ASSERT_TRUE(sql.Exec("PRAGMA journal_mode=wal"));
  }
  auto page_size = sql.QueryInt("PRAGMA page_size");
  ASSERT_TRUE(page_size.ok()) << page_size.status().ToString();
  EXPECT_EQ(*page_size, 65536);
  Pos after;
  ASSERT_TRUE(Consistent(&after));
  EXPECT_EQ(after.txid, before.txid + 1 + switches);
  WALSHIP_ASSERT_OK_AND_ASSIGN(LtxChain chain, VerifyLtxChain(walship_.data_dir(), kDb));
  EXPECT_EQ(chain.page_size, 65536u);
  ASSERT_TRUE(InsertRow(sql, 1, 20, 500));
  ASSERT_TRUE(Consistent(&after));
  EXPECT_EQ(after.txid, before.txid + 2 + switches);
  EXPECT_EQ(CountRows(sql), 21);
}

TEST_P(CommitTest, DatabasesHaveIndependentTxids) {
  Sql a(walship_.Path("a.db"));
  Sql b(walship_.Path("b.db"));
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_TRUE(b.ok()) << b.error();
  ASSERT_TRUE(SetUpDb(a, mode()));
  ASSERT_TRUE(SetUpDb(b, mode()));
  for (int i = 0; i < 6; i++) {
    ASSERT_TRUE(InsertRow(a, 1, i));
    if (i % 2 == 0) {
      ASSERT_TRUE(InsertRow(b, 1, i));
    }
  }
  Pos pa, pb;
  ASSERT_TRUE(CheckConsistent(walship_.mount_dir(), walship_.data_dir(), "a.db", &pa));
  ASSERT_TRUE(CheckConsistent(walship_.mount_dir(), walship_.data_dir(), "b.db", &pb));
  EXPECT_EQ(pa.txid, SetUpTxids(mode()) + 6);
  EXPECT_EQ(pb.txid, SetUpTxids(mode()) + 3);
  EXPECT_EQ(CountTxids(walship_, "a.db"), int64_t(pa.txid));
  EXPECT_EQ(CountTxids(walship_, "b.db"), int64_t(pb.txid));
}

// Restarts record nothing new, however many: the LTX log is sealed into a file
// at the first, and that file must still say where its transactions ended in
// the WAL, whose frames a writer that died without closing left behind.
TEST_P(CommitTest, RestartsRecordNothingNew) {
  const std::string path = DbPath();
  Child writer = Child::Fork([&] {
    Sql sql(path);
    if (!sql.ok() || !SetUpDb(sql, mode()) || !sql.Exec("PRAGMA wal_autocheckpoint=0")) return 2;
    for (int i = 0; i < 20; i++) {
      if (!InsertRow(sql, 1, i)) return 2;
    }
    std::_Exit(0);  // no close: no checkpoint, the WAL stays
  });
  auto status = writer.Wait(std::chrono::seconds(60));
  ASSERT_TRUE(status && ExitedWith(*status, 0));
  WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos before, Position());
  for (int restart = 1; restart <= 3; restart++) {
    ASSERT_TRUE(walship_.Restart());
    WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos after, Position());
    EXPECT_EQ(after, before) << "after restart " << restart;
  }
  Sql sql(path);
  ASSERT_TRUE(sql.ok()) << sql.error();
  EXPECT_EQ(CountRows(sql, "writer = 1"), 20);
  ASSERT_TRUE(InsertRow(sql, 2, 0));
  Pos next;
  ASSERT_TRUE(Consistent(&next));
  EXPECT_EQ(next.txid, before.txid + 1);
}

INSTANTIATE_TEST_SUITE_P(JournalModes, CommitTest, ::testing::ValuesIn(kAllJournalModes),
                         ParamName);

// Checkpoints copy committed pages from the WAL into the database file; the
// logical database does not change, so no TXID may be spent on them.
using CheckpointTest = MountTest;

TEST_P(CheckpointTest, ExplicitCheckpointsWriteNoLtx) {
  Sql sql(DbPath());
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(SetUpDb(sql, mode()));
  ASSERT_TRUE(sql.Exec("PRAGMA wal_autocheckpoint=0"));
  for (int i = 0; i < 20; i++) ASSERT_TRUE(InsertRow(sql, 1, i, 500));
  WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos before, Position());
  const int64_t files = CountTxids(walship_, kDb);
  const std::string dir = walship_.data_dir() + "/dbs/app.db/";

  for (const char* kind : {"PASSIVE", "FULL", "RESTART", "TRUNCATE"}) {
    auto busy = sql.QueryInt(std::string("PRAGMA wal_checkpoint(") + kind + ")");
    ASSERT_TRUE(busy.ok()) << busy.status().ToString();
    EXPECT_EQ(*busy, 0) << kind;
    EXPECT_EQ(CurrentPos(), before) << kind;
    EXPECT_EQ(CountTxids(walship_, kDb), files) << kind;
  }
  // TRUNCATE left every page in the database file and an empty WAL.
  EXPECT_EQ(FileSize(dir + "wal"), 0);
  WALSHIP_ASSERT_OK_AND_ASSIGN(FileChecksum sum, DatabaseFileChecksum(dir + "database"));
  EXPECT_EQ(sum.checksum, before.checksum);

  // The WAL restarts with new salts; commits continue the chain.
  for (int i = 20; i < 25; i++) ASSERT_TRUE(InsertRow(sql, 1, i, 500));
  EXPECT_EQ(CurrentPos().txid, before.txid + 5);

  // Closing the last connection checkpoints and deletes the WAL: no LTX.
  WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos open_pos, Position());
  sql.Close();
  EXPECT_EQ(FileSize(dir + "wal"), -1) << "the last close did not delete the WAL";
  EXPECT_EQ(CurrentPos(), open_pos);
  EXPECT_EQ(CountTxids(walship_, kDb), files + 5);
  ASSERT_TRUE(Consistent());
}

TEST_P(CheckpointTest, AutomaticCheckpointsDuringALoadWriteNoLtx) {
  Sql sql(DbPath());
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(SetUpDb(sql, mode()));
  ASSERT_TRUE(sql.Exec("PRAGMA wal_autocheckpoint=8"));
  const std::string dir = walship_.data_dir() + "/dbs/app.db/";
  WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos before, Position());
  const int64_t db_size_before = FileSize(dir + "database");

  constexpr int kCommits = 150;
  int64_t max_wal = 0;
  for (int i = 0; i < kCommits; i++) {
    ASSERT_TRUE(InsertRow(sql, 1, i, 2000));
    max_wal = std::max(max_wal, FileSize(dir + "wal"));
  }
  WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos after, Position());
  EXPECT_EQ(after.txid, before.txid + kCommits);
  EXPECT_EQ(CountTxids(walship_, kDb), int64_t(before.txid + kCommits));
  // Checkpoints ran: the database file grew (only checkpoints write it in WAL
  // mode) while the WAL kept restarting instead of growing to ~300 frames.
  EXPECT_GT(FileSize(dir + "database"), db_size_before + 100 * 1024);
  EXPECT_LT(max_wal, 64 * (4096 + 24));
  ASSERT_TRUE(Consistent());
}

INSTANTIATE_TEST_SUITE_P(Wal, CheckpointTest, ::testing::Values(JournalMode::kWal), ParamName);

}  // namespace
}  // namespace walship::testing
