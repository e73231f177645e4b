// Replication to read-only replicas (DESIGN.md §2.2): every transaction the
// primary commits reaches both replicas, readers there with long-lived
// connections see it without reopening, and all copies end byte-identical.
// Also: databases created later appear on replicas, and the /events stream,
// .lag and .primary of a replica.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cluster/cluster_util.h"
#include "http/client.h"

namespace walship::testing::cluster {
namespace {

// What `promtool check metrics` (Debian's prometheus package, installed by
// scripts/setup.sh) says of an exposition; empty when it passes.
std::string PromtoolProblems(const std::string& exposition) {
  TempDir dir;
  const std::string path = dir.path() + "/metrics.txt";
  std::ofstream(path) << exposition;
  FILE* p = ::popen(("promtool check metrics < " + path + " 2>&1").c_str(), "r");
  if (!p) return "cannot run promtool";
  std::string said;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) said.append(buf, n);
  const int rc = ::pclose(p);
  return rc == 0 ? "" : said + " (promtool exit status " + std::to_string(rc) + ")";
}

class ReplicationTest : public ::testing::TestWithParam<JournalMode> {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.Start()); }
  void TearDown() override { EXPECT_TRUE(cluster_.StopAll()); }

  Cluster cluster_;
};

TEST_P(ReplicationTest, ReplicasSeeEveryTransactionAndEndIdentical) {
  constexpr int64_t kRows = 150;
  Sql writer(cluster_.primary().Path(kDb));
  ASSERT_TRUE(writer.ok()) << writer.error();
  ASSERT_TRUE(SetUpDb(writer, GetParam()));
  Pos setup;
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30), &setup));

  // Readers open their connections before any row exists and keep them.
  std::vector<std::unique_ptr<RowCountReader>> readers;
  for (size_t i = 1; i < cluster_.size(); i++) {
    readers.push_back(
        std::make_unique<RowCountReader>(cluster_.node(i).Path(kDb), kRows, seconds(90)));
    ASSERT_TRUE(readers.back()->ok()) << "node" << i + 1 << ": " << readers.back()->open_error();
  }
  for (auto& r : readers) r->Start();
  ASSERT_TRUE(InsertRows(writer, 0, kRows));
  for (size_t i = 0; i < readers.size(); i++) {
    RowCountReader& r = *readers[i];
    r.Join();
    SCOPED_TRACE("reader on node" + std::to_string(i + 2));
    EXPECT_EQ(r.error(), "");
    ASSERT_FALSE(r.counts().empty());
    EXPECT_EQ(r.counts().front(), 0);
    EXPECT_EQ(r.counts().back(), kRows) << "the long-lived connection never saw every row";
    EXPECT_TRUE(std::is_sorted(r.counts().begin(), r.counts().end()))
        << "row counts went backwards";
  }

  Pos pos;
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30), &pos));
  EXPECT_EQ(pos.txid, setup.txid + kRows) << "one TXID per transaction";
  // Replicas in sync from the start get every transaction as its own file.
  EXPECT_EQ(cluster_.primary().Log().find("a snapshot (replica at"), std::string::npos)
      << "the primary sent a snapshot to a replica that was in sync";
  ASSERT_TRUE(CheckConsistent(cluster_.primary().mount_dir(), cluster_.primary().data_dir(), kDb));
  for (size_t i = 1; i < cluster_.size(); i++) {
    EXPECT_TRUE(ReplicaConsistent(cluster_.node(i), kDb, pos)) << "node" << i + 1;
  }

  std::string first;
  for (size_t i = 0; i < cluster_.size(); i++) {
    SCOPED_TRACE("export from node" + std::to_string(i + 1));
    const std::string file = cluster_.Scratch("export-" + std::to_string(i) + ".db");
    CliResult r = ExportDb(cluster_.Url(i), kDb, file);
    ASSERT_TRUE(r.ok()) << r.output;
    // The export of TXID N is the primary's database at N: its checksum is
    // the one -pos shows at N, on every node.
    WALSHIP_ASSERT_OK_AND_ASSIGN(FileChecksum sum, DatabaseFileChecksum(file));
    EXPECT_EQ(sum.checksum, pos.checksum) << "the export's checksum is not -pos's";
    EXPECT_TRUE(IntegrityOk(file));
    std::string bytes = ReadBytes(file);
    ASSERT_FALSE(bytes.empty());
    if (i == 0) {
      first = bytes;
      Sql copy(file);
      EXPECT_EQ(CountRows(copy), kRows);
    } else {
      EXPECT_EQ(DescribeDifference(first, bytes), "") << "export differs from the primary's";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(JournalModes, ReplicationTest, ::testing::ValuesIn(kAllJournalModes),
                         ParamName);

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.Start()); }
  void TearDown() override { EXPECT_TRUE(cluster_.StopAll()); }

  Cluster cluster_;
};

