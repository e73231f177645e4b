// A full data disk (issue 14; docs/operations.md, "A full disk"): the data
// directory is a small tmpfs that the test fills. The writer gets
// SQLITE_FULL, reads go on, nothing that failed is ever recorded, and once
// space is freed the next transaction commits without a restart.
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "fuse/fuse_test_util.h"

namespace walship::testing {
namespace {

constexpr char kDb[] = "app.db";

// A tmpfs of `megabytes` mounted on `dir` for the test's lifetime (declared
// before the walship process, so it is unmounted after walship is gone).
class SmallDisk {
 public:
  ::testing::AssertionResult Mount(const std::string& dir, int megabytes) {
    std::filesystem::create_directories(dir);
    const std::string options = "size=" + std::to_string(megabytes) + "m";
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      return ::testing::AssertionFailure() << "mount tmpfs on " << dir << ": " << std::strerror(errno);
    }
    dir_ = dir;
    return ::testing::AssertionSuccess();
  }
  ~SmallDisk() {
    if (!dir_.empty()) ::umount2(dir_.c_str(), MNT_DETACH);
  }

 private:
  std::string dir_;
};

// Writes `path` until the file system is full; the bytes written.
int64_t FillUp(const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  const std::string chunk(64 * 1024, 'x');
  int64_t written = 0;
  while (out.write(chunk.data(), chunk.size()) && out.flush()) written += chunk.size();
  return written;
}

class FullDiskTest : public ::testing::TestWithParam<JournalMode> {};

TEST_P(FullDiskTest, WritesGetSqliteFullAndResumeOnceSpaceIsFreed) {
  SmallDisk disk;
  WalshipProcess walship;
  ASSERT_TRUE(disk.Mount(walship.data_dir(), 32));
  ASSERT_TRUE(walship.Start());
  Sql sql(walship.Path(kDb));
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(SetUpDb(sql, GetParam()));
  for (int i = 0; i < 20; i++) ASSERT_TRUE(InsertRow(sql, 1, i, 4000));
  // WAL mode: the next transactions write over the WAL's first frames, on
  // disk already, so SQLite's writes succeed on the full disk while walship
  // must still record them (the LTX log keeps space reserved for this).
  ASSERT_TRUE(sql.Exec("PRAGMA wal_checkpoint(RESTART)"));

  const std::string filler = walship.data_dir() + "/filler";
  ASSERT_GT(FillUp(filler), 0);
  int64_t acked = 20;
  bool full = false;
  for (int i = 0; i < 400 && !full; i++) {
    if (InsertRow(sql, 1, acked, 4000)) {
      acked++;
    } else {
      full = true;
      EXPECT_EQ(sql.last_rc() & 0xff, SQLITE_FULL) << "the writer got: " << sql.last_rc();
    }
  }
  ASSERT_TRUE(full) << "400 inserts of 4 KB fitted on a full file system";
  // Reads go on.
  EXPECT_EQ(CountRows(sql, "writer = 1"), acked);

  std::filesystem::remove(filler);
  ASSERT_TRUE(InsertRow(sql, 2, 0, 4000)) << "after space was freed, without a restart";
  Pos pos;
  ASSERT_TRUE(CheckConsistent(walship.mount_dir(), walship.data_dir(), kDb, &pos));
  EXPECT_EQ(CountRows(sql, "writer = 1"), acked);
  sql.Close();

  // What failed was never recorded: a restart finds exactly the same.
  ASSERT_TRUE(walship.Restart());
  Pos after;
  ASSERT_TRUE(CheckConsistent(walship.mount_dir(), walship.data_dir(), kDb, &after));
  EXPECT_EQ(after, pos);
  Sql again(walship.Path(kDb));
  EXPECT_EQ(CountRows(again, "writer = 1"), acked);
  EXPECT_EQ(CountRows(again, "writer = 2"), 1);
  again.Close();
  EXPECT_TRUE(walship.Stop());
}

INSTANTIATE_TEST_SUITE_P(JournalModes, FullDiskTest,
                         ::testing::Values(JournalMode::kWal, JournalMode::kDelete), ParamName);

}  // namespace
}  // namespace walship::testing
