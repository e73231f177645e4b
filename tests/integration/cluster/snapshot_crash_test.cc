// A replica killed with SIGKILL in the middle of a snapshot (docs/protocol.md)
// — while the file arrives, or while its pages go into the database — or in
// the middle of a batch of transactions, starts again, shows only positions
// the primary had, and converges with integrity.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cluster/cluster_util.h"

namespace walship::testing::cluster {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kMegabytes = 64;

int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? int64_t(st.st_size) : -1;
}

// Polls `fired` as fast as it reasonably can and SIGKILLs `node` as soon as
// it is true; false if `timeout` passed first.
template <typename Fn>
bool KillWhen(WalshipProcess& node, Fn fired, milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    if (fired()) {
      node.Kill();
      return true;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return false;
}

class SnapshotCrashTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_TRUE(cluster_.StopAll()); }

  // After a kill, node2 starts again and must converge on `pos`, showing only
  // positions the primary had on the way (never one it made up in recovery).
  void RestartAndConverge(const Pos& pos) {
    WalshipProcess& replica = cluster_.node(1);
    ASSERT_TRUE(replica.Spawn());
    PosWatcher watcher(replica.mount_dir(), kDb);
    ASSERT_TRUE(replica.WaitMounted());
    Pos converged;
    ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(180), &converged));
    EXPECT_EQ(converged, pos);
    WALSHIP_ASSERT_OK_AND_ASSIGN(auto primary_sums,
                                 LtxChecksums(cluster_.primary().data_dir(), kDb));
    for (const Pos& seen : watcher.Stop()) {
      if (seen == Pos{}) continue;  // nothing applied yet
      EXPECT_TRUE(primary_sums.count(seen.txid) && primary_sums.at(seen.txid) == seen.checksum)
          << "the replica showed " << seen << ", a position the primary never had";
    }
    EXPECT_TRUE(ReplicaConsistent(replica, kDb, pos));
    // The database still takes writes, and they reach the replica.
    Sql sql(cluster_.primary().Path(kDb));
    ASSERT_TRUE(InsertRow(sql, -1));
    Pos next;
    ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(60), &next));
    EXPECT_EQ(next.txid, pos.txid + 1);
    EXPECT_TRUE(ReplicaConsistent(replica, kDb, next));
  }

  Cluster cluster_{Nodes(2)};
};

TEST_F(SnapshotCrashTest, ReplicaKilledWhileReceivingASnapshotRecovers) {
  ASSERT_TRUE(cluster_.StartNode(0));
  Pos pos;
  ASSERT_TRUE(MakeLargeDatabase(cluster_, kDb, kMegabytes, &pos));
  WalshipProcess& replica = cluster_.node(1);
  ASSERT_TRUE(replica.Start());
  // A large file arrives in ltx/receiving-N.ltx.tmp.
  const std::string ltx_dir = replica.data_dir() + "/dbs/app.db/ltx";
  auto receiving = [&] {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(ltx_dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name.starts_with("receiving-") && FileSize(e.path().string()) >= (16 << 20)) return true;
    }
    return false;
  };
  ASSERT_TRUE(KillWhen(replica, receiving, seconds(120)))
      << "the snapshot never started arriving";
  EXPECT_FALSE(ReadPos(replica.mount_dir(), kDb).ok() &&
               ReadPos(replica.mount_dir(), kDb)->txid == pos.txid);
  RestartAndConverge(pos);
}

TEST_F(SnapshotCrashTest, ReplicaKilledWhileApplyingASnapshotRecovers) {
  ASSERT_TRUE(cluster_.StartNode(0));
  Pos pos;
  ASSERT_TRUE(MakeLargeDatabase(cluster_, kDb, kMegabytes, &pos));
  WalshipProcess& replica = cluster_.node(1);
  ASSERT_TRUE(replica.Start());
  // The fresh replica's database file is empty until the snapshot's pages go
  // into it; kill as soon as they start to.
  const std::string database = replica.data_dir() + "/dbs/app.db/database";
  ASSERT_TRUE(KillWhen(
      replica, [&] { return FileSize(database) > 0; }, seconds(120)))
      << "the snapshot was never applied";
  const int64_t at_kill = FileSize(database);
  const std::string primary_file = cluster_.primary().data_dir() + "/dbs/app.db/database";
  WALSHIP_ASSERT_OK_AND_ASSIGN(FileChecksum full, DatabaseFileChecksum(primary_file));
  const int64_t full_size = int64_t(full.page_count) * full.page_size;
  std::printf("[ info ] killed with %lld of %lld bytes of the database written\n",
              static_cast<long long>(at_kill), static_cast<long long>(full_size));
  RestartAndConverge(pos);
  if (at_kill < full_size) {
    EXPECT_NE(LogOfLastStart(replica).find("after a crash"), std::string::npos)
        << "recovery did not complete the interrupted apply";
  } else {
    std::printf("[ info ] the kill landed after every page was written\n");
  }
}


TEST(ApplyCrashTest, ReplicaKilledInTheMiddleOfABatchReplaysIt) {
  // The replica waits 150 ms before each batch, so the primary's commits pile
  // up into batches of several files; it dies with some of the first such
  // batch's pages in its database and not all (ApplyWrites writes each page
  // of a batch once, after decoding every file).
  Cluster cluster([] {
    ClusterOptions options = Nodes(2);
    options.replica_env = {{"WALSHIP_CRASH_AT", "apply-mid-batch"},
                           {"WALSHIP_TEST_APPLY_DELAY_MS", "150"}};
    return options;
  }());
  ASSERT_TRUE(cluster.Start());
  WalshipProcess& replica = cluster.node(1);
  {
    Sql sql(cluster.primary().Path(kDb));
    ASSERT_TRUE(SetUpFastDb(sql));
    for (int64_t seq = 0; seq < 200 && replica.running(); seq++) {
      ASSERT_TRUE(InsertRow(sql, seq, 2000));
      std::this_thread::sleep_for(milliseconds(2));
    }
  }
  ASSERT_TRUE(replica.WaitForExit(seconds(30))) << "the crash point was never reached";
  ASSERT_TRUE(replica.Restart());
  Pos pos;
  ASSERT_TRUE(WaitConverged(cluster, kDb, seconds(60), &pos));
  EXPECT_TRUE(ReplicaConsistent(replica, kDb, pos));
  const std::string log = LogOfLastStart(replica);
  EXPECT_NE(log.find("from the LTX files after txid"), std::string::npos)
      << "recovery did not replay the interrupted batch:\n" << log;
  EXPECT_EQ(log.find("snapshot"), std::string::npos) << "recovery fell back to a snapshot";
  EXPECT_TRUE(cluster.StopAll());
}

}  // namespace
}  // namespace walship::testing::cluster
