// Several processes at once through one mount: writer processes (forked, each
// with its own connection and so its own POSIX locks), the sqlite3 CLI, and
// reader processes. Every commit must still be exactly one LTX, and nothing
// may be lost or torn.
#include <chrono>
#include <vector>

#include "fuse/fuse_test_util.h"
#include "harness/temp_dir.h"

namespace walship::testing {
namespace {

using std::chrono::seconds;

constexpr int kWriters = 4;
constexpr int kRowsPerWriter = 25;
constexpr int kReaders = 2;
constexpr int kCliWriter = 99;
constexpr int kCliRows = 15;
constexpr int64_t kTotalRows = kWriters * kRowsPerWriter + kCliRows;

// A reader process: counts rows until it has seen all of them, and now and
// then checkpoints (in WAL mode checkpoints then run alongside the writers;
// in the rollback modes the PRAGMA does nothing). Exit code 0 when counts
// never went down and the final count was reached; 1 when a count went down
// or a statement failed; 3 on timeout.
int ReaderChild(const std::string& path) {
  Sql sql(path, 30000);
  if (!sql.ok()) return 1;
  int64_t last = 0;
  auto deadline = std::chrono::steady_clock::now() + seconds(90);
  for (int i = 1; std::chrono::steady_clock::now() < deadline; i++) {
    auto n = sql.QueryInt("SELECT count(*) FROM t");
    if (!n.ok() || *n < last) return 1;
    last = *n;
    if (last == kTotalRows) return 0;
    if (i % 4 == 0 && !sql.QueryInt("PRAGMA wal_checkpoint(PASSIVE)").ok()) return 1;
  }
  return 3;
}

std::string CliScript() {
  std::string script;
  for (int i = 0; i < kCliRows; i++) {
    script += "INSERT INTO t(writer, seq, payload) VALUES(" + std::to_string(kCliWriter) + ", " +
              std::to_string(i) + ", randomblob(100));\n";
  }
  return script;
}

using ConcurrencyTest = MountTest;

TEST_P(ConcurrencyTest, WriterProcessesCliAndReadersTogether) {
  {
    Sql sql(DbPath());
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpDb(sql, mode()));
  }  // closed before forking: a connection must not cross a fork
  const uint64_t base = SetUpTxids(mode());
  const std::string path = DbPath();

  std::vector<Child> readers;
  for (int r = 0; r < kReaders; r++) {
    readers.push_back(Child::Fork([&] { return ReaderChild(path); }));
  }
  std::vector<Child> writers;
  for (int w = 0; w < kWriters; w++) {
    WriterSpec spec;
    spec.writer = w;
    spec.rows = kRowsPerWriter;
    writers.push_back(Child::Fork([&path, spec] { return WriterChild(path, spec); }));
  }
  TempDir scratch("walship-cli");
  const std::string cli_output = scratch / "cli.out";
  Child cli = StartSqliteCli(path, CliScript(), scratch.path(), cli_output, 30000);

  for (int w = 0; w < kWriters; w++) {
    auto status = writers[w].Wait(seconds(120));
    ASSERT_TRUE(status) << "writer " << w << " did not finish";
    EXPECT_TRUE(ExitedWith(*status, 0)) << "writer " << w << " " << DescribeWaitStatus(*status);
  }
  auto cli_status = cli.Wait(seconds(120));
  ASSERT_TRUE(cli_status) << "sqlite3 CLI did not finish";
  EXPECT_TRUE(ExitedWith(*cli_status, 0))
      << "sqlite3 CLI " << DescribeWaitStatus(*cli_status) << ": " << ReadFileOrEmpty(cli_output);
  for (int r = 0; r < kReaders; r++) {
    auto status = readers[r].Wait(seconds(60));
    ASSERT_TRUE(status) << "reader " << r << " did not finish";
    EXPECT_TRUE(ExitedWith(*status, 0)) << "reader " << r << " " << DescribeWaitStatus(*status);
  }

  Sql sql(path);
  ASSERT_TRUE(sql.ok()) << sql.error();
  EXPECT_EQ(CountRows(sql), kTotalRows);
  for (int w = 0; w < kWriters; w++) {
    EXPECT_EQ(CountRows(sql, "writer = " + std::to_string(w) + " AND seq BETWEEN 0 AND " +
                                 std::to_string(kRowsPerWriter - 1)),
              kRowsPerWriter)
        << "writer " << w;
  }
  EXPECT_EQ(CountRows(sql, "writer = " + std::to_string(kCliWriter)), kCliRows);
  Pos pos;
  ASSERT_TRUE(Consistent(&pos));
  EXPECT_EQ(pos.txid, base + kTotalRows);
  EXPECT_EQ(CountTxids(walship_, kDb), int64_t(base + kTotalRows));
}

INSTANTIATE_TEST_SUITE_P(JournalModes, ConcurrencyTest, ::testing::ValuesIn(kAllJournalModes),
                         ParamName);

}  // namespace
}  // namespace walship::testing
