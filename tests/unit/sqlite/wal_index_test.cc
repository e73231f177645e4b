// The wal-index (-shm) header codec against -shm files of live SQLite
// connections.
#include "sqlite/wal_index.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "sqlite/locks.h"
#include "sqlite/wal.h"
#include "wal_fixture.h"

namespace walship::sqlite {
namespace {

using testing::Bytes;
using testing::Conn;
using testing::OpenFile;
using testing::ReadBytes;
using testing::TempDir;
using testing::WalDb;
using testing::WriteBytes;

WalScan Scan(const std::string& wal_path) {
  auto scan = ScanWal(OpenFile(wal_path).get());
  EXPECT_TRUE(scan.ok()) << scan.status().ToString();
  return scan.ok() ? std::move(scan).value() : WalScan{};
}

TEST(WalIndex, LayoutConstantsAgree) {
  EXPECT_EQ(kWalIndexHdrCopy2Offset, kWalIndexHdrSize);
  EXPECT_EQ(kWalCkptInfoOffset, 2 * kWalIndexHdrSize);
  EXPECT_EQ(kWalCkptInfoOffset + kWalCkptInfoSize, kWalIndexHeaderSize);
  EXPECT_EQ(kWalIndexLockOffset, kShmLockBase);
  EXPECT_EQ(kCkptReadMarkOffset + 4 * kWalReadMarks, kWalIndexLockOffset);
  EXPECT_EQ(kWalIndexLockOffset + kShmNLock, kCkptBackfillAttemptedOffset);
}

TEST(WalIndex, SqliteHeaderDescribesTheWal) {
  TempDir dir;
  WalDb w(dir, 65536);
  w.InsertAndUpdate(30, 2000);
  w.InsertAndUpdate(5, 100);
  Bytes shm = ReadBytes(w.shm_path);
  ASSERT_GE(shm.size(), kWalIndexHeaderSize);
  WalScan scan = Scan(w.wal_path);

  auto h1 = ParseWalIndexHeader(std::span<const uint8_t>(shm).subspan(kWalIndexHdrCopy1Offset));
  auto h2 = ParseWalIndexHeader(std::span<const uint8_t>(shm).subspan(kWalIndexHdrCopy2Offset));
  ASSERT_TRUE(h1.ok()) << h1.status().ToString();
  ASSERT_TRUE(h2.ok()) << h2.status().ToString();
  EXPECT_TRUE(std::equal(shm.begin(), shm.begin() + 48, shm.begin() + 48));
  EXPECT_EQ(h1->version, kWalIndexVersion);
  EXPECT_EQ(h1->is_init, 1);
  EXPECT_EQ(h1->big_endian_checksum, scan.header.big_endian_checksum() ? 1 : 0);
  EXPECT_EQ(h1->page_size, 65536u);
  EXPECT_EQ(h1->max_frame, scan.frames.size());
  EXPECT_EQ(h1->db_pages, scan.db_pages);
  EXPECT_EQ(h1->frame_checksum, scan.checksum);
  EXPECT_EQ(h1->salt1, scan.header.salt1);
  EXPECT_EQ(h1->salt2, scan.header.salt2);
}

TEST(WalIndex, EncodeReproducesSqliteBytes) {
  TempDir dir;
  WalDb w(dir, 4096);
  w.InsertAndUpdate(20, 700);
  Bytes shm = ReadBytes(w.shm_path);
  auto h = ParseWalIndexHeader(shm);
  ASSERT_TRUE(h.ok());
  uint8_t again[kWalIndexHdrSize];
  EncodeWalIndexHeader(*h, again);
  EXPECT_TRUE(std::equal(again, again + kWalIndexHdrSize, shm.begin()));
}

TEST(WalIndex, CheckpointInfoAfterCheckpoint) {
  TempDir dir;
  WalDb w(dir, 4096);
  w.InsertAndUpdate(20, 700);
  EXPECT_EQ(w.conn.QueryInt("PRAGMA wal_checkpoint(PASSIVE)"), 0);
  Bytes shm = ReadBytes(w.shm_path);
  auto h = ParseWalIndexHeader(shm);
  ASSERT_TRUE(h.ok());
  WalCkptInfo info = ParseWalCkptInfo(shm);
  EXPECT_EQ(info.backfill, h->max_frame);
  EXPECT_EQ(info.backfill_attempted, h->max_frame);
  EXPECT_EQ(info.read_marks[0], 0u);

  Bytes again = shm;
  std::fill(again.begin() + kWalCkptInfoOffset, again.begin() + kWalIndexLockOffset, 0xAA);
  EncodeWalCkptInfo(info, again);
  EXPECT_TRUE(std::equal(again.begin(), again.begin() + kWalIndexHeaderSize - 4, shm.begin()));
}

TEST(WalIndex, RejectsBadChecksumAndUninitialized) {
  TempDir dir;
  WalDb w(dir, 4096);
  w.InsertAndUpdate(3, 100);
  Bytes shm = ReadBytes(w.shm_path);
  Bytes bad = shm;
  bad[kWihMaxFrameOffset] ^= 1;
  auto h = ParseWalIndexHeader(bad);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("checksum"), std::string::npos);
  bad = shm;
  bad[kWihIsInitOffset] = 0;
  h = ParseWalIndexHeader(bad);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("initialized"), std::string::npos);
  EXPECT_FALSE(ParseWalIndexHeader(std::span<const uint8_t>(shm).first(47)).ok());
}

