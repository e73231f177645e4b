// Recovery after kill -9 (DESIGN.md §2.1, §4): walship killed at chosen crash
// points while a writer commits or while SQLite checkpoints, and writer
// processes killed in the middle of a big transaction. After a restart the
// database must pass integrity_check, keep every row whose commit returned
// OK, continue its TXIDs without a gap, and -pos must equal the checksum
// recomputed from the bytes.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <tuple>

#include "fuse/fuse_test_util.h"
#include "harness/temp_dir.h"

namespace walship::testing {
namespace {

using std::chrono::seconds;

constexpr char kDb[] = "app.db";
constexpr int kSetupRows = 3;
constexpr int64_t kMaxWriterRows = 400;  // a writer never gets this far before its crash

// How a writer commits: the journal mode and PRAGMA synchronous.
struct Durability {
  JournalMode mode;
  const char* synchronous;
};

const Durability kDurabilities[] = {
    {JournalMode::kDelete, "FULL"},  {JournalMode::kTruncate, "FULL"},
    {JournalMode::kPersist, "FULL"}, {JournalMode::kWal, "FULL"},
    {JournalMode::kWal, "NORMAL"},
};

std::string DurabilityName(const Durability& d) {
  return std::string(ModeName(d.mode)) + "_" + d.synchronous;
}
void PrintTo(const Durability& d, std::ostream* os) { *os << DurabilityName(d); }

// Creates app.db with kSetupRows rows (writer 0) and stops walship, so the
// crash run's hit counts start at the writer's first commit.
void PrepareDatabase(WalshipProcess& walship, JournalMode mode) {
  ASSERT_TRUE(walship.Start());
  {
    Sql sql(walship.Path(kDb));
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpDb(sql, mode));
    for (int i = 0; i < kSetupRows; i++) ASSERT_TRUE(InsertRow(sql, 0, i));
  }
  ASSERT_TRUE(walship.Stop());
}

struct WriterOutcome {
  int64_t acked = 0;     // rows whose commit returned OK, seq 0..acked-1
  int wait_status = -1;  // of the writer process
};

// Runs a forked writer (writer 1) until it fails, collecting its acks.
WriterOutcome RunWriterUntilFailure(const WalshipProcess& walship, const std::string& setup_sql,
                                    int payload_bytes) {
  WriterOutcome out;
  Pipe acks;
  WriterSpec spec;
  spec.writer = 1;
  spec.rows = kMaxWriterRows;
  spec.payload_bytes = payload_bytes;
  spec.setup_sql = setup_sql;
  // A dead mount fails lock requests, which SQLite reports as SQLITE_BUSY
  // for the -shm locks: a long busy timeout would only delay the failure.
  spec.busy_timeout_ms = 500;
  spec.acks = &acks;
  spec.liveness_path = walship.Path(".lag");
  Child writer = Child::Fork([&] {
    acks.CloseRead();
    return WriterChild(walship.Path(kDb), spec);
  });
  acks.CloseWrite();
  uint64_t seq = 0;
  Pipe::ReadStatus st;
  while ((st = acks.Receive(&seq, seconds(60))) == Pipe::ReadStatus::kValue) {
    EXPECT_EQ(seq, uint64_t(out.acked)) << "acks out of order";
    out.acked++;
  }
  EXPECT_EQ(st, Pipe::ReadStatus::kEof) << "the writer neither failed nor finished";
  auto status = writer.Wait(seconds(30));
  out.wait_status = status ? *status : writer.Kill();
  return out;
}

// A new commit (writer 2) takes the TXID after `pos`, consistently; then
// walship stops cleanly.
void ExpectNextCommitFollows(WalshipProcess& walship, Sql& sql, const Pos& pos) {
  ASSERT_TRUE(InsertRow(sql, 2, 0));
  Pos next;
  ASSERT_TRUE(CheckConsistent(walship.mount_dir(), walship.data_dir(), kDb, &next));
  EXPECT_EQ(next.txid, pos.txid + 1);
  sql.Close();
  EXPECT_TRUE(walship.Stop());
}

// Restarts a crashed walship without the crash point and proves the
// database whole: consistency, `want_rows` rows of writer 1 (all acked ones
// among them), and a new commit taking the next TXID.
// `want_rows` < 0: acked or acked + 1 rows (the one whose COMMIT failed may
// have committed), whichever the WAL holds.
void ExpectRecovered(WalshipProcess& walship, JournalMode mode, int64_t acked, int64_t want_rows) {
  ASSERT_TRUE(walship.Restart());
  if (want_rows < 0) {
    Sql count(walship.Path(kDb));
    ASSERT_TRUE(count.ok()) << count.error();
    want_rows = CountRows(count, "writer = 1");
    EXPECT_GE(want_rows, acked) << "a row whose commit returned OK is missing";
    EXPECT_LE(want_rows, acked + 1);
  }
  const uint64_t want_txid = SetUpTxids(mode) + kSetupRows + uint64_t(want_rows);
  // Before any SQLite connection touches the files: walship's own recovery
  // must already account for every transaction that survived.
  WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos recovered, ReadPos(walship.mount_dir(), kDb));
  EXPECT_EQ(recovered.txid, want_txid) << "position right after the restart";
  for (const auto& entry :
       std::filesystem::directory_iterator(walship.data_dir() + "/dbs/app.db/ltx")) {
    EXPECT_EQ(entry.path().extension(), ".ltx") << "left behind: " << entry.path();
  }
  Pos pos;
  ASSERT_TRUE(CheckConsistent(walship.mount_dir(), walship.data_dir(), kDb, &pos));
  EXPECT_EQ(pos.txid, want_txid);
  EXPECT_EQ(pos, recovered) << "SQLite's first look changed the position";

