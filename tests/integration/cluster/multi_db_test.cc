// A transaction over several databases (ATTACH), in every journal mode: in
// the rollback modes SQLite writes a super-journal (`DB-mjXXXXXXXX`) next to
// the main database, which walship keeps as a plain local file (DESIGN.md
// §1.4), never a database. The transaction commits, each database replicates
// its part, and no super-journal is left behind or turns into a database.
#include <filesystem>

#include "cluster/cluster_util.h"

namespace walship::testing::cluster {
namespace {

class MultiDbTest : public ::testing::TestWithParam<JournalMode> {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.Start()); }
  void TearDown() override { EXPECT_TRUE(cluster_.StopAll()); }

  Cluster cluster_{Nodes(2)};
};

TEST_P(MultiDbTest, ATransactionOverTwoDatabasesCommitsAndEachReplicatesItsPart) {
  const char* mode = ModeName(GetParam());
  for (const char* db : {"a.db", "b.db"}) {
    Sql sql(cluster_.primary().Path(db));
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpDb(sql, GetParam()));
  }
  WALSHIP_ASSERT_OK_AND_ASSIGN(Pos a_before, ReadPos(cluster_.primary().mount_dir(), "a.db"));
  WALSHIP_ASSERT_OK_AND_ASSIGN(Pos b_before, ReadPos(cluster_.primary().mount_dir(), "b.db"));
  {
    Sql sql(cluster_.primary().Path("a.db"));
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(sql.Exec("ATTACH '" + cluster_.primary().Path("b.db") + "' AS b"));
    ASSERT_TRUE(sql.Exec(std::string("PRAGMA main.journal_mode=") + mode +
                         "; PRAGMA b.journal_mode=" + mode));
    for (int k = 0; k < 3; k++) {
      ASSERT_TRUE(sql.Exec("BEGIN; INSERT INTO main.t(seq) VALUES (" + std::to_string(k) +
                           "); INSERT INTO b.t(seq) VALUES (" + std::to_string(k) + "); COMMIT"));
    }
  }
  for (const char* db : {"a.db", "b.db"}) {
    SCOPED_TRACE(db);
    Pos pos;
    ASSERT_TRUE(WaitConverged(cluster_, db, seconds(30), &pos));
    EXPECT_EQ(pos.txid, (std::string(db) == "a.db" ? a_before : b_before).txid + 3);
    EXPECT_TRUE(ReplicaConsistent(cluster_.node(1), db, pos));
    Sql reader(cluster_.node(1).Path(db));
    EXPECT_EQ(CountRows(reader), 3);
  }
  // Nothing else became a database, and no super-journal is left.
  for (size_t i = 0; i < cluster_.size(); i++) {
    for (const auto& e : std::filesystem::directory_iterator(cluster_.node(i).mount_dir())) {
      EXPECT_EQ(e.path().filename().string().find("-mj"), std::string::npos)
          << "node" << i + 1 << " lists " << e.path();
    }
    for (const auto& e : std::filesystem::directory_iterator(cluster_.node(i).data_dir() + "/dbs")) {
      const std::string name = e.path().filename();
      EXPECT_TRUE(name == "a.db" || name == "b.db") << "node" << i + 1 << " has database " << name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(JournalModes, MultiDbTest, ::testing::ValuesIn(kAllJournalModes),
                         ParamName);

}  // namespace
}  // namespace walship::testing::cluster
