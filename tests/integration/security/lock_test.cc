// One walship per data directory: a second `walship mount` on a data
// directory in use exits 1, naming the PID that holds DATA/lock, and
// changes nothing; once the first one exits, the directory is free again.
#include <signal.h>

#include <filesystem>

#include "cluster/cluster_util.h"

namespace walship::testing::security {
namespace {

using std::chrono::seconds;

// Config for a node with its own mount point but `data_dir` as data.dir.
std::string ConfigSharing(const WalshipProcess& node, const std::string& data_dir) {
  return "fuse:\n  dir: \"" + node.mount_dir() + "\"\ndata:\n  dir: \"" + data_dir +
         "\"\nhttp:\n  addr: \"127.0.0.1:" + std::to_string(node.http_port()) + "\"\n";
}

TEST(DataDirLock, SecondMountOnTheSameDataDirectoryExitsNamingTheHolder) {
  WalshipProcess first;
  ASSERT_TRUE(first.Start());
  Sql sql(first.Path("app.db"));
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(cluster::SetUpDb(sql, JournalMode::kWal));
  ASSERT_TRUE(cluster::InsertRows(sql, 0, 5));
  auto pos = ReadPos(first.mount_dir(), "app.db");
  ASSERT_TRUE(pos.ok());
  const std::string node_id = cluster::ReadBytes(first.data_dir() + "/node.id");
  EXPECT_EQ(cluster::ReadBytes(first.data_dir() + "/lock"), std::to_string(first.pid()) + "\n");

  // Exactly the first one's config: same data directory, mount point and port.
  WalshipProcess second;
  second.WriteConfig(cluster::ReadBytes(first.config_path()));
  ASSERT_TRUE(second.Spawn());
  auto status = second.WaitForExit(seconds(10));
  ASSERT_TRUE(status.has_value()) << second.Log();
  EXPECT_TRUE(ExitedWith(*status, 1)) << DescribeWaitStatus(*status) << "\n" << second.Log();
  EXPECT_NE(second.Log().find("pid " + std::to_string(first.pid())), std::string::npos)
      << second.Log();

  // The first one is untouched and still serves writes.
  EXPECT_TRUE(first.running());
  EXPECT_EQ(cluster::ReadBytes(first.data_dir() + "/lock"), std::to_string(first.pid()) + "\n");
  EXPECT_EQ(cluster::ReadBytes(first.data_dir() + "/node.id"), node_id);
  auto still = ReadPos(first.mount_dir(), "app.db");
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(*still, *pos);
  ASSERT_TRUE(cluster::InsertRows(sql, 5, 1));
  sql.Close();
  ASSERT_TRUE(first.Stop());

  // Free again once the holder is gone.
  second.WriteConfig(ConfigSharing(second, first.data_dir()));
  ASSERT_TRUE(second.Start());
  EXPECT_EQ(cluster::ReadBytes(first.data_dir() + "/lock"), std::to_string(second.pid()) + "\n");
  Sql reader(second.Path("app.db"));
  EXPECT_EQ(cluster::CountRows(reader), 6);
  reader.Close();
  EXPECT_TRUE(second.Stop());
}

// A holder killed with SIGKILL leaves the file but not the lock.
TEST(DataDirLock, LockOfAKilledProcessDoesNotBlockARestart) {
  WalshipProcess node;
  ASSERT_TRUE(node.Start());
  node.Kill();
  ASSERT_TRUE(std::filesystem::exists(node.data_dir() + "/lock"));
  ASSERT_TRUE(node.Start());
  EXPECT_EQ(cluster::ReadBytes(node.data_dir() + "/lock"), std::to_string(node.pid()) + "\n");
  EXPECT_TRUE(node.Stop());
}

}  // namespace
}  // namespace walship::testing::security
