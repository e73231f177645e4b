// The mount protects committed data (issue 14): removing a -wal that holds
// committed frames not yet checkpointed is refused with EPERM, and nothing is
// lost on the primary or on a replica; the removal SQLite itself makes, after
// its checkpoint, still works.
#include <unistd.h>

#include <cerrno>

#include "cluster/cluster_util.h"

namespace walship::testing::security {
namespace {

using std::chrono::seconds;

TEST(CommittedWal, RemovingAWalWithCommittedFramesIsRefusedAndLosesNothing) {
  cluster::Cluster cluster(cluster::Nodes(2));
  ASSERT_TRUE(cluster.Start());
  const std::string path = cluster.primary().Path(cluster::kDb);
  {
    Sql sql(path);
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(cluster::SetUpDb(sql, JournalMode::kWal));
    ASSERT_TRUE(sql.Exec("PRAGMA wal_autocheckpoint=0"));
    ASSERT_TRUE(cluster::InsertRows(sql, 0, 20));
    Pos before;
    ASSERT_TRUE(cluster::WaitConverged(cluster, cluster::kDb, seconds(30), &before));

    // The connection is open and the rows are only in the WAL.
    errno = 0;
    EXPECT_EQ(::unlink((path + "-wal").c_str()), -1);
    EXPECT_EQ(errno, EPERM);
    EXPECT_NE(cluster.primary().Log().find("refusing to remove its WAL"), std::string::npos)
        << cluster.primary().Log();
    EXPECT_EQ(cluster::CountRows(sql), 20);
    ASSERT_TRUE(cluster::InsertRows(sql, 20, 5));
    Pos after;
    ASSERT_TRUE(cluster::WaitConverged(cluster, cluster::kDb, seconds(30), &after));
    EXPECT_EQ(after.txid, before.txid + 5);
  }
  // The last connection closed: SQLite checkpointed and removed the WAL itself.
  EXPECT_NE(::access((path + "-wal").c_str(), F_OK), 0) << "SQLite's own removal was refused";
  Pos pos;
  ASSERT_TRUE(cluster::WaitConverged(cluster, cluster::kDb, seconds(30), &pos));
  ASSERT_TRUE(CheckConsistent(cluster.primary().mount_dir(), cluster.primary().data_dir(),
                              cluster::kDb));
  EXPECT_TRUE(cluster::ReplicaConsistent(cluster.node(1), cluster::kDb, pos));
  Sql reader(cluster.node(1).Path(cluster::kDb));
  EXPECT_EQ(cluster::CountRows(reader), 25);
  EXPECT_TRUE(cluster.StopAll());
}

// A VACUUM that shrinks the database leaves frames of pages past its new end
// in the WAL: SQLite's own removal of the WAL at close must still pass
// (SQLite's walbak.test does this).
TEST(CommittedWal, TheWalOfADatabaseThatShrankIsRemovedAtClose) {
  cluster::Cluster cluster(cluster::Nodes(1));
  ASSERT_TRUE(cluster.Start());
  const std::string path = cluster.primary().Path(cluster::kDb);
  {
    Sql sql(path);
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(cluster::SetUpDb(sql, JournalMode::kWal));
    ASSERT_TRUE(sql.Exec("PRAGMA wal_autocheckpoint=0"));
    ASSERT_TRUE(cluster::InsertRows(sql, 0, 40, 2000));
    ASSERT_TRUE(sql.Exec("PRAGMA wal_checkpoint"));
    ASSERT_TRUE(sql.Exec("DELETE FROM t; VACUUM"));
    ASSERT_TRUE(sql.Exec("PRAGMA wal_checkpoint"));
  }
  EXPECT_NE(::access((path + "-wal").c_str(), F_OK), 0) << "SQLite's own removal was refused";
  EXPECT_EQ(cluster.primary().Log().find("refusing"), std::string::npos)
      << cluster.primary().Log();
  EXPECT_TRUE(CheckConsistent(cluster.primary().mount_dir(), cluster.primary().data_dir(),
                              cluster::kDb));
  EXPECT_TRUE(cluster.StopAll());
}

}  // namespace
}  // namespace walship::testing::security
