// How SQLite writes its files, observed through a recording VFS: the facts
// walship's FUSE layer and store rely on when they parse write buffers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "base/coding.h"
#include "recording_vfs.h"
#include "sqlite/journal.h"
#include "sqlite/wal.h"
#include "test_util.h"

namespace walship::sqlite {
namespace {

using testing::Conn;
using testing::IoOp;
using testing::RecordedOps;
using testing::RecordingVfsName;
using testing::TempDir;

constexpr uint32_t kPageSize = 4096;

std::vector<IoOp> OpsOn(const std::string& suffix) {
  std::vector<IoOp> out;
  for (const IoOp& op : RecordedOps()) {
    if (op.file.size() >= suffix.size() &&
        op.file.compare(op.file.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(op);
    }
  }
  return out;
}

bool AllZero(const std::vector<uint8_t>& v) {
  return std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 0; });
}

// Index in RecordedOps() of the first op matching, or -1.
int FirstIndex(IoOp::Kind kind, const std::string& suffix) {
  const auto& ops = RecordedOps();
  for (size_t i = 0; i < ops.size(); i++) {
    if (ops[i].Is(kind, suffix)) return int(i);
  }
  return -1;
}

std::unique_ptr<Conn> OpenRecorded(const TempDir& dir, const std::string& name) {
  auto c = std::make_unique<Conn>(dir.File(name), RecordingVfsName());
  c->Exec("PRAGMA page_size=" + std::to_string(kPageSize));
  return c;
}

// A new WAL starts with one 32-byte header write at offset 0 (then a sync);
// every frame is then two writes: the 24-byte frame header, then the page.
TEST(SqliteIo, WalFrameIsHeaderWriteThenPageWrite) {
  TempDir dir;
  auto c = OpenRecorded(dir, "w.db");
  c->Exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0");
  testing::ClearRecordedOps();
  c->Exec("CREATE TABLE t(v BLOB)");
  c->Exec("INSERT INTO t VALUES (randomblob(20000))");

  std::vector<IoOp> writes;
  for (const IoOp& op : OpsOn("-wal")) {
    if (op.kind == IoOp::kWrite) writes.push_back(op);
  }
  ASSERT_GE(writes.size(), 5u);
  EXPECT_EQ(writes[0].offset, 0);
  EXPECT_EQ(writes[0].amount, int64_t(kWalHeaderSize));
  EXPECT_EQ(GetBE32(writes[0].head.data()) & ~1u, kWalMagicLittleEndian);
  ASSERT_EQ((writes.size() - 1) % 2, 0u);
  int commits = 0;
  for (size_t i = 1; i < writes.size(); i += 2) {
    const uint64_t frame = (i - 1) / 2;
    EXPECT_EQ(uint64_t(writes[i].offset), WalFrameOffset(kPageSize, frame));
    EXPECT_EQ(writes[i].amount, int64_t(kWalFrameHeaderSize));
    EXPECT_EQ(uint64_t(writes[i + 1].offset), WalFrameOffset(kPageSize, frame) + 24);
    EXPECT_EQ(writes[i + 1].amount, int64_t(kPageSize));
    commits += GetBE32(writes[i].head.data() + 4) != 0;
  }
  EXPECT_EQ(commits, 2);
  // The last frame written is a commit frame.
  EXPECT_NE(GetBE32(writes[writes.size() - 2].head.data() + 4), 0u);
}

// After a full checkpoint the next transaction rewrites the WAL header at
// offset 0 (salt1 + 1, new salt2, checkpoint sequence + 1) and writes its
// frames from frame 0 again, over the old ones.
TEST(SqliteIo, WalRestartRewritesHeader) {
  TempDir dir;
  auto c = OpenRecorded(dir, "r.db");
  c->Exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0");
  c->Exec("CREATE TABLE t(v BLOB); INSERT INTO t VALUES (randomblob(9000))");
  std::vector<uint8_t> old_header;
  for (const IoOp& op : OpsOn("-wal")) {
    if (op.kind == IoOp::kWrite && op.offset == 0) old_header = op.head;
  }
  ASSERT_EQ(old_header.size(), kWalHeaderSize);
  c->Exec("PRAGMA wal_checkpoint(PASSIVE)");
  testing::ClearRecordedOps();
  c->Exec("INSERT INTO t VALUES (1)");
  std::vector<IoOp> wal = OpsOn("-wal");
  ASSERT_FALSE(wal.empty());
  ASSERT_EQ(wal[0].kind, IoOp::kWrite);
  EXPECT_EQ(wal[0].offset, 0);
  EXPECT_EQ(wal[0].amount, int64_t(kWalHeaderSize));
  auto before = ParseWalHeader(old_header);
  auto after = ParseWalHeader(wal[0].head);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(after->salt1, before->salt1 + 1);
  EXPECT_EQ(after->checkpoint_seq, before->checkpoint_seq + 1);
  ASSERT_GE(wal.size(), 3u);
  EXPECT_EQ(uint64_t(wal[2].offset), WalFrameOffset(kPageSize, 0));
}

// A WAL transaction that spills pages and then changes them again rewrites
// its own frames in place (a page-size write with no header write before it),
// writes later frame headers with zero salts and checksums, and at commit
// rewrites those headers (24-byte writes behind the end) with real checksums.
// The final WAL is still one valid chain.
TEST(SqliteIo, SpilledWalTransactionRewritesFramesInPlace) {
  TempDir dir;
  auto c = OpenRecorded(dir, "s.db");
  c->Exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0");
  c->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
  c->Exec("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<200) "
          "INSERT INTO t(v) SELECT randomblob(1000) FROM s");
  c->Exec("PRAGMA cache_size=10");
  testing::ClearRecordedOps();
  c->Exec("BEGIN; UPDATE t SET v = randomblob(1000); UPDATE t SET v = randomblob(1000); COMMIT");

  uint64_t end = 0;  // highest frame end written so far
  int in_place = 0, zero_headers = 0, rewrites = 0;
  const IoOp* prev = nullptr;
  for (const IoOp& op : OpsOn("-wal")) {
    if (op.kind != IoOp::kWrite) continue;
    if (op.amount == int64_t(kPageSize) &&
        !(prev && prev->amount == 24 && prev->offset + 24 == op.offset)) {
      in_place++;
    }
    if (op.amount == 24) {
      if (uint64_t(op.offset) + 24 + kPageSize <= end) rewrites++;
      if (AllZero({op.head.begin() + 8, op.head.end()})) zero_headers++;
    }
    end = std::max<uint64_t>(end, uint64_t(op.offset + op.amount));
    prev = &op;
  }
  EXPECT_GT(in_place, 0);
  EXPECT_GT(zero_headers, 0);
  EXPECT_GT(rewrites, 0);
  auto wal = env::Env::Posix()->Open(dir.File("s.db-wal"), env::OpenMode::kRead);
  ASSERT_TRUE(wal.ok());
  auto scan = ScanWal(wal->get());
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->committed_end, scan->file_size);
  EXPECT_EQ(scan->db_pages, uint32_t(c->QueryInt("PRAGMA page_count")));
}

