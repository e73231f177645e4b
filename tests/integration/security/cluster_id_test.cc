// A replica follows only a primary of its own cluster (DATA/cluster.id): one
// pointed at the primary of another cluster — a real one, or a node that does
// not check — is refused with a clear error and its data stays as it was.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cluster/cluster_util.h"
#include "env/env.h"
#include "fake_primary.h"
#include "security_util.h"

namespace walship::testing::security {
namespace {

using cluster::Cluster;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kDb = "app.db";

std::string ReadClusterId(const WalshipProcess& node) {
  auto text = walship::env::Env::Posix()->ReadFile(node.data_dir() + "/cluster.id");
  return text.ok() ? *text : "";
}

void Replace(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
    text.replace(at, from.size(), to);
  }
}

TEST(ClusterId, AReplicaNeverFollowsThePrimaryOfAnotherCluster) {
  Cluster ours(cluster::Nodes(2));
  Pos pos;
  ASSERT_TRUE(StartWithAppDb(ours, &pos));
  WalshipProcess& replica = ours.node(1);
  ASSERT_FALSE(ReadClusterId(ours.primary()).empty());
  EXPECT_EQ(ReadClusterId(replica), ReadClusterId(ours.primary()))
      << "the replica did not take its primary's cluster id";

  // Another cluster's primary, with a database of the same name.
  Cluster theirs(cluster::Nodes(1));
  ASSERT_TRUE(theirs.Start());
  {
    Sql sql(theirs.primary().Path(kDb));
    ASSERT_TRUE(cluster::SetUpDb(sql, JournalMode::kWal));
    ASSERT_TRUE(cluster::InsertRows(sql, 100, 3));
  }
  ASSERT_NE(ReadClusterId(theirs.primary()), ReadClusterId(ours.primary()));

  // The replica's lease now names the other cluster's primary.
  ASSERT_TRUE(replica.Stop());
  auto config = walship::env::Env::Posix()->ReadFile(replica.config_path());
  ASSERT_TRUE(config.ok());
  std::string yaml = *config;
  Replace(yaml, ours.Url(0), theirs.Url(0));
  ASSERT_NE(yaml, *config) << "the replica's config does not name its primary's URL";
  replica.WriteConfig(yaml);
  ASSERT_TRUE(replica.Start());
  EXPECT_TRUE(cluster::WaitForLog(replica, "a replica follows only a primary of its own cluster"));
  EXPECT_TRUE(cluster::WaitForLog(theirs.primary(), "refused replica"));
  auto now = ReadPos(replica.mount_dir(), kDb);
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  EXPECT_EQ(*now, pos) << "the replica's database changed";
  Sql sql(replica.Path(kDb));
  EXPECT_EQ(cluster::CountRows(sql), 10);
  EXPECT_TRUE(theirs.StopAll());
  EXPECT_TRUE(ours.StopAll());
}

TEST(ClusterId, AReplicaRefusesAPrimaryThatAnswersWithAnotherClusterId) {
  FakePrimary primary({"app.db"}, "00000000000000ff");
  ASSERT_TRUE(primary.Start().ok());
  WalshipOptions options;
  options.extra_config = "lease:\n  type: static\n  hostname: fake\n  advertise-url: \"" +
                         primary.url() + "\"\n  candidate: false\n  reconnect-delay: 50ms\n";
  WalshipProcess replica(options);
  {
    // This node already belongs to a cluster.
    std::filesystem::create_directories(replica.data_dir());
    std::ofstream(replica.data_dir() + "/cluster.id") << "00000000000000aa\n";
  }
  ASSERT_TRUE(replica.Start());
  EXPECT_TRUE(cluster::WaitForLog(replica, "is the primary of cluster 00000000000000ff, not of "
                                           "this node's cluster 00000000000000aa"));
  EXPECT_TRUE(replica.running());
  EXPECT_EQ(ListDbs(replica.data_dir()), std::vector<std::string>{}) << replica.Log();
  EXPECT_EQ(ReadClusterId(replica), "00000000000000aa\n");
  EXPECT_TRUE(replica.Stop());
}

}  // namespace
}  // namespace walship::testing::security
