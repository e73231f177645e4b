// Continuous backup across a failover (labels etcd, cluster): three nodes on
// a real etcd share one archive directory; only the primary archives. The
// primary is killed mid-load; the new primary continues the same archive with
// no gap and no TXID twice, and `walship restore` rebuilds the database at
// TXIDs from before, around and after the failover with the checksums the
// nodes had then.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "backup/backup_util.h"
#include "backup/file_target.h"
#include "backup/layout.h"
#include "cluster/cluster_util.h"
#include "harness/etcd_process.h"

namespace walship::testing::cluster {
namespace {

// Three nodes on `etcd`, all archiving to the directory `archive`.
ClusterOptions ArchivingCluster(const EtcdProcess& etcd, const std::string& archive) {
  ClusterOptions options;
  options.etcd_endpoint = etcd.endpoint();
  options.every_node_yaml = "backup:\n  type: file\n  path: \"" + archive + "\"\n  delay: 100ms\n";
  return options;
}

// Waits until node `primary` streams to `count` replicas (its /info lists
// them), so each receives every database from its first TXID on instead of
// a snapshot of wherever the primary is when it connects.
::testing::AssertionResult WaitReplicasConnected(const Cluster& cluster, size_t primary,
                                                 size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  size_t seen = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    Result<std::string> body = HttpGet(cluster.Url(primary), "/info");
    if (body.ok()) {
      const auto info = nlohmann::json::parse(*body, nullptr, false);
      if (info.is_object()) seen = info.value("replicas", nlohmann::json::array()).size();
      if (seen >= count) return ::testing::AssertionSuccess();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ::testing::AssertionFailure() << "node" << primary + 1 << " streams to " << seen
                                       << " replicas after 10 s, expected " << count;
}

TEST(ArchiveFailoverTest, NewPrimaryContinuesTheArchiveWithoutAGap) {
  TempDir scratch("walship-archive-failover");
  EtcdProcess etcd;
  ASSERT_TRUE(etcd.Start(scratch / "etcd"));
  const std::string archive = scratch / "archive";
  Cluster cluster(ArchivingCluster(etcd, archive));
  ASSERT_TRUE(cluster.Start());
  const int p = cluster.PrimaryIndex();
  ASSERT_GE(p, 0);

  std::map<uint64_t, Recorded> rec;
  ASSERT_TRUE(RunLoad(cluster.node(p).mount_dir(), kDb, 40, milliseconds(2), &rec));
  const uint64_t before_kill = rec.rbegin()->first;
  // Every transaction is on the replicas; the archive may lag behind.
  for (size_t i = 0; i < cluster.size(); i++) {
    if (int(i) == p) continue;
    ASSERT_TRUE(WaitForTxid(cluster.node(i), kDb, before_kill));
  }
  cluster.node(p).Kill();
  const int q = cluster.PrimaryIndex(seconds(10), p);
  ASSERT_GE(q, 0);
  ASSERT_TRUE(RunLoad(cluster.node(q).mount_dir(), kDb, 40, milliseconds(2), &rec, 40));
  const uint64_t last = rec.rbegin()->first;
  backup::FileTarget target(archive);
  ASSERT_TRUE(WaitArchived(&target, kDb, last, seconds(30)));

  // Level-0 objects chain: each starts right after the one before, from the
  // first snapshot on (or at TXID 1).
  auto objects = backup::ListDbObjects(&target, kDb);
  ASSERT_TRUE(objects.ok()) << objects.status().ToString();
  std::map<uint64_t, uint64_t> l0;  // min -> max
  for (const auto& o : *objects) {
    if (o.level != 0) continue;
    ASSERT_TRUE(l0.emplace(o.min_txid, o.max_txid).second) << o.Describe();
  }
  ASSERT_FALSE(l0.empty());
  uint64_t next = l0.begin()->first;
  for (const auto& [min, max] : l0) {
    EXPECT_EQ(min, next) << "gap or overlap before TXID " << min;
    next = max + 1;
  }
  EXPECT_EQ(next, last + 1);

  std::mt19937 rng(4242);
  std::uniform_int_distribution<uint64_t> pick(rec.begin()->first, last);
  const std::string out = scratch / "restored.db";
  std::vector<uint64_t> points = {before_kill, before_kill + 1, last};
  for (int i = 0; i < 5; i++) points.push_back(pick(rng));
  for (uint64_t txid : points) {
    ASSERT_TRUE(RestoreAndCheck({"--name", kDb, "--txid", std::to_string(txid), "--backup", archive},
                                out, rec[txid].pos.checksum))
        << "txid " << txid;
  }
}

TEST(ArchiveFailoverTest, ArchiveAheadOfTheNewPrimaryIsSetAsideAndArchivingGoesOn) {
  TempDir scratch("walship-archive-diverged");
  EtcdProcess etcd;
  ASSERT_TRUE(etcd.Start(scratch / "etcd"));
  const std::string archive = scratch / "archive";
  Cluster cluster(ArchivingCluster(etcd, archive));
  ASSERT_TRUE(cluster.StartNode(0));
  ASSERT_EQ(cluster.PrimaryIndex(), 0);
  ASSERT_TRUE(cluster.StartNode(1));
  ASSERT_TRUE(cluster.StartNode(2));
  // Either replica may become the new primary, and it must be able to give
  // the archive the TXIDs after the fork: a replica that connected after
  // the first writes would hold only a snapshot of where the primary was
  // then (seen once: the new primary then bridged the archive with a
  // snapshot of its own position, and TXID `fork` was not restorable).
  ASSERT_TRUE(WaitReplicasConnected(cluster, 0, 2));
  std::map<uint64_t, Recorded> shared;
  ASSERT_TRUE(RunLoad(cluster.node(0).mount_dir(), kDb, 20, milliseconds(0), &shared));
  const uint64_t fork = shared.rbegin()->first;
  ASSERT_TRUE(WaitForTxid(cluster.node(1), kDb, fork));
  ASSERT_TRUE(WaitForTxid(cluster.node(2), kDb, fork));
  // The replicas go away; the primary commits and archives on alone, then dies.
  ASSERT_TRUE(cluster.node(1).Stop());
  ASSERT_TRUE(cluster.node(2).Stop());
  std::map<uint64_t, Recorded> lost;
  ASSERT_TRUE(RunLoad(cluster.node(0).mount_dir(), kDb, 5, milliseconds(0), &lost, 20));
  backup::FileTarget target(archive);
  ASSERT_TRUE(WaitArchived(&target, kDb, lost.rbegin()->first));
  cluster.node(0).Kill();

  ASSERT_TRUE(cluster.StartNode(1));
  ASSERT_TRUE(cluster.StartNode(2));
  const int q = cluster.PrimaryIndex(seconds(15), 0);
  ASSERT_GE(q, 1);
  std::map<uint64_t, Recorded> after;
  ASSERT_TRUE(RunLoad(cluster.node(q).mount_dir(), kDb, 10, milliseconds(0), &after, 100));
  const uint64_t last = after.rbegin()->first;
  ASSERT_TRUE(WaitArchived(&target, kDb, last, seconds(30)));
  auto aside = target.List(std::string(kDb) + "/diverged/");
  ASSERT_TRUE(aside.ok());
  EXPECT_FALSE(aside->empty()) << "the former primary's archived TXIDs were not set aside";
  // The fork the archive reports is at an object boundary at or before the
  // last TXID both histories share.
  const std::string log = LogOfLastStart(cluster.node(q));
  const std::string said = "diverged from this database after TXID ";
  const size_t at = log.find(said);
  ASSERT_NE(at, std::string::npos) << log;
  const uint64_t reported = std::stoull(log.substr(at + said.size()));
  EXPECT_GT(reported, 0u);
  EXPECT_LE(reported, fork);
  const std::string out = scratch / "restored.db";
  ASSERT_TRUE(RestoreAndCheck({"--name", kDb, "--latest", "--backup", archive}, out,
                              after.rbegin()->second.pos.checksum));
  ASSERT_TRUE(RestoreAndCheck({"--name", kDb, "--txid", std::to_string(fork), "--backup", archive},
                              out, shared.rbegin()->second.pos.checksum));
}

}  // namespace
}  // namespace walship::testing::cluster