  Sql sql(walship.Path(kDb));
  ASSERT_TRUE(sql.ok()) << sql.error();
  EXPECT_EQ(CountRows(sql, "writer = 0"), kSetupRows);
  EXPECT_EQ(CountRows(sql, "writer = 1 AND seq < " + std::to_string(acked)), acked)
      << "a row whose commit returned OK is missing";
  EXPECT_EQ(CountRows(sql, "writer = 1"), want_rows);

  ExpectNextCommitFollows(walship, sql, pos);
}

void ExpectCrashed(WalshipProcess& walship) {
  auto status = walship.WaitForExit(seconds(30));
  ASSERT_TRUE(status) << "walship did not die at its crash point";
  EXPECT_TRUE(KilledBy(*status, SIGKILL)) << DescribeWaitStatus(*status);
  EXPECT_NE(walship.Log().find("crash point reached"), std::string::npos);
}

// --- walship killed at a crash point while a writer commits. --------------

constexpr int kCrashAtCommit = 5;  // the writer's 5th commit hits the crash point

class CommitCrashTest : public ::testing::TestWithParam<std::tuple<Durability, const char*>> {};

TEST_P(CommitCrashTest, RecoversEveryAcknowledgedCommit) {
  const auto& [durability, point] = GetParam();
  WalshipProcess walship;
  PrepareDatabase(walship, durability.mode);
  if (HasFatalFailure()) return;
  // Sealing the LTX log after every transaction, the first seal is at
  // start-up (of the setup's transactions), the n+1-th at the writer's n-th
  // commit, after its LTX is in the log. "...-after-seals" is the crash
  // point before it, with the log sealed after every transaction: each entry
  // is written over the last one's bytes (LtxLog::Clear keeps them).
  const std::string name = point;
  const bool seal = name.starts_with("seal-");
  const bool after_seals = name.ends_with("-after-seals");
  const std::string crash_point = after_seals ? name.substr(0, name.size() - 12) : name;
  if (after_seals && durability.mode == JournalMode::kWal) {
    GTEST_SKIP() << "in WAL mode a transaction sealed at once never reaches the log file (the "
                    "seal takes it from memory before the batch is written)";
  }
  const int hit = seal ? kCrashAtCommit + 1 : kCrashAtCommit;
  EnvVars env = {{"WALSHIP_CRASH_AT", crash_point + ":" + std::to_string(hit)}};
  if (seal || after_seals) env.emplace_back("WALSHIP_TEST_SEAL_TXIDS", "1");
  ASSERT_TRUE(walship.Restart(env));

  WriterOutcome writer = RunWriterUntilFailure(
      walship, std::string("PRAGMA synchronous=") + durability.synchronous, 200);
  ExpectCrashed(walship);
  EXPECT_TRUE(ExitedWith(writer.wait_status, 1)) << DescribeWaitStatus(writer.wait_status);

  // Which commit survives is determined: the crashed one stands once its
  // LTX is in place, and in WAL mode always (its commit frame is in the WAL
  // before walship is asked to sync or unlock); in the rollback modes a
  // transaction without an LTX is rolled back from its still-hot journal.
  const bool wal = durability.mode == JournalMode::kWal;
  const bool stands = wal || name == "commit-after-ltx" || seal;
  int64_t want_rows = stands ? kCrashAtCommit : kCrashAtCommit - 1;
  if (wal && std::string(durability.synchronous) == "NORMAL" && walship.PassthroughOn()) {
    // The writer does not wait for walship (FUSE passthrough): it commits
    // into the WAL until it notices the dead mount, and every commit it made
    // is in the WAL, for walship to record at its restart.
    EXPECT_GE(writer.acked, kCrashAtCommit - 1);
    want_rows = -1;
  } else if (wal && std::string(durability.synchronous) == "NORMAL") {
    // The LTX is written when the writer releases the WAL lock, after its
    // commit is done; SQLite may or may not report the failed unlock.
    EXPECT_GE(writer.acked, kCrashAtCommit - 1);
    EXPECT_LE(writer.acked, kCrashAtCommit);
  } else {
    EXPECT_EQ(writer.acked, kCrashAtCommit - 1);
  }
  ExpectRecovered(walship, durability.mode, writer.acked, want_rows);
}

