// Catching up (docs/protocol.md "What the primary sends"): a replica that
// starts late gets a snapshot; one that was offline gets the LTX files it
// missed; replicas ride out a primary restart and their own; retention
// deletes old LTX files and a replica behind them gets a snapshot.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>

#include "cluster/cluster_util.h"

namespace walship::testing::cluster {
namespace {

using SteadyClock = std::chrono::steady_clock;

class CatchUpTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_TRUE(cluster_.StopAll()); }

  Cluster cluster_;
};

TEST_F(CatchUpTest, ReplicaStartedLateGetsASnapshot) {
  ASSERT_TRUE(cluster_.StartNode(0));
  {
    Sql sql(cluster_.primary().Path(kDb));
    ASSERT_TRUE(SetUpFastDb(sql));
    ASSERT_TRUE(InsertTimed(sql, 0, 5000));
  }
  WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos pos, ReadPos(cluster_.primary().mount_dir(), kDb));
  EXPECT_EQ(pos.txid, 2u + 5000u);

  const auto start = SteadyClock::now();
  ASSERT_TRUE(cluster_.StartNode(1));
  ASSERT_TRUE(cluster_.StartNode(2));
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(60)));
  PrintElapsed("two late replicas converged", start);
  for (size_t i = 1; i < 3; i++) {
    SCOPED_TRACE("node" + std::to_string(i + 1));
    EXPECT_TRUE(ReplicaConsistent(cluster_.node(i), kDb, pos));
    // One snapshot (TXIDs 1..N), not 5,000 files.
    auto files = ListLtx(cluster_.node(i).data_dir(), kDb);
    ASSERT_TRUE(files.ok()) << files.status().ToString();
    ASSERT_EQ(files->size(), 1u);
    EXPECT_EQ(files->front().min_txid, 1u);
    EXPECT_EQ(files->front().max_txid, pos.txid);
    EXPECT_NE(cluster_.node(i).Log().find("applying snapshot of app.db at txid " +
                                          std::to_string(pos.txid)),
              std::string::npos);
    Sql reader(cluster_.node(i).Path(kDb));
    EXPECT_EQ(CountRows(reader), 5000);
  }
}

TEST_F(CatchUpTest, ReplicasKeepReadingThroughAPrimaryRestart) {
  ASSERT_TRUE(cluster_.Start());
  Pos before;
  {
    Sql sql(cluster_.primary().Path(kDb));
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpDb(sql, JournalMode::kDelete));
    ASSERT_TRUE(InsertRows(sql, 0, 20));
  }
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30), &before));
  std::vector<std::unique_ptr<Sql>> readers;
  for (size_t i = 1; i < 3; i++) {
    readers.push_back(std::make_unique<Sql>(cluster_.node(i).Path(kDb)));
    ASSERT_TRUE(readers.back()->ok()) << readers.back()->error();
    EXPECT_EQ(CountRows(*readers.back()), 20);
  }

  std::vector<size_t> log_sizes;
  for (size_t i = 1; i < 3; i++) log_sizes.push_back(cluster_.node(i).Log().size());
  ASSERT_TRUE(cluster_.primary().Stop());
  // With the primary gone the lag grows, and reads still work.
  const auto deadline = SteadyClock::now() + seconds(20);
  while (SteadyClock::now() < deadline) {
    auto lag = ReadLag(cluster_.node(1).mount_dir());
    ASSERT_TRUE(lag.ok()) << lag.status().ToString();
    if (*lag >= 1500) break;
    for (auto& r : readers) ASSERT_EQ(CountRows(*r), 20);
    std::this_thread::sleep_for(milliseconds(50));
  }
  auto lag = ReadLag(cluster_.node(1).mount_dir());
  ASSERT_TRUE(lag.ok());
  EXPECT_GE(*lag, 1500) << ".lag does not grow while the primary is down";
  for (auto& r : readers) EXPECT_EQ(CountRows(*r), 20);
  for (size_t i = 1; i < 3; i++) {
    auto pos = ReadPos(cluster_.node(i).mount_dir(), kDb);
    ASSERT_TRUE(pos.ok());
    EXPECT_EQ(*pos, before);
  }

  ASSERT_TRUE(cluster_.primary().Start());
  WALSHIP_ASSERT_OK_AND_ASSIGN(Pos restarted, ReadPos(cluster_.primary().mount_dir(), kDb));
  EXPECT_EQ(restarted, before) << "the primary's position changed across its restart";
  {
    Sql sql(cluster_.primary().Path(kDb));
    ASSERT_TRUE(InsertRows(sql, 20, 10));
  }
  Pos after;
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30), &after));
  EXPECT_EQ(after.txid, before.txid + 10);
  for (size_t i = 1; i < 3; i++) {
    EXPECT_TRUE(ReplicaConsistent(cluster_.node(i), kDb, after));
    EXPECT_EQ(CountRows(*readers[i - 1]), 30) << "node" << i + 1 << "'s open connection";
    EXPECT_TRUE(WaitForLagBelow(cluster_.node(i), 5000, seconds(5)));
    // The replicas resumed from their positions: no snapshot was needed.
    EXPECT_EQ(cluster_.node(i).Log().substr(log_sizes[i - 1]).find("applying snapshot"),
              std::string::npos);
  }
}

