// The mount as applications and scripts see it (DESIGN.md §1.4): the info
// files, the directory listing, what may not be done, a stale mount after a
// crash, and a config walship must refuse.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <set>

#include "fuse/fuse_test_util.h"

namespace walship::testing {
namespace {

// errno of stat(path), 0 when it succeeds.
int StatErrno(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? 0 : errno;
}

// errno of open(path, flags), 0 when it succeeds.
int OpenErrno(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

std::set<std::string> ListDir(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

using MountFilesTest = MountTest;

TEST_P(MountFilesTest, InfoFilesListingAndRefusals) {
  Sql sql(DbPath());
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(SetUpDb(sql, mode()));
  for (int i = 0; i < 3; i++) ASSERT_TRUE(InsertRow(sql, 1, i));
  const std::string mnt = walship_.mount_dir();

  // DB-pos: "%016x/%016x\n", the newest LTX's TXID and post-apply checksum.
  const std::string pos_text = ReadFileOrEmpty(walship_.Path("app.db-pos"));
  WALSHIP_ASSERT_OK_AND_ASSIGN(Pos pos, ParsePos(pos_text));
  EXPECT_EQ(pos.txid, SetUpTxids(mode()) + 3);
  WALSHIP_ASSERT_OK_AND_ASSIGN(LtxChain chain, VerifyLtxChain(walship_.data_dir(), kDb));
  EXPECT_EQ(pos, (Pos{chain.last_txid, chain.last_checksum}));
  char want_pos[64];
  std::snprintf(want_pos, sizeof want_pos, "%016llx/%016llx\n",
                static_cast<unsigned long long>(chain.last_txid),
                static_cast<unsigned long long>(chain.last_checksum));
  EXPECT_EQ(pos_text, want_pos);

  // .lag on the primary: zero as "%+010d\n" prints it.
  EXPECT_EQ(ReadFileOrEmpty(walship_.Path(".lag")), "+000000000\n");
  // .primary is absent on the primary (litefs-js relies on ENOENT).
  EXPECT_EQ(StatErrno(walship_.Path(".primary")), ENOENT);
  EXPECT_EQ(OpenErrno(walship_.Path(".primary"), O_RDONLY), ENOENT);

  // The listing: the database, its -pos, .lag, and SQLite's own files while
  // they exist (this connection is open).
  std::set<std::string> want = {".lag", "app.db", "app.db-pos"};
  switch (mode()) {
    case JournalMode::kDelete:
      break;
    case JournalMode::kTruncate:
    case JournalMode::kPersist:
      want.insert("app.db-journal");
      break;
    case JournalMode::kWal:
      want.insert({"app.db-wal", "app.db-shm"});
      break;
  }
  EXPECT_EQ(ListDir(mnt), want);

  // Info files cannot be written or deleted.
  EXPECT_EQ(OpenErrno(walship_.Path("app.db-pos"), O_WRONLY), EACCES);
  EXPECT_EQ(OpenErrno(walship_.Path(".lag"), O_RDWR), EACCES);
  EXPECT_NE(::unlink(walship_.Path("app.db-pos").c_str()), 0);
  EXPECT_EQ(errno, EPERM);

  // Unknown names do not exist.
  for (const char* name : {"nope.db", "nope.db-pos", "nope.db-wal", "nope.db-journal"}) {
    EXPECT_EQ(StatErrno(walship_.Path(name)), ENOENT) << name;
    EXPECT_EQ(OpenErrno(walship_.Path(name), O_RDONLY), ENOENT) << name;
  }

  // Nothing above changed the database.
  EXPECT_EQ(CurrentPos(), pos);
  EXPECT_EQ(CountRows(sql), 3);

  // rm DB with this connection open: every file of the database goes at
  // once. The connection's next query fails or still sees the database it
  // had, but it does not crash the process (SIGBUS on its mapped -shm).
  ASSERT_EQ(::unlink(DbPath().c_str()), 0) << std::strerror(errno);
  EXPECT_EQ(ListDir(mnt), (std::set<std::string>{".lag"}));
  EXPECT_EQ(StatErrno(walship_.Path("app.db-pos")), ENOENT);
  auto after = sql.QueryInt("SELECT count(*) FROM t");
  EXPECT_TRUE(!after.ok() || *after == 3);
}

INSTANTIATE_TEST_SUITE_P(JournalModes, MountFilesTest, ::testing::ValuesIn(kAllJournalModes),
                         ParamName);

// -pos right after a COMMIT returns shows that commit, also when walship
// finds commits by reading the WAL back (FUSE passthrough): the proxy's
// read-your-writes cookie and strong reads take the position the same way.
TEST(PosFileTest, ShowsEachCommitAsSoonAsItReturns) {
  WalshipOptions options;
  // The tailer 50 ms late: only a capture at the read itself is in time.
  options.env = {{"WALSHIP_TEST_TAILER_DELAY_MS", "50"}};
  WalshipProcess walship(options);
  ASSERT_TRUE(walship.Start());
  Sql sql(walship.Path("app.db"));
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(SetUpDb(sql, JournalMode::kWal));
  ASSERT_TRUE(sql.Exec("PRAGMA synchronous=NORMAL"));  // no fsync per commit to capture at
  WALSHIP_ASSERT_OK_AND_ASSIGN(Pos last, ReadPos(walship.mount_dir(), "app.db"));
  for (int i = 0; i < 200; i++) {
    ASSERT_TRUE(InsertRow(sql, 1, i));
    WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos pos, ReadPos(walship.mount_dir(), "app.db"));
    ASSERT_EQ(pos.txid, last.txid + 1) << "after commit " << i;
    last = pos;
  }
  sql.Close();
  EXPECT_TRUE(walship.Stop());
}

TEST(StaleMountTest, RestartAfterKill9OnTheSameDirectory) {
  WalshipProcess walship;
  ASSERT_TRUE(walship.Start());
  const std::string path = walship.Path("app.db");
  {
    Sql sql(path);
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpDb(sql, JournalMode::kDelete));
    for (int i = 0; i < 5; i++) ASSERT_TRUE(InsertRow(sql, 1, i));
  }
  WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos before, ReadPos(walship.mount_dir(), "app.db"));

