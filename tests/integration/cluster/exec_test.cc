// The application lifecycle under `walship mount` (label cluster): `exec`
// entries run in order, every one but the last to completion first (a
// migration); the application starts only once this node is primary or has
// caught up; SIGTERM to walship reaches the application; and walship exits
// with the application's code after unmounting.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "cluster/cluster_util.h"

namespace walship::testing::cluster {
namespace {

bool Mounted(const std::string& dir) {
  std::ifstream mounts("/proc/mounts");
  for (std::string line; std::getline(mounts, line);) {
    if (line.find(" " + dir + " ") != std::string::npos) return true;
  }
  return false;
}

// Polls until `path` holds whole lines (its contents end in a newline: the
// scripts here each write one line) and returns them ("" after `timeout`).
std::string WaitForFile(const std::string& path, milliseconds timeout = seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(path)) {
      std::string text = ReadBytes(path);
      if (!text.empty() && text.back() == '\n') return text;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return "";
}

TEST(ExecTest, MigrationRunsFirstThenTheAppWhichGetsSigtermAndSetsTheExitCode) {
  TempDir dir("walship-exec");
  WalshipOptions o;
  o.parent_dir = dir.path();
  WalshipProcess node(o);
  const std::string mnt = node.mount_dir();
  const std::string migrate =
      "sqlite3 " + mnt +
      "/app.db 'CREATE TABLE t(x); INSERT INTO t VALUES(1)' && echo migrated > " + dir.path() +
      "/migrated";
  // The app sets its SIGTERM handler (exit 7), records what it saw at start
  // (whole, by a rename), then waits.
  const std::string app = "trap 'echo term > " + dir.path() + "/app-term; exit 7' TERM; sqlite3 " +
                          mnt + "/app.db 'SELECT count(*) FROM t' > " + dir.path() +
                          "/app-saw.tmp && mv " + dir.path() + "/app-saw.tmp " + dir.path() +
                          "/app-saw; while true; do sleep 0.05; done";
  node.WriteConfig("fuse:\n  dir: \"" + mnt + "\"\ndata:\n  dir: \"" + node.data_dir() +
                   "\"\nhttp:\n  addr: \"127.0.0.1:" + std::to_string(node.http_port()) +
                   "\"\nexec:\n  - cmd: \"" + migrate + "\"\n    if-candidate: true\n  - cmd: \"" +
                   app + "\"\n");
  ASSERT_TRUE(node.Start());
  EXPECT_EQ(WaitForFile(dir.path() + "/migrated"), "migrated\n");
  EXPECT_EQ(WaitForFile(dir.path() + "/app-saw"), "1\n")
      << "the app started before the migration ended";
  ::kill(node.pid(), SIGTERM);
  auto status = node.WaitForExit(seconds(15));
  ASSERT_TRUE(status.has_value()) << node.Log();
  EXPECT_TRUE(ExitedWith(*status, 7)) << DescribeWaitStatus(*status) << "\n" << node.Log();
  EXPECT_EQ(ReadBytes(dir.path() + "/app-term"), "term\n") << "SIGTERM did not reach the app";
  EXPECT_FALSE(Mounted(mnt)) << "walship exited without unmounting";
}

TEST(ExecTest, AppOnAReplicaStartsOnlyOnceCaughtUpAndItsExitEndsWalship) {
  Cluster cluster(Nodes(2));
  ASSERT_TRUE(cluster.StartNode(0));
  {
    Sql sql(cluster.primary().Path(kDb));
    ASSERT_TRUE(SetUpFastDb(sql));
    ASSERT_TRUE(InsertRows(sql, 1, 25));
  }
  WalshipProcess& replica = cluster.node(1);
  const std::string saw = cluster.dir() + "/replica-saw";
  std::string config = ReadBytes(replica.config_path());
  config += "exec: \"sqlite3 " + replica.mount_dir() + "/" + kDb + " 'SELECT count(*) FROM t' > " +
            saw + "; exit 3\"\n";
  replica.WriteConfig(config);
  ASSERT_TRUE(replica.Spawn());
  auto status = replica.WaitForExit(seconds(20));
  ASSERT_TRUE(status.has_value()) << replica.Log();
  EXPECT_TRUE(ExitedWith(*status, 3)) << DescribeWaitStatus(*status) << "\n" << replica.Log();
  EXPECT_EQ(ReadBytes(saw), "25\n") << "the app started before the replica caught up";
  EXPECT_FALSE(Mounted(replica.mount_dir()));
}

// skip-sync: true starts the application at once, even on a replica whose
// primary is not there to catch up with (without it, the app would wait).
TEST(ExecTest, SkipSyncStartsTheAppWithoutWaitingForThePrimary) {
  Cluster cluster(Nodes(2));  // node1, the primary, never starts
  WalshipProcess& replica = cluster.node(1);
  const std::string saw = cluster.dir() + "/replica-started";
  replica.WriteConfig(ReadBytes(replica.config_path()) +
                      "skip-sync: true\nexec: \"echo started > " + saw + "; exit 3\"\n");
  ASSERT_TRUE(replica.Spawn());
  auto status = replica.WaitForExit(seconds(20));
  ASSERT_TRUE(status.has_value()) << "the app never started:\n" << replica.Log();
  EXPECT_TRUE(ExitedWith(*status, 3)) << DescribeWaitStatus(*status) << "\n" << replica.Log();
  EXPECT_EQ(ReadBytes(saw), "started\n");
  EXPECT_EQ(replica.Log().find("waiting to catch up"), std::string::npos) << replica.Log();
}

}  // namespace
}  // namespace walship::testing::cluster
