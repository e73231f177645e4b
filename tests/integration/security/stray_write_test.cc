// The mount protects committed data (issue 14): a write into the database file
// that is neither a transaction's nor a checkpoint's (`dd`, `truncate`) is
// refused with EPERM and logged, in every journal mode, and nothing changes on
// the primary or on a replica. What SQLite itself writes still passes,
// including a partial checkpoint held back by a reader's snapshot.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "cluster/cluster_util.h"

namespace walship::testing::security {
namespace {

using std::chrono::seconds;

class StrayWriteTest : public ::testing::TestWithParam<JournalMode> {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.Start()); }
  void TearDown() override { EXPECT_TRUE(cluster_.StopAll()); }

  cluster::Cluster cluster_{cluster::Nodes(2)};
};

TEST_P(StrayWriteTest, DdAndTruncateIntoTheDatabaseAreRefusedAndChangeNothing) {
  const std::string path = cluster_.primary().Path(cluster::kDb);
  Sql sql(path);
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(cluster::SetUpDb(sql, GetParam()));
  ASSERT_TRUE(cluster::InsertRows(sql, 0, 20));
  Pos before;
  ASSERT_TRUE(cluster::WaitConverged(cluster_, cluster::kDb, seconds(30), &before));

  // dd: a page of garbage over page 2, and a few bytes into the header.
  const int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  const std::vector<char> garbage(4096, 'x');
  errno = 0;
  EXPECT_EQ(::pwrite(fd, garbage.data(), garbage.size(), 4096), -1);
  EXPECT_EQ(errno, EPERM);
  errno = 0;
  EXPECT_EQ(::pwrite(fd, "oops", 4, 24), -1);
  EXPECT_EQ(errno, EPERM);
  ::close(fd);
  // truncate: shorter, longer, and to nothing through O_TRUNC.
  for (off_t size : {off_t(4096), off_t(1 << 20)}) {
    errno = 0;
    EXPECT_EQ(::truncate(path.c_str(), size), -1) << size;
    EXPECT_EQ(errno, EPERM) << size;
  }
  errno = 0;
  EXPECT_EQ(::open(path.c_str(), O_WRONLY | O_TRUNC), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_NE(cluster_.primary().Log().find("refusing a write of 4096 bytes at offset 4096"),
            std::string::npos)
      << cluster_.primary().Log();

  // Nothing changed, and SQLite goes on as before.
  WALSHIP_ASSERT_OK_AND_ASSIGN(Pos now, ReadPos(cluster_.primary().mount_dir(), cluster::kDb));
  EXPECT_EQ(now, before);
  EXPECT_EQ(cluster::CountRows(sql), 20);
  ASSERT_TRUE(cluster::InsertRows(sql, 20, 5));
  ASSERT_TRUE(sql.Exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  sql.Close();
  Pos after;
  ASSERT_TRUE(cluster::WaitConverged(cluster_, cluster::kDb, seconds(30), &after));
  EXPECT_EQ(after.txid, before.txid + 5);
  ASSERT_TRUE(CheckConsistent(cluster_.primary().mount_dir(), cluster_.primary().data_dir(),
                              cluster::kDb));
  EXPECT_TRUE(cluster::ReplicaConsistent(cluster_.node(1), cluster::kDb, after));
  EXPECT_TRUE(cluster::IntegrityOk(path));
}

INSTANTIATE_TEST_SUITE_P(JournalModes, StrayWriteTest, ::testing::ValuesIn(kAllJournalModes),
                         ParamName);

// A reader's snapshot holds a checkpoint back: it copies only the frames up to
// that snapshot (and truncates nothing), and must pass.
TEST(StrayWriteCheckpoint, ACheckpointBehindAReadersSnapshotStillPasses) {
  cluster::Cluster cluster(cluster::Nodes(1));
  ASSERT_TRUE(cluster.Start());
  const std::string path = cluster.primary().Path(cluster::kDb);
  Sql writer(path);
  ASSERT_TRUE(writer.ok()) << writer.error();
  ASSERT_TRUE(cluster::SetUpDb(writer, JournalMode::kWal));
  ASSERT_TRUE(writer.Exec("PRAGMA wal_autocheckpoint=0"));
  ASSERT_TRUE(cluster::InsertRows(writer, 0, 3));
  Sql reader(path);
  ASSERT_TRUE(reader.ok()) << reader.error();
  ASSERT_TRUE(reader.Exec("BEGIN"));
  ASSERT_EQ(cluster::CountRows(reader), 3);  // the snapshot is taken here
  // The same pages again, in newer frames than the reader's snapshot.
  for (int k = 0; k < 5; k++) {
    ASSERT_TRUE(writer.Exec("UPDATE t SET seq = seq + 1"));
  }
  // PASSIVE: copies the frames up to the reader's snapshot, older versions:
  // some frames, not all.
  int log = -1, checkpointed = -1;
  const int rc = sqlite3_wal_checkpoint_v2(writer.get(), "main", SQLITE_CHECKPOINT_PASSIVE, &log,
                                           &checkpointed);
  EXPECT_EQ(rc, SQLITE_OK) << sqlite3_errmsg(writer.get());
  EXPECT_GT(checkpointed, 0) << "of " << log << " frames";
  EXPECT_LT(checkpointed, log);
  EXPECT_EQ(cluster.primary().Log().find("refusing"), std::string::npos)
      << cluster.primary().Log();
  ASSERT_TRUE(reader.Exec("COMMIT"));
  reader.Close();
  auto full = writer.QueryInt("PRAGMA wal_checkpoint(TRUNCATE)");
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(*full, 0);
  writer.Close();
  EXPECT_EQ(cluster.primary().Log().find("refusing"), std::string::npos)
      << cluster.primary().Log();
  ASSERT_TRUE(CheckConsistent(cluster.primary().mount_dir(), cluster.primary().data_dir(),
                              cluster::kDb));
  EXPECT_TRUE(cluster::IntegrityOk(path));
  EXPECT_TRUE(cluster.StopAll());
}

}  // namespace
}  // namespace walship::testing::security
