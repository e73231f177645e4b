// A 200 MB database reaches a fresh replica as one snapshot (docs/protocol.md),
// streamed with progress logged; the time it took is printed. Slow.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cluster/cluster_util.h"

namespace walship::testing::cluster {
namespace {

using SteadyClock = std::chrono::steady_clock;

TEST(SnapshotTest, LargeSnapshotToAFreshReplica) {
  Cluster cluster(Nodes(2));
  ASSERT_TRUE(cluster.StartNode(0));
  Pos pos;
  ASSERT_TRUE(MakeLargeDatabase(cluster, kDb, 200, &pos));
  auto start = SteadyClock::now();
  ASSERT_TRUE(cluster.StartNode(1));
  ASSERT_TRUE(WaitForPos(cluster.node(1), kDb, pos, seconds(300)));
  auto ms = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start).count();
  std::printf("[ info ] 200 MB snapshot to a fresh replica: %lld ms (%.1f MB/s)\n",
              static_cast<long long>(ms), 200.0 * 1000.0 / double(std::max<int64_t>(ms, 1)));
  RecordProperty("snapshot_200mb_ms", std::to_string(ms));
  EXPECT_TRUE(ReplicaConsistent(cluster.node(1), kDb, pos));
  EXPECT_NE(cluster.primary().Log().find("sent 64 of"), std::string::npos)
      << "the primary logged no progress for a 200 MB snapshot";
  EXPECT_TRUE(cluster.StopAll());
}

}  // namespace
}  // namespace walship::testing::cluster
