// ScanWal against WAL files written by the real SQLite library, with SQLite
// itself as the oracle for what a crash-recovery reading must keep.
#include <gtest/gtest.h>

#include <bit>

#include "base/coding.h"
#include "sqlite/wal.h"
#include "wal_fixture.h"

namespace walship::sqlite {
namespace {

using testing::Bytes;
using testing::Conn;
using testing::OpenFile;
using testing::ReadBytes;
using testing::RowsSqliteRecovers;
using testing::TempDir;
using testing::WalDb;
using testing::WriteBytes;

WalScan ScanBytes(const TempDir& dir, const Bytes& wal, const std::string& name = "scan-wal") {
  std::string path = dir.File(name);
  WriteBytes(path, wal);
  auto scan = ScanWal(OpenFile(path).get());
  EXPECT_TRUE(scan.ok()) << scan.status().ToString();
  return scan.ok() ? std::move(scan).value() : WalScan{};
}

// 1-based indexes of the commit frames, as sqlite3_wal_hook reports them.
std::vector<int> CommitPositions(const WalScan& scan) {
  std::vector<int> out;
  for (size_t i = 0; i < scan.frames.size(); i++) {
    if (scan.frames[i].commit != 0) out.push_back(int(i + 1));
  }
  return out;
}

void RunTransactions(WalDb* w, int count) {
  for (int i = 0; i < count; i++) w->InsertAndUpdate(10 + 7 * i, 300 + 50 * i);
}

class WalScanPageSize : public ::testing::TestWithParam<uint32_t> {};

TEST_P(WalScanPageSize, CommitFramesMatchSqlite) {
  TempDir dir;
  WalDb w(dir, GetParam());
  RunTransactions(&w, 5);
  WalScan scan = ScanBytes(dir, ReadBytes(w.wal_path));

  ASSERT_TRUE(scan.header_valid);
  EXPECT_EQ(scan.header.page_size, GetParam());
  EXPECT_EQ(scan.header.version, kWalVersion);
  const bool host_big = std::endian::native == std::endian::big;
  EXPECT_EQ(scan.header.magic, host_big ? kWalMagicBigEndian : kWalMagicLittleEndian);
  EXPECT_EQ(CommitPositions(scan), w.commits);
  ASSERT_EQ(scan.frames.size(), size_t(w.commits.back()));
  for (size_t i = 0; i < scan.frames.size(); i++) {
    EXPECT_EQ(scan.frames[i].offset, WalFrameOffset(GetParam(), i));
    EXPECT_NE(scan.frames[i].pgno, 0u);
  }
  EXPECT_EQ(scan.committed_end, WalFrameOffset(GetParam(), w.commits.back()));
  EXPECT_EQ(scan.committed_end, scan.file_size);
  EXPECT_EQ(scan.db_pages, uint32_t(w.conn.QueryInt("PRAGMA page_count")));
}

// Applying the scanned frames to the database file by hand gives exactly the
// file SQLite produces when it checkpoints the same WAL.
TEST_P(WalScanPageSize, FramePagesReproduceSqliteCheckpoint) {
  TempDir dir;
  const uint32_t ps = GetParam();
  WalDb w(dir, ps);
  RunTransactions(&w, 4);
  Bytes db = ReadBytes(w.db_path);
  Bytes wal = ReadBytes(w.wal_path);
  WalScan scan = ScanBytes(dir, wal);
  ASSERT_FALSE(scan.frames.empty());

  Bytes ours = db;
  for (const WalFrameRef& f : scan.frames) {
    uint64_t at = uint64_t(f.pgno - 1) * ps;
    if (ours.size() < at + ps) ours.resize(at + ps);
    auto page = wal.begin() + f.offset + kWalFrameHeaderSize;
    std::copy(page, page + ps, ours.begin() + at);
  }
  ours.resize(uint64_t(scan.db_pages) * ps);

  std::string copy = dir.File("ckpt.db");
  WriteBytes(copy, db);
  WriteBytes(copy + "-wal", wal);
  {
    Conn c(copy);
    c.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  Bytes theirs = ReadBytes(copy);
  EXPECT_NE(db, theirs);  // the WAL carried real changes
  EXPECT_TRUE(ours == theirs) << "sizes " << ours.size() << " vs " << theirs.size();
}

INSTANTIATE_TEST_SUITE_P(Sizes, WalScanPageSize, ::testing::Values(512u, 4096u, 65536u));

TEST(WalScan, TruncatedTailKeepsCompleteTransactions) {
  TempDir dir;
  WalDb w(dir, 4096);
  RunTransactions(&w, 4);
  Bytes db = ReadBytes(w.db_path);
  Bytes wal = ReadBytes(w.wal_path);
  const size_t n = w.commits.size();
  // Cut inside the last frame of the last transaction.
  wal.resize(WalFrameOffset(4096, w.commits[n - 1]) - 100);

  WalScan scan = ScanBytes(dir, wal);
  EXPECT_EQ(scan.frames.size(), size_t(w.commits[n - 2]));
  EXPECT_EQ(scan.committed_end, WalFrameOffset(4096, w.commits[n - 2]));
  EXPECT_EQ(scan.file_size, wal.size());
  EXPECT_EQ(RowsSqliteRecovers(dir, db, wal), w.rows[n - 2]);
}

enum class Damage { kPageByte, kSalt1, kSalt2, kChecksum, kPgnoZero };

class WalScanDamage : public ::testing::TestWithParam<Damage> {};

// Damage the second frame of the fourth transaction: the scan keeps the first
// three transactions, and SQLite's recovery keeps the same rows.
TEST_P(WalScanDamage, StopsAtDamagedFrame) {
  TempDir dir;
  WalDb w(dir, 4096);
  RunTransactions(&w, 5);
  Bytes db = ReadBytes(w.db_path);
  Bytes wal = ReadBytes(w.wal_path);
  const int keep = w.commits[2];  // frames of the first three commits
  ASSERT_GE(w.commits[3] - keep, 2) << "the damaged transaction needs two frames";
  const uint64_t frame = WalFrameOffset(4096, keep + 1);  // 0-based index keep+1
  switch (GetParam()) {
    case Damage::kPageByte: wal[frame + kWalFrameHeaderSize + 1000] ^= 0x01; break;
    case Damage::kSalt1: wal[frame + 8] ^= 0x80; break;
    case Damage::kSalt2: wal[frame + 15] ^= 0x01; break;
    case Damage::kChecksum: wal[frame + 20] ^= 0x01; break;
    case Damage::kPgnoZero: PutBE32(&wal[frame], 0); break;
  }
  WalScan scan = ScanBytes(dir, wal);
  EXPECT_EQ(scan.frames.size(), size_t(keep));
  EXPECT_EQ(scan.committed_end, WalFrameOffset(4096, keep));
  EXPECT_EQ(RowsSqliteRecovers(dir, db, wal), w.rows[2]);
}

const char* const kDamageNames[] = {"PageByte", "Salt1", "Salt2", "Checksum", "PgnoZero"};

void PrintTo(Damage d, std::ostream* os) { *os << kDamageNames[int(d)]; }

std::string DamageName(const ::testing::TestParamInfo<Damage>& info) {
  return kDamageNames[int(info.param)];
}

INSTANTIATE_TEST_SUITE_P(Kinds, WalScanDamage,
                         ::testing::Values(Damage::kPageByte, Damage::kSalt1, Damage::kSalt2,
                                           Damage::kChecksum, Damage::kPgnoZero),
                         DamageName);

// After a complete checkpoint the next writer restarts the WAL at frame 1 with
// salt1 + 1 and a new salt2; the old generation's frames stay in the file but
// no longer validate.
TEST(WalScan, RestartedWalIgnoresStaleFrames) {
  TempDir dir;
  WalDb w(dir, 4096);
  RunTransactions(&w, 4);
  auto before = ParseWalHeader(ReadBytes(w.wal_path));
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(w.conn.QueryInt("PRAGMA wal_checkpoint(PASSIVE)"), 0);  // not busy
  w.Txn("INSERT INTO t(v) VALUES (x'01')");

  Bytes db = ReadBytes(w.db_path);
  Bytes wal = ReadBytes(w.wal_path);
  WalScan scan = ScanBytes(dir, wal);
  ASSERT_TRUE(scan.header_valid);
  EXPECT_EQ(scan.header.salt1, before->salt1 + 1);
  EXPECT_NE(scan.header.salt2, before->salt2);
  EXPECT_EQ(scan.header.checkpoint_seq, before->checkpoint_seq + 1);
  EXPECT_EQ(scan.frames.size(), size_t(w.commits.back()));
  EXPECT_LT(scan.committed_end, scan.file_size);  // stale frames remain
  EXPECT_EQ(RowsSqliteRecovers(dir, db, wal), w.rows.back());
}

TEST(WalScan, EmptyWalAfterTruncateCheckpoint) {
  TempDir dir;
  WalDb w(dir, 4096);
  RunTransactions(&w, 2);
  w.conn.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  auto scan = ScanWal(OpenFile(w.wal_path).get());
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->file_size, 0u);
  EXPECT_FALSE(scan->header_valid);
  EXPECT_TRUE(scan->frames.empty());
  EXPECT_EQ(scan->committed_end, 0u);
}

// Rewriting a real WAL with the other checksum byte order: ScanWal sees the
// same frames, and SQLite's own recovery accepts the rewritten checksums.
TEST(WalScan, OtherByteOrderChecksumsAcceptedBySqlite) {
  TempDir dir;
  WalDb w(dir, 4096);
  RunTransactions(&w, 3);
  Bytes db = ReadBytes(w.db_path);
  Bytes wal = ReadBytes(w.wal_path);
  WalScan orig = ScanBytes(dir, wal, "orig");
  ASSERT_TRUE(orig.header_valid);

  WalHeader h = orig.header;
  h.magic ^= 1;
  auto hdr_bytes = EncodeWalHeader(h);
  auto swapped_hdr = ParseWalHeader(hdr_bytes);
  ASSERT_TRUE(swapped_hdr.ok()) << swapped_hdr.status().ToString();
  Bytes conv(hdr_bytes.begin(), hdr_bytes.end());
  uint32_t cksum[2] = {swapped_hdr->checksum1, swapped_hdr->checksum2};
  for (const WalFrameRef& f : orig.frames) {
    std::span<const uint8_t> page(&wal[f.offset + kWalFrameHeaderSize], 4096);
    uint8_t fh[kWalFrameHeaderSize];
    EncodeWalFrameHeader(*swapped_hdr, f.pgno, f.commit, page, cksum, fh);
    conv.insert(conv.end(), fh, fh + sizeof(fh));
    conv.insert(conv.end(), page.begin(), page.end());
  }
  WalScan scan = ScanBytes(dir, conv, "conv");
  ASSERT_TRUE(scan.header_valid);
  EXPECT_NE(scan.header.big_endian_checksum(), orig.header.big_endian_checksum());
  ASSERT_EQ(scan.frames.size(), orig.frames.size());
  for (size_t i = 0; i < scan.frames.size(); i++) {
    EXPECT_EQ(scan.frames[i].pgno, orig.frames[i].pgno);
    EXPECT_EQ(scan.frames[i].commit, orig.frames[i].commit);
  }
  EXPECT_EQ(RowsSqliteRecovers(dir, db, conv), w.rows.back());

  // Flipping the byte-order bit without recomputing makes the header invalid,
  // for ScanWal and for SQLite, which then ignores the whole WAL.
  Bytes flipped = wal;
  flipped[3] ^= 1;
  WalScan bad = ScanBytes(dir, flipped, "flipped");
  EXPECT_FALSE(bad.header_valid);
  EXPECT_TRUE(bad.frames.empty());
  EXPECT_EQ(bad.committed_end, 0u);
  EXPECT_EQ(RowsSqliteRecovers(dir, db, flipped, "flipped.db"), -1);  // table t was in the WAL
}

TEST(WalScan, UnknownVersionIsCorruptionAndSqliteRefusesIt) {
  TempDir dir;
  WalDb w(dir, 4096);
  RunTransactions(&w, 1);
  Bytes db = ReadBytes(w.db_path);
  Bytes wal = ReadBytes(w.wal_path);
  auto h = ParseWalHeader(wal);
  ASSERT_TRUE(h.ok());
  h->version = kWalVersion + 1;
  auto raw = EncodeWalHeader(*h);
  std::copy(raw.begin(), raw.end(), wal.begin());
  std::string path = dir.File("v.db");
  WriteBytes(path + "-wal", wal);
  auto scan = ScanWal(OpenFile(path + "-wal").get());
  ASSERT_FALSE(scan.ok());
  EXPECT_TRUE(scan.status().IsCorruption());
  EXPECT_NE(scan.status().message().find("version"), std::string::npos);

  WriteBytes(path, db);
  Conn c(path);
  EXPECT_EQ(c.TryExec("SELECT count(*) FROM sqlite_master") & 0xff, SQLITE_CANTOPEN);
}

}  // namespace
}  // namespace walship::sqlite