TEST_F(ClusterTest, DatabasesCreatedLaterAppearOnReplicas) {
  // The replicas first connect to a primary with no database at all: a lag
  // below "never synced" means a frame (ready or heartbeat) has arrived.
  for (size_t i = 1; i < cluster_.size(); i++) {
    ASSERT_TRUE(WaitForLagBelow(cluster_.node(i), 5000, seconds(20))) << "node" << i + 1;
  }
  const std::vector<std::string> names = {"first.db", "second.db", "third"};
  for (size_t k = 0; k < names.size(); k++) {
    Sql sql(cluster_.primary().Path(names[k]));
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpDb(sql, k == 1 ? JournalMode::kWal : JournalMode::kDelete));
    ASSERT_TRUE(InsertRows(sql, 0, int64_t(k) + 1));
  }
  for (size_t k = 0; k < names.size(); k++) {
    SCOPED_TRACE(names[k]);
    Pos pos;
    ASSERT_TRUE(WaitConverged(cluster_, names[k], seconds(30), &pos));
    for (size_t i = 1; i < cluster_.size(); i++) {
      EXPECT_TRUE(ReplicaConsistent(cluster_.node(i), names[k], pos));
      Sql reader(cluster_.node(i).Path(names[k]));
      EXPECT_EQ(CountRows(reader), int64_t(k) + 1);
    }
  }
}

TEST_F(ClusterTest, ReplicaEventsLagAndPrimaryFiles) {
  Sql sql(cluster_.primary().Path(kDb));
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(SetUpDb(sql, JournalMode::kWal));
  Pos setup;
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30), &setup));

  EventStream events(cluster_.Url(1));
  ASSERT_TRUE(events.Open());
  WALSHIP_ASSERT_OK_AND_ASSIGN(nlohmann::json init, events.Next());
  ASSERT_EQ(init.value("type", ""), "init") << init.dump();
  EXPECT_EQ(init["data"].value("isPrimary", true), false) << init.dump();
  EXPECT_EQ(init["data"].value("hostname", ""), "node1") << init.dump();

  constexpr int kTx = 20;
  ASSERT_TRUE(InsertRows(sql, 0, kTx));
  WALSHIP_ASSERT_OK_AND_ASSIGN(Pos primary_pos, ReadPos(cluster_.primary().mount_dir(), kDb));
  for (int k = 1; k <= kTx; k++) {
    WALSHIP_ASSERT_OK_AND_ASSIGN(nlohmann::json e, events.Next());
    ASSERT_EQ(e.value("type", ""), "tx") << e.dump();
    const nlohmann::json& data = e["data"];
    EXPECT_EQ(data.value("db", ""), kDb);
    ASSERT_EQ(data.value("txid", uint64_t(0)), setup.txid + k) << e.dump();
    if (k == kTx) {
      std::ostringstream want;
      want << primary_pos;
      EXPECT_EQ(data.value("checksum", ""), want.str().substr(17)) << e.dump();
    }
  }
  ASSERT_TRUE(WaitConverged(cluster_, kDb));
  EXPECT_EQ(cluster_.primary().Log().find("a snapshot (replica at"), std::string::npos)
      << "the primary sent a snapshot to a replica that was in sync";

  for (size_t i = 1; i < cluster_.size(); i++) {
    SCOPED_TRACE("node" + std::to_string(i + 1));
    const std::string mnt = cluster_.node(i).mount_dir();
    // Heartbeats every 500 ms keep the lag small while nothing commits.
    auto lag = ReadLag(mnt);
    ASSERT_TRUE(lag.ok()) << lag.status().ToString();
    EXPECT_GE(*lag, 0);
    EXPECT_LT(*lag, 5000);
    EXPECT_EQ(ReadBytes(mnt + "/.primary"), "node1\n");
    auto metrics = HttpGet(cluster_.Url(i), "/metrics");
    ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
    EXPECT_NE(metrics->find("walship_txid{db=\"app.db\"} " + std::to_string(setup.txid + kTx)),
              std::string::npos)
        << *metrics;
    EXPECT_NE(metrics->find("\nwalship_primary 0\n"), std::string::npos) << *metrics;
    // LiteFS's names for the same values (docs/litefs-compat.md).
    EXPECT_NE(metrics->find("litefs_db_txid{db=\"app.db\"} " + std::to_string(setup.txid + kTx)),
              std::string::npos)
        << *metrics;
    EXPECT_NE(metrics->find("\nlitefs_is_primary 0\n"), std::string::npos) << *metrics;
    EXPECT_EQ(PromtoolProblems(*metrics), "");
    EXPECT_EQ(metrics->find("walship_ltx_bytes_total{db=\"app.db\"} 0\n"), std::string::npos)
        << "a replica applied files but counted no bytes:\n" << *metrics;
  }
  auto primary_metrics = HttpGet(cluster_.Url(0), "/metrics");
  ASSERT_TRUE(primary_metrics.ok()) << primary_metrics.status().ToString();
  EXPECT_NE(primary_metrics->find("\nlitefs_is_primary 1\n"), std::string::npos);
  EXPECT_EQ(PromtoolProblems(*primary_metrics), "");
  auto primary_lag = ReadLag(cluster_.primary().mount_dir());
  ASSERT_TRUE(primary_lag.ok()) << primary_lag.status().ToString();
  EXPECT_EQ(*primary_lag, 0);
  EXPECT_NE(::access((cluster_.primary().mount_dir() + "/.primary").c_str(), F_OK), 0)
      << ".primary exists on the primary";
}

}  // namespace
}  // namespace walship::testing::cluster