std::string CommitCrashName(
    const ::testing::TestParamInfo<std::tuple<Durability, const char*>>& info) {
  std::string name = DurabilityName(std::get<0>(info.param)) + "_" + std::get<1>(info.param);
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(
    CrashPoints, CommitCrashTest,
    ::testing::Combine(::testing::ValuesIn(kDurabilities),
                       ::testing::Values("commit-before-ltx-finish", "ltx-log-torn",
                                         "ltx-log-torn-after-seals", "commit-after-ltx",
                                         "seal-before-file", "seal-before-log-clear")),
    CommitCrashName);

// --- walship killed while a VACUUM shrinks the database. ------------------
//
// In the rollback modes SQLite truncates the database file only after it has
// finalized the journal: at the commit point the file is still long, and
// the committed size is the one in the header.

class ShrinkCrashTest : public ::testing::TestWithParam<std::tuple<JournalMode, const char*>> {};

TEST_P(ShrinkCrashTest, VacuumInterruptedAtTheCommit) {
  const auto& [mode, point] = GetParam();
  WalshipProcess walship;
  ASSERT_TRUE(walship.Start());
  const std::string path = walship.Path(kDb);
  {
    Sql sql(path);
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpDb(sql, mode));
    ASSERT_TRUE(sql.Exec("BEGIN"));
    for (int i = 0; i < 200; i++) ASSERT_TRUE(InsertRow(sql, 1, i, 1000));
    ASSERT_TRUE(sql.Exec("COMMIT"));
    ASSERT_TRUE(sql.Exec("DELETE FROM t WHERE seq >= 10"));
  }
  Pos before;
  ASSERT_TRUE(CheckConsistent(walship.mount_dir(), walship.data_dir(), kDb, &before));
  WALSHIP_ASSERT_OK_AND_ASSIGN(const LtxChain big, VerifyLtxChain(walship.data_dir(), kDb));
  ASSERT_TRUE(walship.Restart({{"WALSHIP_CRASH_AT", std::string(point) + ":1"}}));

  Child vacuum = Child::Fork([&] {
    Sql sql(path, 500);
    return sql.ok() && sql.Exec("VACUUM") ? 0 : 1;
  });
  ExpectCrashed(walship);
  auto status = vacuum.Wait(seconds(30));
  ASSERT_TRUE(status);
  EXPECT_TRUE(ExitedWith(*status, 1)) << "VACUUM " << DescribeWaitStatus(*status);

  ASSERT_TRUE(walship.Restart());
  Pos after;
  ASSERT_TRUE(CheckConsistent(walship.mount_dir(), walship.data_dir(), kDb, &after));
  WALSHIP_ASSERT_OK_AND_ASSIGN(const LtxChain chain, VerifyLtxChain(walship.data_dir(), kDb));
  const bool stands = mode == JournalMode::kWal || std::string(point) == "commit-after-ltx";
  if (stands) {
    EXPECT_EQ(after.txid, before.txid + 1);
    EXPECT_LT(chain.commit, big.commit / 4) << "the VACUUM did not stand";
  } else {
    EXPECT_EQ(after, before);
    EXPECT_EQ(chain.commit, big.commit);
  }
  Sql sql(path);
  ASSERT_TRUE(sql.ok()) << sql.error();
  EXPECT_EQ(CountRows(sql), 10);
  ExpectNextCommitFollows(walship, sql, after);
}