// What a replica does: rewrite the -shm header under live connections. A new
// connection must trust our header (valid checksum) and read the snapshot it
// names: here an older commit, so the row count proves which header it used
// (with a bad checksum SQLite would rebuild the header from the WAL and see
// every row).
TEST(WalIndex, SqliteReadersTrustEncodedHeader) {
  TempDir dir;
  WalDb w(dir, 4096);
  w.InsertAndUpdate(10, 300);  // commit 1 (after CREATE TABLE at 0)
  w.InsertAndUpdate(10, 300);  // commit 2
  WalScan scan = Scan(w.wal_path);
  Bytes shm = ReadBytes(w.shm_path);
  auto h = ParseWalIndexHeader(shm);
  ASSERT_TRUE(h.ok());

  // Find the commit frame of the first insert.
  const int target = w.commits[1];
  const WalFrameRef& commit = scan.frames[size_t(target - 1)];
  ASSERT_NE(commit.commit, 0u);
  Bytes wal = ReadBytes(w.wal_path);
  WalFrameHeader fh = ParseWalFrameHeader(std::span<const uint8_t>(&wal[commit.offset], 24));

  WalIndexHeader older = *h;
  older.change += 1;
  older.max_frame = uint32_t(target);
  older.db_pages = commit.commit;
  older.frame_checksum = {fh.checksum1, fh.checksum2};
  uint8_t raw[kWalIndexHdrSize];
  EncodeWalIndexHeader(older, raw);
  auto shm_file = env::Env::Posix()->Open(w.shm_path, env::OpenMode::kReadWrite);
  ASSERT_TRUE(shm_file.ok());
  ASSERT_TRUE((*shm_file)->WriteAt(kWalIndexHdrCopy2Offset, raw).ok());
  ASSERT_TRUE((*shm_file)->WriteAt(kWalIndexHdrCopy1Offset, raw).ok());

  Conn reader(w.db_path);
  EXPECT_EQ(reader.QueryInt("SELECT count(*) FROM t"), w.rows[1]);
  EXPECT_NE(w.rows[1], w.rows[2]);
}