// Rollback journal, synchronous=FULL: header with zero magic and count; each
// record as three writes (pgno, page, checksum); sync; a 12-byte write of
// magic + record count at the header; sync; only then the database writes.
TEST(SqliteIo, RollbackJournalIsSyncedAndStampedBeforeDatabaseWrites) {
  TempDir dir;
  auto c = OpenRecorded(dir, "d.db");
  c->Exec("CREATE TABLE t(v BLOB); INSERT INTO t VALUES (randomblob(9000))");
  testing::ClearRecordedOps();
  c->Exec("UPDATE t SET v = randomblob(9000)");

  std::vector<IoOp> j = OpsOn("-journal");
  ASSERT_GE(j.size(), 6u);
  ASSERT_EQ(j[0].kind, IoOp::kWrite);
  EXPECT_EQ(j[0].offset, 0);
  EXPECT_TRUE(AllZero({j[0].head.begin(), j[0].head.begin() + 12})) << "magic and count zero";
  const uint32_t sector = GetBE32(&j[0].head[20]);
  EXPECT_EQ(j[0].amount, int64_t(std::min(sector, kPageSize)));
  EXPECT_EQ(GetBE32(&j[0].head[24]), kPageSize);

  size_t i = 1;
  uint32_t records = 0;
  for (uint64_t off = sector; i + 2 < j.size() && j[i].kind == IoOp::kWrite && j[i].amount == 4;
       i += 3, off += kPageSize + 8, records++) {
    EXPECT_EQ(uint64_t(j[i].offset), off);
    EXPECT_EQ(uint64_t(j[i + 1].offset), off + 4);
    EXPECT_EQ(j[i + 1].amount, int64_t(kPageSize));
    EXPECT_EQ(uint64_t(j[i + 2].offset), off + 4 + kPageSize);
    EXPECT_EQ(j[i + 2].amount, 4);
  }
  ASSERT_GT(records, 0u);
  ASSERT_LT(i + 1, j.size());
  EXPECT_EQ(j[i].kind, IoOp::kSync);
  EXPECT_EQ(j[i + 1].kind, IoOp::kWrite);
  EXPECT_EQ(j[i + 1].offset, 0);
  EXPECT_EQ(j[i + 1].amount, 12);
  EXPECT_EQ(std::memcmp(j[i + 1].head.data(), kJournalMagic, 8), 0);
  EXPECT_EQ(GetBE32(&j[i + 1].head[8]), records);

  // The stamped header precedes the first database write; the journal is
  // deleted after the database is synced.
  int stamp = -1;
  for (size_t k = 0; k < RecordedOps().size(); k++) {
    const IoOp& op = RecordedOps()[k];
    if (op.Is(IoOp::kWrite, "-journal") && op.offset == 0 && op.amount == 12) stamp = int(k);
  }
  const int first_db_write = FirstIndex(IoOp::kWrite, "d.db");
  const int deleted = FirstIndex(IoOp::kDelete, "d.db-journal");
  ASSERT_GE(stamp, 0);
  EXPECT_LT(stamp, first_db_write);
  EXPECT_LT(first_db_write, deleted);
}