INSTANTIATE_TEST_SUITE_P(
    JournalModes, ShrinkCrashTest,
    ::testing::Combine(::testing::ValuesIn(kAllJournalModes),
                       ::testing::Values("commit-before-ltx-finish", "commit-after-ltx")),
    [](const ::testing::TestParamInfo<std::tuple<JournalMode, const char*>>& info) {
      std::string name =
          std::string(ModeName(std::get<0>(info.param))) + "_" + std::get<1>(info.param);
      for (char& c : name) {
        if (c == '-') c = '_';
      }
      return name;
    });

// --- walship killed during a checkpoint. ----------------------------------

TEST(CheckpointCrashTest, Kill9InTheMiddleOfAnAutomaticCheckpoint) {
  WalshipProcess walship;
  PrepareDatabase(walship, JournalMode::kWal);
  if (HasFatalFailure()) return;
  // The 6th page a checkpoint copies into the database file: inside the
  // second automatic checkpoint at the latest, with more pages to go.
  ASSERT_TRUE(walship.Restart({{"WALSHIP_CRASH_AT", "checkpoint-before-db-write:6"}}));
  WriterOutcome writer = RunWriterUntilFailure(walship, "PRAGMA wal_autocheckpoint=4", 1500);
  ExpectCrashed(walship);
  EXPECT_TRUE(ExitedWith(writer.wait_status, 1)) << DescribeWaitStatus(writer.wait_status);
  EXPECT_GE(writer.acked, 1);
  // SQLite runs the automatic checkpoint after the commit and ignores its
  // failure: the statement still returns OK, so every commit was acked.
  ExpectRecovered(walship, JournalMode::kWal, writer.acked, writer.acked);
}

TEST(CheckpointCrashTest, Kill9InTheMiddleOfAnExplicitCheckpoint) {
  WalshipProcess walship;
  PrepareDatabase(walship, JournalMode::kWal);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(walship.Restart({{"WALSHIP_CRASH_AT", "checkpoint-before-db-write:3"}}));
  const std::string path = walship.Path(kDb);
  constexpr int kRows = 30;
  // Commits with automatic checkpoints off, then one checkpoint of them all.
  Pipe done;
  Child client = Child::Fork([&] {
    done.CloseRead();
    Sql sql(path, 500);
    if (!sql.ok() || !sql.Exec("PRAGMA wal_autocheckpoint=0")) return 2;
    for (int i = 0; i < kRows; i++) {
      if (!InsertRow(sql, 1, i, 1000)) return 2;
    }
    if (!done.Send(kRows)) return 2;
    return sql.Exec("PRAGMA wal_checkpoint(TRUNCATE)") ? 0 : 1;
  });
  done.CloseWrite();
  uint64_t rows = 0;
  ASSERT_EQ(done.Receive(&rows, seconds(60)), Pipe::ReadStatus::kValue);
  ASSERT_EQ(rows, uint64_t(kRows));
  ExpectCrashed(walship);
  auto status = client.Wait(seconds(30));
  ASSERT_TRUE(status);
  EXPECT_TRUE(ExitedWith(*status, 1)) << "checkpoint " << DescribeWaitStatus(*status);
  ExpectRecovered(walship, JournalMode::kWal, kRows, kRows);
}

