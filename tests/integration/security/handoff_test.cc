// The auth token on the paths that move the lease (etcd): `walship run
// --promote` asks a replica's /promote, which asks the primary's /handoff,
// which checks the replica caught up through its /info. With
// http.auth-token set every hop needs it; without the token the command is
// refused and the primary stays.
#include <filesystem>

#include "cluster/cluster_util.h"
#include "harness/etcd_process.h"

namespace walship::testing::security {
namespace {

using cluster::Cluster;
using cluster::ClusterOptions;
using cluster::kDb;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kToken = "handoff-token-7d1c0a9e5b3f48e2a6c4";

// The index of the one running node without MNT/.primary (the primary)
// while the others have it, or -1 after `timeout`. (Reads the mount, not
// /info, which needs the token.)
int PrimaryByMount(Cluster& cluster, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int primary = -1, primaries = 0;
    for (size_t i = 0; i < cluster.size(); i++) {
      if (!std::filesystem::exists(cluster.node(i).Path(".primary"))) {
        primary = int(i);
        primaries++;
      }
    }
    if (primaries == 1) return primary;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return -1;
}

TEST(AuthHandoff, PromoteNeedsTheTokenAndWorksWithIt) {
  TempDir etcd_dir("walship-etcd");
  EtcdProcess etcd;
  ASSERT_TRUE(etcd.Start(etcd_dir.path()));
  ClusterOptions options = cluster::Nodes(2);
  options.etcd_endpoint = etcd.endpoint();
  options.http_yaml = [](size_t) { return "  auth-token: " + kToken + "\n"; };
  Cluster cluster(options);
  ASSERT_TRUE(cluster.Start());
  const int p = PrimaryByMount(cluster, seconds(15));
  ASSERT_GE(p, 0) << "no single primary was elected";
  const int r = 1 - p;
  {
    Sql sql(cluster.node(p).Path(kDb));
    ASSERT_TRUE(cluster::SetUpFastDb(sql));
    ASSERT_TRUE(cluster::InsertRows(sql, 1, 10));
  }
  ASSERT_TRUE(cluster::WaitConverged(cluster, kDb, seconds(30)));

  CliResult refused = cluster::RunWalship({"run", "--promote", "--url", cluster.Url(r), "--", "true"});
  EXPECT_FALSE(refused.ok()) << refused.output;
  EXPECT_EQ(PrimaryByMount(cluster, seconds(1)), p);

  CliResult promoted = RunWalshipCli({"run", "--promote", "--url", cluster.Url(r), "--", "true"},
                                     {{"WALSHIP_AUTH_TOKEN", kToken}});
  ASSERT_TRUE(promoted.ok()) << promoted.output;
  EXPECT_EQ(PrimaryByMount(cluster, seconds(5)), r);
  {
    Sql sql(cluster.node(r).Path(kDb));
    ASSERT_TRUE(cluster::InsertRows(sql, 100, 5)) << "writes on the new primary";
  }
  ASSERT_TRUE(cluster::WaitForTxid(cluster.node(p), kDb, 1, seconds(5)));
  auto now = ReadPos(cluster.node(r).mount_dir(), kDb);
  ASSERT_TRUE(now.ok());
  EXPECT_TRUE(cluster::WaitForPos(cluster.node(p), kDb, *now, seconds(30)));
  for (size_t i = 0; i < cluster.size(); i++) {
    EXPECT_EQ(cluster.node(i).Log().find(kToken), std::string::npos) << "node" << i + 1;
  }
  EXPECT_TRUE(cluster.StopAll());
}

}  // namespace
}  // namespace walship::testing::security