TEST_F(CatchUpTest, ReplicaRestartsWhileThePrimaryWrites) {
  ASSERT_TRUE(cluster_.Start());
  {
    Sql sql(cluster_.primary().Path(kDb));
    ASSERT_TRUE(SetUpFastDb(sql));
  }
  ASSERT_TRUE(WaitConverged(cluster_, kDb));
  constexpr int64_t kRows = 600;
  const std::string path = cluster_.primary().Path(kDb);
  Child writer = Child::Fork([path] {
    Sql sql(path);
    if (!sql.ok() || !sql.Exec("PRAGMA synchronous=NORMAL")) return 2;
    for (int64_t seq = 0; seq < kRows; seq++) {
      if (!InsertRow(sql, seq, 50)) return 1;
      if (seq % 50 == 0) std::this_thread::sleep_for(milliseconds(50));
    }
    return 0;
  });
  // Restart node3 twice while rows arrive: once cleanly, once by kill -9.
  ASSERT_TRUE(WaitForTxid(cluster_.node(2), kDb, 100, seconds(60)));
  ASSERT_TRUE(cluster_.node(2).Restart());
  // Some rows arrive after the restart before the kill.
  auto restarted_at = ReadPos(cluster_.node(2).mount_dir(), kDb);
  ASSERT_TRUE(restarted_at.ok()) << restarted_at.status().ToString();
  ASSERT_TRUE(WaitForTxid(cluster_.node(2), kDb,
                          std::min(restarted_at->txid + 20, 2 + uint64_t(kRows)), seconds(60)));
  cluster_.node(2).Kill();
  ASSERT_TRUE(cluster_.node(2).Restart());
  auto status = writer.Wait(seconds(120));
  ASSERT_TRUE(status) << "writer did not finish";
  ASSERT_TRUE(ExitedWith(*status, 0)) << DescribeWaitStatus(*status);
  Pos pos;
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(60), &pos));
  EXPECT_EQ(pos.txid, 2 + uint64_t(kRows));
  for (size_t i = 1; i < 3; i++) EXPECT_TRUE(ReplicaConsistent(cluster_.node(i), kDb, pos));
  Sql reader(cluster_.node(2).Path(kDb));
  EXPECT_EQ(CountRows(reader), kRows);
}

TEST(RetentionTest, OldFilesGoAndLateReplicasGetASnapshot) {
  ClusterOptions options;
  options.primary_data_yaml = "  retention: 1s\n  retention-monitor-interval: 200ms\n";
  options.primary_env = {{"WALSHIP_TEST_SEAL_TXIDS", "1"}};  // a file per transaction
  Cluster cluster(options);
  ASSERT_TRUE(cluster.StartNode(0));
  ASSERT_TRUE(cluster.StartNode(1));
  Sql sql(cluster.primary().Path(kDb));
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(SetUpDb(sql, JournalMode::kDelete));
  ASSERT_TRUE(InsertRows(sql, 0, 20));
  Pos early;
  ASSERT_TRUE(WaitConverged(cluster, kDb, seconds(30), &early));
  ASSERT_TRUE(cluster.node(1).Stop());
  ASSERT_TRUE(InsertRows(sql, 20, 20));
  WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos pos, ReadPos(cluster.primary().mount_dir(), kDb));

  // Retention leaves exactly the newest file once the others are > 1 s old.
  Result<std::vector<LtxFile>> files = Status::NotFound("");
  const auto deadline = SteadyClock::now() + seconds(15);
  while (SteadyClock::now() < deadline) {
    files = ListLtx(cluster.primary().data_dir(), kDb);
    ASSERT_TRUE(files.ok()) << files.status().ToString();
    if (files->size() <= 1) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_EQ(files->size(), 1u) << "retention did not delete the old LTX files";
  EXPECT_EQ(files->front().max_txid, pos.txid) << "retention deleted the newest file";
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto sums, LtxChecksums(cluster.primary().data_dir(), kDb));
  EXPECT_EQ(sums.at(pos.txid), pos.checksum);

  // node2 is behind the retention window, node3 is new: both get a snapshot.
  ASSERT_TRUE(cluster.node(1).Start());
  ASSERT_TRUE(cluster.StartNode(2));
  Pos converged;
  ASSERT_TRUE(WaitConverged(cluster, kDb, seconds(30), &converged));
  EXPECT_EQ(converged, pos);
  for (size_t i = 1; i < 3; i++) {
    EXPECT_TRUE(ReplicaConsistent(cluster.node(i), kDb, pos)) << "node" << i + 1;
    Sql reader(cluster.node(i).Path(kDb));
    EXPECT_EQ(CountRows(reader), 40);
  }
  EXPECT_NE(cluster.primary().Log().find("sending app.db a snapshot (replica at txid " +
                                         std::to_string(early.txid)),
            std::string::npos);
  // Writes go on from the snapshot as ordinary files.
  ASSERT_TRUE(InsertRow(sql, 40));
  sql.Close();
  Pos next;
  ASSERT_TRUE(WaitConverged(cluster, kDb, seconds(30), &next));
  EXPECT_EQ(next.txid, pos.txid + 1);
  EXPECT_TRUE(cluster.StopAll());
}

}  // namespace
}  // namespace walship::testing::cluster
