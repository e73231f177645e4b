// Replicas are read-only (DESIGN.md §1.4): a write there fails the way SQLite
// reports a read-only database, through the C library and the sqlite3 CLI,
// and leaves the replica exactly as it was; a new file cannot be created in a
// replica's mount at all.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cluster/cluster_util.h"
#include "env/env.h"

namespace walship::testing::cluster {
namespace {

// What a replica holds of kDb, to prove a failed write changed nothing.
struct ReplicaState {
  Result<Pos> pos = Status::NotFound("");
  std::string database;  // DATA/dbs/DB/database
  std::vector<LtxFile> ltx;
  std::vector<std::string> mount_names;
};

ReplicaState Capture(const WalshipProcess& node) {
  ReplicaState s;
  s.pos = ReadPos(node.mount_dir(), kDb);
  s.database = ReadBytes(node.data_dir() + "/dbs/" + kDb + "/database");
  auto ltx = ListLtx(node.data_dir(), kDb);
  if (ltx.ok()) s.ltx = *ltx;
  auto names = env::Env::Posix()->ListDir(node.mount_dir());
  if (names.ok()) s.mount_names = *names;
  std::sort(s.mount_names.begin(), s.mount_names.end());
  return s;
}

void ExpectUnchanged(const ReplicaState& before, const ReplicaState& after) {
  ASSERT_TRUE(before.pos.ok() && after.pos.ok());
  EXPECT_EQ(*after.pos, *before.pos);
  EXPECT_TRUE(after.database == before.database) << "the replica's database file changed";
  ASSERT_EQ(after.ltx.size(), before.ltx.size());
  for (size_t i = 0; i < after.ltx.size(); i++) EXPECT_EQ(after.ltx[i].path, before.ltx[i].path);
  EXPECT_EQ(after.mount_names, before.mount_names);
}

class ReadOnlyTest : public ::testing::TestWithParam<JournalMode> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.Start());
    Sql sql(cluster_.primary().Path(kDb));
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpDb(sql, GetParam()));
    ASSERT_TRUE(InsertRows(sql, 0, 5));
    ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30), &pos_));
  }
  void TearDown() override { EXPECT_TRUE(cluster_.StopAll()); }

  Cluster cluster_{Nodes(2)};
  Pos pos_;
};

TEST_P(ReadOnlyTest, WritesOnAReplicaFailAndChangeNothing) {
  WalshipProcess& replica = cluster_.node(1);
  const ReplicaState before = Capture(replica);

  {
    Sql sql(replica.Path(kDb));
    ASSERT_TRUE(sql.ok()) << sql.error();
    EXPECT_EQ(CountRows(sql), 5);
    for (const char* stmt : {"INSERT INTO t(seq) VALUES(100)", "DELETE FROM t", "CREATE TABLE u(x)",
                             "PRAGMA user_version=7"}) {
      SCOPED_TRACE(stmt);
      auto r = sql.Exec(stmt);
      ASSERT_FALSE(r) << "a write succeeded on a replica";
      EXPECT_EQ(sql.last_rc() & 0xff, SQLITE_READONLY) << r.message();
      EXPECT_NE(std::string(r.message()).find("attempt to write a readonly database"),
                std::string::npos)
          << r.message();
    }
    EXPECT_EQ(CountRows(sql), 5);
  }
  CliResult cli = RunSqliteCli(replica.Path(kDb), "INSERT INTO t(seq) VALUES(200);\n");
  EXPECT_FALSE(cli.ok()) << "the sqlite3 CLI wrote to a replica: " << cli.output;
  EXPECT_NE(cli.output.find("attempt to write a readonly database"), std::string::npos)
      << cli.output;
  // The CLI still reads.
  cli = RunSqliteCli(replica.Path(kDb), "SELECT count(*) FROM t;\n");
  EXPECT_TRUE(cli.ok()) << cli.output;
  EXPECT_EQ(cli.output, "5\n");

  ExpectUnchanged(before, Capture(replica));
  EXPECT_NE(replica.Log().find("read-only"), std::string::npos)
      << "walship did not log why the write failed";

  // The replica still follows the primary after the refused writes.
  Sql primary(cluster_.primary().Path(kDb));
  ASSERT_TRUE(InsertRow(primary, 6));
  Pos after;
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30), &after));
  EXPECT_EQ(after.txid, pos_.txid + 1);
  EXPECT_TRUE(ReplicaConsistent(replica, kDb, after));
}

TEST_P(ReadOnlyTest, NewFilesCannotBeCreatedOnAReplica) {
  WalshipProcess& replica = cluster_.node(1);
  const ReplicaState before = Capture(replica);

  const std::string path = replica.Path("new.db");
  errno = 0;
  int fd = ::open(path.c_str(), O_CREAT | O_RDWR, 0644);
  int err = errno;
  if (fd >= 0) ::close(fd);
  EXPECT_LT(fd, 0) << "created " << path;
  EXPECT_EQ(err, EROFS) << std::strerror(err);

  {
    Sql sql(path);
    EXPECT_FALSE(sql.ok() && sql.Exec("CREATE TABLE t(x)")) << "SQLite created " << path;
  }
  // Nor can SQLite's own files of an existing database appear there.
  errno = 0;
  fd = ::open(replica.Path(std::string(kDb) + "-journal").c_str(), O_CREAT | O_RDWR, 0644);
  err = errno;
  if (fd >= 0) ::close(fd);
  EXPECT_LT(fd, 0) << "created a journal on a replica";
  EXPECT_EQ(err, EROFS) << std::strerror(err);

  ExpectUnchanged(before, Capture(replica));
  EXPECT_EQ(::access(path.c_str(), F_OK), -1);
}

// A replica's readers share its -wal and -shm (WAL mode): `rm` of either is
// refused there, as for the database; in the other modes there are none.
TEST_P(ReadOnlyTest, SqliteFilesCannotBeRemovedOnAReplica) {
  WalshipProcess& replica = cluster_.node(1);
  {
    Sql reader(replica.Path(kDb));
    ASSERT_EQ(CountRows(reader), 5);  // a WAL-mode reader has set up the -shm
  }
  const ReplicaState before = Capture(replica);
  const bool wal = GetParam() == JournalMode::kWal;
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string path = replica.Path(std::string(kDb) + suffix);
    EXPECT_EQ(::access(path.c_str(), F_OK) == 0, wal) << path;
    errno = 0;
    EXPECT_EQ(::unlink(path.c_str()), -1) << "removed " << path;
    EXPECT_EQ(errno, wal ? EROFS : ENOENT) << path << ": " << std::strerror(errno);
  }
  ExpectUnchanged(before, Capture(replica));
}

INSTANTIATE_TEST_SUITE_P(JournalModes, ReadOnlyTest, ::testing::ValuesIn(kAllJournalModes),
                         ParamName);

}  // namespace
}  // namespace walship::testing::cluster
