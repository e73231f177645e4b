// Deleting a database (DESIGN.md §1.4): `rm DB` on the primary removes the
// database and its -wal, -shm, -journal and -pos on every node as one
// replicated event, reported on /events; a replica refuses it (EROFS); a
// connection left open on a replica gets an error, not another database's
// rows; a database created again under the name is a new lineage from TXID 1
// that replicates like any other, also to a replica that was away meanwhile.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "cluster/cluster_util.h"

namespace walship::testing::cluster {
namespace {

// Whether `name` is in the mount directory's listing.
bool Listed(const WalshipProcess& node, const std::string& name) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(node.mount_dir(), ec)) {
    if (e.path().filename() == name) return true;
  }
  return false;
}

// Polls until no file of database `db` is listed in `node`'s mount.
::testing::AssertionResult WaitGone(const WalshipProcess& node, const std::string& db,
                                    milliseconds timeout = seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    std::string left;
    for (const char* suffix : {"", "-wal", "-shm", "-journal", "-pos"}) {
      if (Listed(node, db + suffix)) left += " " + db + suffix;
    }
    if (left.empty() && ::access((node.mount_dir() + "/" + db).c_str(), F_OK) != 0) {
      return ::testing::AssertionSuccess();
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return ::testing::AssertionFailure() << "still listed in " << node.mount_dir() << ":" << left;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
}

class DeleteTest : public ::testing::TestWithParam<JournalMode> {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.Start()); }
  void TearDown() override { EXPECT_TRUE(cluster_.StopAll()); }

  Cluster cluster_;
};

TEST_P(DeleteTest, RmOnThePrimaryDeletesEverywhereAndANewLineageReplicates) {
  {
    Sql sql(cluster_.primary().Path(kDb));
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpDb(sql, GetParam()));
    ASSERT_TRUE(InsertRows(sql, 0, 30));
  }
  Pos old_pos;
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30), &old_pos));
  EventStream events(cluster_.Url(1));
  ASSERT_TRUE(events.Open());
  WALSHIP_ASSERT_OK_AND_ASSIGN(nlohmann::json init, events.Next());
  ASSERT_EQ(init.value("type", ""), "init") << init.dump();
  // A reader on a replica keeps its connection across the deletion.
  Sql reader(cluster_.node(1).Path(kDb));
  ASSERT_TRUE(reader.ok()) << reader.error();
  ASSERT_EQ(CountRows(reader), 30);

  // A replica refuses; nothing changes.
  const std::string on_replica = cluster_.node(2).Path(kDb);
  ASSERT_NE(::unlink(on_replica.c_str()), 0);
  EXPECT_EQ(errno, EROFS);
  ASSERT_EQ(::access(on_replica.c_str(), F_OK), 0);

  ASSERT_EQ(::unlink(cluster_.primary().Path(kDb).c_str()), 0) << std::strerror(errno);
  for (size_t i = 0; i < cluster_.size(); i++) {
    SCOPED_TRACE("node" + std::to_string(i + 1));
    EXPECT_TRUE(WaitGone(cluster_.node(i), kDb));
  }
  WALSHIP_ASSERT_OK_AND_ASSIGN(nlohmann::json e, events.Next());
  EXPECT_EQ(e.value("type", ""), "delete") << e.dump();
  EXPECT_EQ(e["data"].value("db", ""), kDb) << e.dump();
  EXPECT_EQ(e["data"].value("txid", uint64_t(0)), old_pos.txid) << e.dump();
  // The open connection gets an error, never rows of some other database.
  auto count = reader.QueryInt("SELECT count(*) FROM t");
  EXPECT_FALSE(count.ok()) << "a connection to a deleted database read " << *count << " rows";
  reader.Close();

  // The same name again: a new database from TXID 1, with other rows.
  {
    Sql sql(cluster_.primary().Path(kDb));
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpDb(sql, GetParam()));
    ASSERT_TRUE(InsertRows(sql, 100, 5));
  }
  Pos new_pos;
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30), &new_pos));
  EXPECT_LT(new_pos.txid, old_pos.txid);
  for (size_t i = 1; i < cluster_.size(); i++) {
    SCOPED_TRACE("node" + std::to_string(i + 1));
    EXPECT_TRUE(ReplicaConsistent(cluster_.node(i), kDb, new_pos));
    Sql again(cluster_.node(i).Path(kDb));
    EXPECT_EQ(CountRows(again), 5);
  }
  EXPECT_EQ(cluster_.primary().Log().find("a snapshot (replica at"), std::string::npos)
      << "a replica got the new database as a snapshot of a diverged one";
}

INSTANTIATE_TEST_SUITE_P(Modes, DeleteTest,
                         ::testing::Values(JournalMode::kWal, JournalMode::kDelete),
                         ParamName);

TEST(DeleteWhileAwayTest, AReplicaThatWasAwayDropsDeletedDatabasesAndGetsNewOnes) {
  Cluster cluster(Nodes(2));
  ASSERT_TRUE(cluster.Start());
  for (const char* db : {"kept.db", "gone.db", "again.db"}) {
    Sql sql(cluster.primary().Path(db));
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpDb(sql, JournalMode::kWal));
    ASSERT_TRUE(InsertRows(sql, 0, 10));
  }
  for (const char* db : {"kept.db", "gone.db", "again.db"}) {
    ASSERT_TRUE(WaitConverged(cluster, db, seconds(30)));
  }
  ASSERT_TRUE(cluster.node(1).Stop());
  for (const char* db : {"gone.db", "again.db"}) {
    ASSERT_EQ(::unlink(cluster.primary().Path(db).c_str()), 0) << db << ": " << std::strerror(errno);
  }
  {
    Sql sql(cluster.primary().Path("again.db"));
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpDb(sql, JournalMode::kDelete));
    ASSERT_TRUE(InsertRows(sql, 50, 3));
  }
  ASSERT_TRUE(cluster.node(1).Start());
  EXPECT_TRUE(WaitGone(cluster.node(1), "gone.db"));
  Pos again;
  ASSERT_TRUE(WaitConverged(cluster, "again.db", seconds(30), &again));
  EXPECT_TRUE(ReplicaConsistent(cluster.node(1), "again.db", again));
  Sql reader(cluster.node(1).Path("again.db"));
  EXPECT_EQ(CountRows(reader), 3);
  ASSERT_TRUE(WaitConverged(cluster, "kept.db", seconds(30)));
  // The primary remembers the deletions across a restart.
  ASSERT_TRUE(cluster.primary().Restart());
  EXPECT_FALSE(Listed(cluster.primary(), "gone.db"));
  EXPECT_TRUE(cluster.StopAll());
}

}  // namespace
}  // namespace walship::testing::cluster