// --- A writer that outlives a crash of walship. ---------------------------
//
// With FUSE passthrough the kernel writes -wal and -shm straight into the
// data directory, also for a process whose mount died with walship. At its
// restart walship empties the -shm in place, so such a process dies of
// SIGBUS at its next transaction (without passthrough, its writes fail on
// the dead mount): nothing it does after the restart reaches the files.

TEST(StaleWriterTest, AWriterThatOutlivesACrashCannotWriteAfterTheRestart) {
  WalshipProcess walship;
  PrepareDatabase(walship, JournalMode::kWal);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(walship.Start());
  const std::string path = walship.Path(kDb);
  constexpr int kBefore = 5;
  Pipe ready, go;
  Child writer = Child::Fork([&] {
    ready.CloseRead();
    go.CloseWrite();
    Sql sql(path, 500);
    if (!sql.ok()) return 2;
    for (int i = 0; i < kBefore; i++) {
      if (!InsertRow(sql, 1, i)) return 2;
    }
    uint64_t v = 0;
    if (!ready.Send(kBefore) || go.Receive(&v, seconds(60)) != Pipe::ReadStatus::kValue) return 2;
    for (int i = kBefore; i < 50; i++) {  // walship was killed and restarted meanwhile
      if (!InsertRow(sql, 1, i)) return 1;
    }
    return 0;
  });
  ready.CloseWrite();
  go.CloseRead();
  uint64_t rows = 0;
  ASSERT_EQ(ready.Receive(&rows, seconds(60)), Pipe::ReadStatus::kValue);
  walship.Kill();
  ASSERT_TRUE(walship.Restart());
  ASSERT_TRUE(go.Send(1));
  auto status = writer.Wait(seconds(30));
  ASSERT_TRUE(status);
  EXPECT_TRUE(KilledBy(*status, SIGBUS) || ExitedWith(*status, 1)) << DescribeWaitStatus(*status);

  Pos pos;
  ASSERT_TRUE(CheckConsistent(walship.mount_dir(), walship.data_dir(), kDb, &pos));
  Sql sql(path);
  ASSERT_TRUE(sql.ok()) << sql.error();
  EXPECT_EQ(CountRows(sql, "writer = 1"), kBefore) << "a write after the restart got in";
  ExpectNextCommitFollows(walship, sql, pos);
}

// --- A writer process killed in the middle of a big transaction. ----------

constexpr int kKillSetupRows = 40;

class WriterKillTest : public ::testing::TestWithParam<std::tuple<JournalMode, bool>> {};