struct CommitCase {
  const char* name;
  const char* pragmas;
  bool zeroes_header;  // else truncates to 0
};

void PrintTo(const CommitCase& c, std::ostream* os) { *os << c.name; }

class JournalCommit : public ::testing::TestWithParam<CommitCase> {};

// How each mode ends a transaction: PERSIST (and DELETE under exclusive
// locking) writes 28 zero bytes at offset 0; TRUNCATE, and PERSIST with
// journal_size_limit=0, truncate the journal to zero bytes. The file stays.
TEST_P(JournalCommit, EndsTransactionAsDocumented) {
  TempDir dir;
  auto c = OpenRecorded(dir, "c.db");
  c->Exec(GetParam().pragmas);
  c->Exec("CREATE TABLE t(v BLOB); INSERT INTO t VALUES (randomblob(9000))");
  testing::ClearRecordedOps();
  c->Exec("UPDATE t SET v = randomblob(9000)");
  std::vector<IoOp> j = OpsOn("-journal");
  ASSERT_GE(j.size(), 2u);
  const IoOp& last = j[j.size() - 2];  // then a sync
  EXPECT_EQ(j.back().kind, IoOp::kSync);
  EXPECT_EQ(FirstIndex(IoOp::kDelete, "-journal"), -1);
  if (GetParam().zeroes_header) {
    ASSERT_EQ(last.kind, IoOp::kWrite);
    EXPECT_EQ(last.offset, 0);
    EXPECT_EQ(last.amount, int64_t(kJournalZeroedHeaderSize));
    EXPECT_TRUE(AllZero(last.head));
    EXPECT_TRUE(IsZeroedHeader(last.head));
  } else {
    ASSERT_EQ(last.kind, IoOp::kTruncate);
    EXPECT_EQ(last.offset, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Modes, JournalCommit,
    ::testing::Values(
        CommitCase{"Persist", "PRAGMA journal_mode=persist", true},
        CommitCase{"DeleteExclusive", "PRAGMA locking_mode=exclusive; PRAGMA journal_mode=delete",
                   true},
        CommitCase{"Truncate", "PRAGMA journal_mode=truncate", false},
        CommitCase{"PersistSizeLimitZero",
                   "PRAGMA journal_mode=persist; PRAGMA journal_size_limit=0", false}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace walship::sqlite