// What a replica's apply does: the database file changes under open
// connections (here a whole other database of the same page size is written
// over it), then the -shm header is reset. A connection that read before
// sees the new rows in its next transaction, without reopening; before the
// reset it still sees its cached pages.
TEST(WalIndex, ResetForChangedDatabaseMakesOpenConnectionsReadTheFile) {
  TempDir dir;
  WalDb w(dir, 4096);
  w.InsertAndUpdate(10, 300);
  w.conn.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  Conn reader(w.db_path);
  const int64_t before = reader.QueryInt("SELECT count(*) FROM t");
  ASSERT_EQ(before, w.rows.back());

  WalDb other(dir, 4096, "other.db");
  other.InsertAndUpdate(40, 300);
  other.conn.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const Bytes image = ReadBytes(other.db_path);
  ASSERT_NE(other.rows.back(), before);
  auto db_file = env::Env::Posix()->Open(w.db_path, env::OpenMode::kReadWrite);
  ASSERT_TRUE(db_file.ok());
  ASSERT_TRUE((*db_file)->WriteAt(0, image).ok());
  ASSERT_TRUE((*db_file)->Truncate(image.size()).ok());
  ASSERT_EQ(reader.QueryInt("SELECT count(*) FROM t"), before) << "no cached pages to drop";

  Bytes shm = ReadBytes(w.shm_path);
  ASSERT_GE(shm.size(), kWalIndexHeaderSize);
  const Bytes untouched(shm.begin() + kWalIndexLockOffset, shm.end());
  const uint32_t pages = uint32_t(image.size() / 4096);
  ASSERT_TRUE(ResetForChangedDatabase(shm, pages, 12345));
  EXPECT_EQ(Bytes(shm.begin() + kWalIndexLockOffset, shm.begin() + kCkptBackfillAttemptedOffset),
            Bytes(untouched.begin(), untouched.begin() + kShmNLock));
  auto h = ParseWalIndexHeader(shm);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->change, 12345u);
  EXPECT_EQ(h->max_frame, 0u);
  EXPECT_EQ(h->db_pages, pages);
  auto shm_file = env::Env::Posix()->Open(w.shm_path, env::OpenMode::kReadWrite);
  ASSERT_TRUE(shm_file.ok());
  ASSERT_TRUE((*shm_file)->WriteAt(0, std::span(shm).first(kWalIndexLockOffset)).ok());

  EXPECT_EQ(reader.QueryInt("SELECT count(*) FROM t"), other.rows.back());
  EXPECT_EQ(reader.QueryInt("SELECT count(*) FROM pragma_integrity_check WHERE "
                            "integrity_check != 'ok'"),
            0);
  Conn fresh(w.db_path);
  EXPECT_EQ(fresh.QueryInt("SELECT count(*) FROM t"), other.rows.back());
}

// A replica's first header, or one whose copies differ, is built as SQLite's
// recovery of an empty WAL builds it, and SQLite trusts it: this test holds
// the WAL write lock (as walship does on a replica), without which no
// connection can rebuild the header, and DMS, so none empties the file. A
// header SQLite did not trust would fail the read with "locking protocol"
// after about 10 s of retries.
TEST(WalIndex, ResetForChangedDatabaseBuildsAHeaderSqliteTrusts) {
  TempDir dir;
  int64_t rows = 0;
  std::string db_path;
  {
    WalDb w(dir, 4096);
    w.InsertAndUpdate(10, 300);
    rows = w.rows.back();
    db_path = w.db_path;
  }  // the last connection checkpoints and removes the -wal and -shm
  const Bytes image = ReadBytes(db_path);
  WriteBytes(db_path + "-wal", {});
  Bytes shm(kWalIndexPageSize, 0);
  WalIndexHeader different;
  different.is_init = 1;
  EncodeWalIndexHeader(different,
                       std::span(shm).subspan(kWalIndexHdrCopy1Offset, kWalIndexHdrSize));
  EXPECT_FALSE(ResetForChangedDatabase(shm, uint32_t(image.size() / 4096), 7));
  auto h = ParseWalIndexHeader(shm);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->change, 7u);
  EXPECT_EQ(h->version, kWalIndexVersion);
  EXPECT_EQ(Bytes(shm.begin(), shm.begin() + kWalIndexHdrSize),
            Bytes(shm.begin() + kWalIndexHdrSize, shm.begin() + 2 * kWalIndexHdrSize));
  WriteBytes(db_path + "-shm", shm);

  const int fd = ::open((db_path + "-shm").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  struct flock dms = {};
  dms.l_type = F_RDLCK;
  dms.l_start = off_t(kShmDmsLock);
  dms.l_len = 1;
  struct flock write_lock = dms;
  write_lock.l_type = F_WRLCK;
  write_lock.l_start = off_t(kShmWriteLock);
  ASSERT_EQ(::fcntl(fd, F_OFD_SETLK, &dms), 0);
  ASSERT_EQ(::fcntl(fd, F_OFD_SETLK, &write_lock), 0);
  Conn reader(db_path);
  EXPECT_EQ(reader.QueryInt("SELECT count(*) FROM t"), rows);
  auto after = ParseWalIndexHeader(ReadBytes(db_path + "-shm"));
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->change, 7u) << "SQLite rebuilt the header";
  ::close(fd);
}

}  // namespace
}  // namespace walship::sqlite