TEST_P(WriterKillTest, UncommittedTransactionLeavesNoTrace) {
  const auto& [mode, kill_walship_too] = GetParam();
  WalshipProcess walship;
  ASSERT_TRUE(walship.Start());
  const std::string path = walship.Path(kDb);
  {
    Sql sql(path);
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpDb(sql, mode));
    // Rows on many leaf pages, so the killed transaction's changes to them
    // are evicted from its cache (and written over committed pages).
    ASSERT_TRUE(sql.Exec("BEGIN"));
    for (int i = 0; i < kKillSetupRows; i++) ASSERT_TRUE(InsertRow(sql, 0, i, 1000));
    ASSERT_TRUE(sql.Exec("COMMIT"));
  }
  WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos before, ReadPos(walship.mount_dir(), kDb));
  const int64_t files = CountTxids(walship, kDb);
  WALSHIP_ASSERT_OK_AND_ASSIGN(const LtxChain chain, VerifyLtxChain(walship.data_dir(), kDb));
  const uint32_t committed_pages = chain.commit;

  // The child changes the existing rows and spills a big transaction (2-page
  // cache), then stops just before COMMIT, telling the parent through a pipe.
  Pipe ready;
  Child writer = Child::Fork([&] {
    ready.CloseRead();
    Sql sql(path, 30000);
    if (!sql.ok() || !sql.Exec("PRAGMA cache_size=2") || !sql.Exec("BEGIN") ||
        !sql.Exec("UPDATE t SET payload = randomblob(150)")) {
      return 2;
    }
    for (int i = 0; i < 300; i++) {
      if (!InsertRow(sql, 1, i, 1000)) return 2;
    }
    ready.Send(1);
    while (true) ::pause();  // until SIGKILL
  });
  ready.CloseWrite();
  uint64_t signal = 0;
  ASSERT_EQ(ready.Receive(&signal, seconds(60)), Pipe::ReadStatus::kValue);
  const std::string dir = walship.data_dir() + "/dbs/app.db/";
  if (mode == JournalMode::kWal) {
    EXPECT_GT(std::filesystem::file_size(dir + "wal"), 100u * 1024) << "nothing spilled";
  } else {
    EXPECT_TRUE(std::filesystem::exists(dir + "journal")) << "no hot journal";
    EXPECT_GT(std::filesystem::file_size(dir + "journal"), 0u);
    // Uncommitted bytes are in the committed part of the database file.
    WALSHIP_ASSERT_OK_AND_ASSIGN(const FileChecksum spilled,
                                 DatabaseFileChecksum(dir + "database", committed_pages));
    EXPECT_NE(spilled.checksum, before.checksum) << "no committed page was overwritten";
  }
  EXPECT_TRUE(KilledBy(writer.Kill(), SIGKILL));

  if (kill_walship_too) {
    // walship itself must then roll back the hot journal or cut the
    // uncommitted WAL frames at start-up.
    walship.Kill();
    ASSERT_TRUE(walship.Restart());
  }
  WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos after_kill, ReadPos(walship.mount_dir(), kDb));
  EXPECT_EQ(after_kill, before);
  Sql sql(path);
  ASSERT_TRUE(sql.ok()) << sql.error();
  EXPECT_EQ(CountRows(sql), kKillSetupRows);
  EXPECT_EQ(CountRows(sql, "length(payload) = 1000"), kKillSetupRows) << "the UPDATE survived";
  EXPECT_EQ(CountRows(sql, "writer = 1"), 0);
  Pos pos;
  ASSERT_TRUE(CheckConsistent(walship.mount_dir(), walship.data_dir(), kDb, &pos));
  EXPECT_EQ(pos, before);
  EXPECT_EQ(CountTxids(walship, kDb), files);

  ExpectNextCommitFollows(walship, sql, before);
}

INSTANTIATE_TEST_SUITE_P(JournalModes, WriterKillTest,
                         ::testing::Combine(::testing::ValuesIn(kAllJournalModes),
                                            ::testing::Bool()),
                         [](const ::testing::TestParamInfo<std::tuple<JournalMode, bool>>& info) {
                           return std::string(ModeName(std::get<0>(info.param))) +
                                  (std::get<1>(info.param) ? "_and_walship" : "_only");
                         });

// --- walship killed while writing its node id at first start. -------------

TEST(StartupCrashTest, InterruptedNodeIdWriteIsRedone) {
  WalshipOptions options;
  options.env = {{"WALSHIP_CRASH_AT", "atomic-write-before-rename"}};
  WalshipProcess walship(options);
  ASSERT_TRUE(walship.Spawn());
  ExpectCrashed(walship);
  const std::string node_id = walship.data_dir() + "/node.id";
  EXPECT_FALSE(std::filesystem::exists(node_id)) << "a half-written node.id is in place";

  ASSERT_TRUE(walship.Restart());
  const std::string id = ReadFileOrEmpty(node_id);
  EXPECT_TRUE(std::regex_match(id, std::regex("^[0-9a-f]{16}\n$"))) << "node.id: " << id;
  {
    Sql sql(walship.Path(kDb));
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpDb(sql, JournalMode::kDelete));
  }
  ASSERT_TRUE(walship.Restart());
  EXPECT_EQ(ReadFileOrEmpty(node_id), id) << "node.id changed across a restart";
  EXPECT_TRUE(CheckConsistent(walship.mount_dir(), walship.data_dir(), kDb));
  EXPECT_TRUE(walship.Stop());
}

}  // namespace
}  // namespace walship::testing
