// Every SQLite page size replicates exactly: the primary's and a replica's
// database files give, by an independent oracle (harness/oracle.h), the
// checksum both nodes report in -pos. The smallest, the usual and the largest
// page sizes take different paths through walship's CRC (the combiner for a
// page's CRC depends on the page size).
#include <filesystem>

#include "cluster/cluster_util.h"
#include "harness/oracle.h"

namespace walship::testing::cluster {
namespace {

TEST(Oracle, Crc64IsoCheckValue) {
  const std::string check = "123456789";
  EXPECT_EQ(oracle::Crc64Iso({reinterpret_cast<const uint8_t*>(check.data()), check.size()}),
            0xb90956c775a41001ULL);
}

class PageSizeTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.Start()); }
  void TearDown() override { EXPECT_TRUE(cluster_.StopAll()); }

  std::string DatabaseFile(size_t i) {
    return cluster_.node(i).data_dir() + "/dbs/" + kDb + "/database";
  }

  Cluster cluster_{Nodes(2)};
};

TEST_P(PageSizeTest, PrimaryAndReplicaMatchAnIndependentChecksum) {
  Sql sql(cluster_.primary().Path(kDb));
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(sql.Exec("PRAGMA page_size=" + std::to_string(GetParam())));
  ASSERT_TRUE(SetUpDb(sql, JournalMode::kWal));
  ASSERT_TRUE(InsertRows(sql, 0, 40, 3000));  // overflow pages at every size
  ASSERT_TRUE(sql.Exec("UPDATE t SET payload = randomblob(700) WHERE seq % 3 = 0"));
  ASSERT_TRUE(sql.Exec("DELETE FROM t WHERE seq % 5 = 0"));
  ASSERT_EQ(*sql.QueryInt("PRAGMA page_size"), GetParam());
  Pos pos;
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30), &pos));
  // The primary's file holds everything once the WAL is checkpointed.
  ASSERT_EQ(*sql.QueryInt("PRAGMA wal_checkpoint(TRUNCATE)"), 0);
  for (size_t i = 0; i < cluster_.size(); i++) {
    auto sum = oracle::DatabaseChecksum(DatabaseFile(i));
    ASSERT_TRUE(sum.ok()) << sum.status().ToString();
    EXPECT_EQ(*sum, pos.checksum) << "node" << i + 1 << " at txid " << pos.txid;
  }
}

// A transaction that shrinks the database (VACUUM) shrinks a replica's file
// too: the file is exactly `commit` pages, and the oracle agrees.
TEST_P(PageSizeTest, VacuumShrinksTheReplicaFileToTheCommittedSize) {
  Sql sql(cluster_.primary().Path(kDb));
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(sql.Exec("PRAGMA page_size=" + std::to_string(GetParam())));
  ASSERT_TRUE(SetUpDb(sql, JournalMode::kWal));
  ASSERT_TRUE(InsertRows(sql, 0, 60, 3000));
  Pos big;
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30), &big));
  const uintmax_t big_size = std::filesystem::file_size(DatabaseFile(1));
  ASSERT_TRUE(sql.Exec("DELETE FROM t WHERE seq >= 5"));
  ASSERT_TRUE(sql.Exec("VACUUM"));
  Pos small;
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30), &small));
  ASSERT_GT(small.txid, big.txid);
  const uintmax_t size = std::filesystem::file_size(DatabaseFile(1));
  EXPECT_LT(size, big_size / 2) << "the replica's file did not shrink";
  EXPECT_EQ(size % GetParam(), 0u);
  auto pages = sql.QueryInt("PRAGMA page_count");
  ASSERT_TRUE(pages.ok());
  EXPECT_EQ(size, uintmax_t(*pages) * GetParam());
  auto sum = oracle::DatabaseChecksum(DatabaseFile(1));
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  EXPECT_EQ(*sum, small.checksum);
}

INSTANTIATE_TEST_SUITE_P(PageSizes, PageSizeTest, ::testing::Values(512, 4096, 65536),
                         [](const auto& info) { return std::to_string(info.param); });

}  // namespace
}  // namespace walship::testing::cluster
