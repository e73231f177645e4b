// The lock-byte constants checked against the POSIX locks a real SQLite
// process holds (observed with F_GETLK from another process).
#include "sqlite/locks.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "test_util.h"

namespace walship::sqlite {
namespace {

using testing::Conn;
using testing::TempDir;

// A child process that opens `path`, runs `sql` (which leaves a transaction
// open) and keeps it open until destroyed.
class LockHolder {
 public:
  LockHolder(const std::string& path, const std::string& sql) {
    EXPECT_EQ(pipe(ready_), 0);
    EXPECT_EQ(pipe(release_), 0);
    pid_ = fork();
    if (pid_ == 0) RunChild(path, sql);
    char b = 0;
    EXPECT_EQ(read(ready_[0], &b, 1), 1);
    ok_ = b == 'k';
  }
  ~LockHolder() {
    char b = 'x';
    EXPECT_EQ(write(release_[1], &b, 1), 1);
    int status = 0;
    waitpid(pid_, &status, 0);
    for (int fd : {ready_[0], ready_[1], release_[0], release_[1]}) close(fd);
  }
  bool ok() const { return ok_; }

 private:
  [[noreturn]] void RunChild(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open(path.c_str(), &db);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    char b = rc == SQLITE_OK ? 'k' : 'e';
    (void)!write(ready_[1], &b, 1);
    (void)!read(release_[0], &b, 1);
    _exit(0);  // the kernel drops the locks
  }

  int ready_[2] = {-1, -1};
  int release_[2] = {-1, -1};
  pid_t pid_ = -1;
  bool ok_ = false;
};

// The lock another process holds that conflicts with a write lock on
// [start, start + len), as F_GETLK reports it.
struct flock Conflict(const std::string& path, uint64_t start, uint64_t len) {
  int fd = open(path.c_str(), O_RDWR);
  EXPECT_GE(fd, 0) << path;
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = off_t(start);
  fl.l_len = off_t(len);
  EXPECT_EQ(fcntl(fd, F_GETLK, &fl), 0);
  close(fd);
  return fl;
}

std::string MakeDb(const TempDir& dir, const std::string& journal_mode) {
  std::string path = dir.File("l.db");
  Conn c(path);
  c.Exec("PRAGMA journal_mode=" + journal_mode);
  c.Exec("PRAGMA wal_autocheckpoint=0");
  c.Exec("CREATE TABLE t(v); INSERT INTO t VALUES (1)");
  return path;
}

TEST(Locks, ReservedWriterHoldsReservedAndShared) {
  TempDir dir;
  std::string db = MakeDb(dir, "delete");
  LockHolder child(db, "BEGIN IMMEDIATE");
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(Conflict(db, kReservedByte, 1).l_type, F_WRLCK);
  struct flock shared = Conflict(db, kSharedFirst, kSharedSize);
  EXPECT_EQ(shared.l_type, F_RDLCK);
  EXPECT_EQ(uint64_t(shared.l_start), kSharedFirst);
  EXPECT_EQ(uint64_t(shared.l_len), kSharedSize);
  EXPECT_EQ(Conflict(db, kPendingByte, 1).l_type, F_UNLCK);
}

// EXCLUSIVE write-locks the SHARED range and keeps PENDING and RESERVED; the
// kernel merges the three adjacent write locks into one 512-byte record.
TEST(Locks, ExclusiveWriterHoldsWholeSharedRange) {
  TempDir dir;
  std::string db = MakeDb(dir, "delete");
  LockHolder child(db, "BEGIN EXCLUSIVE");
  ASSERT_TRUE(child.ok());
  struct flock lock = Conflict(db, kSharedFirst, kSharedSize);
  EXPECT_EQ(lock.l_type, F_WRLCK);
  EXPECT_EQ(uint64_t(lock.l_start), kPendingByte);
  EXPECT_EQ(uint64_t(lock.l_len), kSharedFirst + kSharedSize - kPendingByte);
  EXPECT_EQ(Conflict(db, kPendingByte, 1).l_type, F_WRLCK);
  EXPECT_EQ(Conflict(db, kReservedByte, 1).l_type, F_WRLCK);
  EXPECT_EQ(Conflict(db, kSharedFirst + kSharedSize, 1).l_type, F_UNLCK);
}

TEST(Locks, WalWriterHoldsShmWriteLockAndDms) {
  TempDir dir;
  std::string db = MakeDb(dir, "wal");
  LockHolder child(db, "BEGIN IMMEDIATE");
  ASSERT_TRUE(child.ok());
  const std::string shm = db + "-shm";
  EXPECT_EQ(Conflict(shm, kShmWriteLock, 1).l_type, F_WRLCK);
  EXPECT_EQ(Conflict(shm, kShmCheckpointLock, 1).l_type, F_UNLCK);
  EXPECT_EQ(Conflict(shm, kShmDmsLock, 1).l_type, F_RDLCK);
  EXPECT_EQ(Conflict(db, kSharedFirst, kSharedSize).l_type, F_RDLCK);
  EXPECT_EQ(Conflict(db, kReservedByte, 1).l_type, F_UNLCK);  // WAL writers do not take it
}

TEST(Locks, WalReaderHoldsOneReadLock) {
  TempDir dir;
  std::string db = MakeDb(dir, "wal");
  LockHolder child(db, "BEGIN; SELECT count(*) FROM t");
  ASSERT_TRUE(child.ok());
  const std::string shm = db + "-shm";
  int read_locks = 0;
  for (int i = 0; i < kShmReadLockCount; i++) {
    struct flock fl = Conflict(shm, ShmReadLock(i), 1);
    if (fl.l_type == F_RDLCK) read_locks++;
  }
  EXPECT_EQ(read_locks, 1);
  EXPECT_EQ(Conflict(shm, kShmWriteLock, 1).l_type, F_UNLCK);
  EXPECT_EQ(ShmLockByte(3), kShmReadLock0);
  EXPECT_EQ(ShmReadLock(4), 127u);
  EXPECT_EQ(kShmDmsLock, 128u);
}

}  // namespace
}  // namespace walship::sqlite
