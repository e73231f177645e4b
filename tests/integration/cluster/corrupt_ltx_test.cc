// A corrupted LTX file on the wire (docs/protocol.md, "What the replica does
// with an LTX frame"): the primary, started with WALSHIP_TEST_CORRUPT_LTX=n,
// flips one byte of the n-th file it sends. The replica must reject it before
// applying anything, never hold a position the primary did not have, and
// converge after reconnecting. And a corrupted LTX file on disk: start-up
// verifies every retained file, sets a bad one aside, and a replica that
// needs it gets a snapshot instead.
#include <filesystem>

#include "cluster/cluster_util.h"
#include "env/env.h"

namespace walship::testing::cluster {
namespace {

// Sends file 1 (the snapshot of the database to the new replica), then files
// 2, 3, ... one per row. File `n` is the corrupted one.
void RunCorruptionScenario(int corrupt_nth, JournalMode mode) {
  ClusterOptions options;
  options.nodes = 2;
  options.primary_env = {{"WALSHIP_TEST_CORRUPT_LTX", std::to_string(corrupt_nth)}};
  Cluster cluster(options);
  ASSERT_TRUE(cluster.StartNode(0));
  Sql sql(cluster.primary().Path(kDb));
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(SetUpDb(sql, mode));
  // Rows big enough that every LTX file is well over the 200 bytes the hook
  // needs to corrupt one.
  ASSERT_TRUE(InsertRow(sql, 0, 3000));

  WalshipProcess& replica = cluster.node(1);
  ASSERT_TRUE(replica.Spawn());
  ASSERT_TRUE(replica.WaitMounted());
  PosWatcher watcher(replica.mount_dir(), kDb);
  constexpr int kRows = 8;
  for (int i = 1; i <= kRows; i++) {
    ASSERT_TRUE(InsertRow(sql, i, 3000));
    // One file at a time, so the n-th file sent is a known one.
    WALSHIP_ASSERT_OK_AND_ASSIGN(Pos p, ReadPos(cluster.primary().mount_dir(), kDb));
    ASSERT_TRUE(WaitForPos(replica, kDb, p, seconds(30)));
  }
  Pos pos;
  ASSERT_TRUE(WaitConverged(cluster, kDb, seconds(30), &pos));
  std::vector<Pos> seen = watcher.Stop();

  EXPECT_NE(replica.Log().find("rejected an LTX file for app.db"), std::string::npos)
      << "the replica did not reject the corrupted file";
  EXPECT_NE(replica.Log().find("reconnecting"), std::string::npos);
  EXPECT_TRUE(ReplicaConsistent(replica, kDb, pos));
  EXPECT_TRUE(CheckConsistent(cluster.primary().mount_dir(), cluster.primary().data_dir(), kDb));
  {
    Sql reader(replica.Path(kDb));
    EXPECT_EQ(CountRows(reader), kRows + 1);
  }

  // Every position the replica ever showed is one the primary had, in order.
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto primary_sums, LtxChecksums(cluster.primary().data_dir(), kDb));
  ASSERT_FALSE(seen.empty());
  // (A new replica shows position 0 until its first file is applied.)
  if (seen.front() == Pos{}) seen.erase(seen.begin());
  ASSERT_FALSE(seen.empty());
  for (size_t k = 0; k < seen.size(); k++) {
    ASSERT_EQ(primary_sums.count(seen[k].txid), 1u) << "position " << seen[k];
    EXPECT_EQ(primary_sums.at(seen[k].txid), seen[k].checksum)
        << "the replica showed " << seen[k] << ", a position the primary never had";
    if (k > 0) {
      EXPECT_GT(seen[k].txid, seen[k - 1].txid) << "the position went backwards";
    }
  }
  EXPECT_EQ(seen.back(), pos);
  // Nothing of the rejected file is left behind.
  auto names = env::Env::Posix()->ListDir(replica.data_dir() + "/dbs/app.db/ltx");
  ASSERT_TRUE(names.ok());
  for (const std::string& n : *names) {
    EXPECT_EQ(n.find(".tmp"), std::string::npos) << n << " left in the replica's ltx/";
  }
  // walship waits for open files to be closed before it can unmount.
  sql.Close();
  EXPECT_TRUE(cluster.StopAll());
}

TEST(CorruptLtxTest, ReplicaRejectsACorruptedFileAndConverges) {
  RunCorruptionScenario(3, JournalMode::kWal);
}

TEST(CorruptLtxTest, ReplicaRejectsACorruptedSnapshotAndConverges) {
  RunCorruptionScenario(1, JournalMode::kDelete);
}

TEST(CorruptLtxTest, AFileCorruptedOnDiskIsSetAsideAtStartAndTheReplicaGetsASnapshot) {
  ClusterOptions options = Nodes(2);
  // A file per transaction (the LTX log sealed after each), so one in the
  // middle of what the replica needs can be damaged.
  options.primary_env = {{"WALSHIP_TEST_SEAL_TXIDS", "1"}};
  Cluster cluster(options);
  ASSERT_TRUE(cluster.Start());
  WalshipProcess& primary = cluster.primary();
  WalshipProcess& replica = cluster.node(1);
  {
    Sql sql(primary.Path(kDb));
    ASSERT_TRUE(SetUpDb(sql, JournalMode::kWal));
    ASSERT_TRUE(InsertRows(sql, 0, 5));
  }
  ASSERT_TRUE(WaitConverged(cluster, kDb));
  ASSERT_TRUE(replica.Stop());
  {
    Sql sql(primary.Path(kDb));
    ASSERT_TRUE(InsertRows(sql, 5, 5));
  }
  ASSERT_TRUE(primary.Stop());
  // One byte in the middle of a file the replica still needs.
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto files, ListLtx(primary.data_dir(), kDb));
  ASSERT_GE(files.size(), 4u);
  const LtxFile& victim = files[files.size() - 3];
  {
    auto file = env::Env::Posix()->Open(victim.path, env::OpenMode::kReadWrite);
    ASSERT_TRUE(file.ok());
    WALSHIP_ASSERT_OK_AND_ASSIGN(uint64_t size, (*file)->Size());
    uint8_t byte[1];
    ASSERT_TRUE((*file)->ReadAt(size / 2, byte).ok());
    byte[0] ^= 0x5a;
    ASSERT_TRUE((*file)->WriteAt(size / 2, byte).ok());
  }
  ASSERT_TRUE(primary.Start());
  const std::string name = victim.path.substr(victim.path.rfind('/') + 1);
  EXPECT_NE(LogOfLastStart(primary).find("failed verification and was moved to"),
            std::string::npos) << LogOfLastStart(primary);
  EXPECT_TRUE(std::filesystem::exists(primary.data_dir() + "/dbs/app.db/corrupt/" + name));
  ASSERT_TRUE(replica.Start());
  Pos pos;
  ASSERT_TRUE(WaitConverged(cluster, kDb, seconds(30), &pos));
  EXPECT_TRUE(ReplicaConsistent(replica, kDb, pos));
  EXPECT_NE(primary.Log().find("a snapshot (replica at"), std::string::npos)
      << "the replica crossed the gap without a snapshot";
  Sql reader(replica.Path(kDb));
  EXPECT_EQ(CountRows(reader), 10);
  reader.Close();
  EXPECT_TRUE(cluster.StopAll());
}

}  // namespace
}  // namespace walship::testing::cluster