  walship.Kill();
  EXPECT_EQ(StatErrno(walship.mount_dir()), ENOTCONN) << "the mount should be stale";

  ASSERT_TRUE(walship.Restart());
  EXPECT_NE(walship.Log().find("stale mount"), std::string::npos);
  WALSHIP_ASSERT_OK_AND_ASSIGN(const Pos after, ReadPos(walship.mount_dir(), "app.db"));
  EXPECT_EQ(after, before);
  Sql sql(path);
  ASSERT_TRUE(sql.ok()) << sql.error();
  EXPECT_EQ(CountRows(sql), 5);
  ASSERT_TRUE(InsertRow(sql, 1, 5));
  Pos pos;
  ASSERT_TRUE(CheckConsistent(walship.mount_dir(), walship.data_dir(), "app.db", &pos));
  EXPECT_EQ(pos.txid, before.txid + 1);
  sql.Close();
  EXPECT_TRUE(walship.Stop());
}

TEST(UnmountTest, SigtermWithAFileHeldOpenStillStopsWalship) {
  WalshipProcess walship;
  ASSERT_TRUE(walship.Start());
  {
    Sql sql(walship.Path("app.db"));
    ASSERT_TRUE(SetUpDb(sql, JournalMode::kWal));
  }
  // Another process keeps the database open and does nothing.
  const std::string path = walship.Path("app.db");
  Pipe ready;
  Child holder = Child::Fork([&] {
    ready.CloseRead();
    const int fd = ::open(path.c_str(), O_RDONLY);
    ready.Send(fd >= 0 ? 1 : 0);
    ::pause();
    return 0;
  });
  ready.CloseWrite();
  uint64_t opened = 0;
  ASSERT_EQ(ready.Receive(&opened, std::chrono::seconds(5)), Pipe::ReadStatus::kValue);
  ASSERT_EQ(opened, 1u);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(walship.Stop(std::chrono::seconds(15))) << "walship hung on a file held open";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_NE(walship.Log().find("aborting the connection"), std::string::npos) << walship.Log();
  holder.Kill();
}

// A config walship cannot use: it must exit with status 2 (as LiteFS does;
// docs/configuration.md, exit-on-error) before mounting and say which key is
// wrong.
void ExpectRejectedConfig(WalshipProcess& walship, const std::string& key) {
  ASSERT_TRUE(walship.Spawn());
  auto status = walship.WaitForExit();
  ASSERT_TRUE(status) << "walship did not exit on a bad config";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << DescribeWaitStatus(*status);
  EXPECT_NE(walship.Log().find(key), std::string::npos)
      << "the message does not name \"" << key << "\":\n"
      << walship.Log();
  EXPECT_EQ(StatErrno(walship.Path(".lag")), ENOENT) << "mounted anyway";
}

TEST(BadConfigTest, UnknownTopLevelKeyIsNamed) {
  WalshipOptions options;
  options.extra_config = "no-such-section:\n  x: 1\n";
  WalshipProcess walship(options);
  ExpectRejectedConfig(walship, "no-such-section");
}

TEST(BadConfigTest, UnknownNestedKeyIsNamed) {
  WalshipProcess walship;
  walship.WriteConfig("fuse:\n  dir: \"" + walship.mount_dir() + "\"\n  bogus-option: true\n" +
                      "data:\n  dir: \"" + walship.data_dir() + "\"\n");
  ExpectRejectedConfig(walship, "bogus-option");
}

}  // namespace
}  // namespace walship::testing
