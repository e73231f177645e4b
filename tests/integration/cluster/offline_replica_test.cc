// A replica offline while the primary commits thousands of transactions
// catches up after its restart from the LTX files it missed (no snapshot:
// the primary still has them), each one its own file continuing the chain.
// Slow: a replica applies each LTX durably (several fsyncs), so catching up
// 2,000 transactions takes tens of seconds on a small machine.
#include <chrono>

#include "cluster/cluster_util.h"

namespace walship::testing::cluster {
namespace {

using SteadyClock = std::chrono::steady_clock;

TEST(OfflineReplicaTest, CatchesUpFromTheFilesItMissed) {
  Cluster cluster;
  ASSERT_TRUE(cluster.Start());
  Pos before;
  {
    Sql sql(cluster.primary().Path(kDb));
    ASSERT_TRUE(SetUpFastDb(sql));
    ASSERT_TRUE(InsertRows(sql, 0, 10));
    ASSERT_TRUE(WaitConverged(cluster, kDb, seconds(30), &before));

    ASSERT_TRUE(cluster.node(1).Stop());
    ASSERT_TRUE(InsertTimed(sql, 10, 2000));
  }
  const auto start = SteadyClock::now();
  ASSERT_TRUE(cluster.node(1).Start());
  Pos pos;
  ASSERT_TRUE(WaitConverged(cluster, kDb, seconds(240), &pos));
  PrintElapsed("node2 caught up 2000 transactions", start);
  EXPECT_EQ(pos.txid, before.txid + 2000);
  for (size_t i = 1; i < 3; i++) EXPECT_TRUE(ReplicaConsistent(cluster.node(i), kDb, pos));

  auto sums = LtxChecksums(cluster.node(1).data_dir(), kDb);
  ASSERT_TRUE(sums.ok()) << sums.status().ToString();
  auto primary_sums = LtxChecksums(cluster.primary().data_dir(), kDb);
  ASSERT_TRUE(primary_sums.ok()) << primary_sums.status().ToString();
  for (uint64_t txid = before.txid + 1; txid <= pos.txid; txid++) {
    ASSERT_EQ(sums->count(txid), 1u) << "node2 has no LTX file ending at txid " << txid;
    ASSERT_EQ(sums->at(txid), primary_sums->at(txid)) << "txid " << txid;
  }
  EXPECT_EQ(LogOfLastStart(cluster.node(1)).find("applying snapshot"), std::string::npos)
      << "a replica whose position the primary has got a snapshot";
  Sql reader(cluster.node(1).Path(kDb));
  EXPECT_EQ(CountRows(reader), 2010);
  reader.Close();
  EXPECT_TRUE(cluster.StopAll());
}

}  // namespace
}  // namespace walship::testing::cluster
