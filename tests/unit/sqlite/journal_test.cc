// ReadJournal against hot journals captured from real SQLite transactions,
// with SQLite's own hot-journal rollback as the oracle.
#include "sqlite/journal.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "base/coding.h"
#include "test_util.h"

namespace walship::sqlite {
namespace {

using testing::Bytes;
using testing::Conn;
using testing::CopyFile;
using testing::FileExists;
using testing::OpenFile;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;

constexpr uint32_t kPageSize = 4096;
constexpr uint64_t kRecordSize = kPageSize + 8;

// Copies the database and its journal from inside the commit hook: the
// transaction is still open there, so the pair is what a crash would leave.
struct Capture {
  std::string db_path;
  std::string out_dir;
  bool done = false;
};

int CaptureOnCommit(void* arg) {
  auto* cap = static_cast<Capture*>(arg);
  if (!cap->done && FileExists(cap->db_path + "-journal")) {
    CopyFile(cap->db_path, cap->out_dir + "/captured.db");
    CopyFile(cap->db_path + "-journal", cap->out_dir + "/captured.db-journal");
    cap->done = true;
  }
  return 0;  // let the commit proceed
}

struct HotJournal {
  Bytes before;   // the database before the transaction
  Bytes db;       // the database mid-transaction
  Bytes journal;  // the journal mid-transaction
};

// Runs a large transaction in `mode` and captures it mid-commit. With a small
// cache SQLite spills pages to the database (syncing the journal first, and
// starting a new journal segment each time) before the commit.
HotJournal MakeHotJournal(const TempDir& dir, const std::string& mode, int cache_pages = 10) {
  const std::string path = dir.File("j.db");
  Conn c(path);
  c.Exec("PRAGMA page_size=" + std::to_string(kPageSize));
  c.Exec("PRAGMA journal_mode=" + mode);
  c.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
  c.Exec("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<300) "
         "INSERT INTO t(v) SELECT randomblob(1000) FROM s");
  c.Exec("UPDATE t SET v = randomblob(1000) WHERE id = 1");  // a prior journal exists
  HotJournal hj;
  hj.before = ReadBytes(path);
  c.Exec("PRAGMA cache_size=" + std::to_string(cache_pages));
  Capture cap{path, dir.path()};
  sqlite3_commit_hook(c.get(), CaptureOnCommit, &cap);
  c.Exec("BEGIN; UPDATE t SET v = randomblob(1000); "
         "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM s WHERE i<100) "
         "INSERT INTO t(v) SELECT randomblob(1000) FROM s; COMMIT");
  sqlite3_commit_hook(c.get(), nullptr, nullptr);
  EXPECT_TRUE(cap.done) << "no journal seen at commit";
  hj.db = ReadBytes(dir.File("captured.db"));
  hj.journal = ReadBytes(dir.File("captured.db-journal"));
  return hj;
}

struct Rollback {
  Status status;
  Bytes db;
  uint32_t initial_pages = 0;
  int pages_yielded = 0;
};

Rollback RollbackWithReader(const TempDir& dir, const Bytes& db, const Bytes& journal,
                            uint32_t db_page_size = kPageSize) {
  std::string jpath = dir.File("reader-journal");
  WriteBytes(jpath, journal);
  Rollback r;
  r.db = db;
  auto on_page = [&](uint32_t pgno, std::span<const uint8_t> page) {
    EXPECT_EQ(page.size(), kPageSize);
    uint64_t at = uint64_t(pgno - 1) * kPageSize;
    if (r.db.size() < at + kPageSize) r.db.resize(at + kPageSize);
    std::memcpy(&r.db[at], page.data(), page.size());
    r.pages_yielded++;
    return Status::OK();
  };
  r.status = ReadJournal(OpenFile(jpath).get(), db_page_size, on_page, &r.initial_pages);
  if (r.status.ok()) r.db.resize(uint64_t(r.initial_pages) * kPageSize);
  return r;
}

// Lets SQLite find the journal hot and roll it back; returns the database.
Bytes RollbackWithSqlite(const TempDir& dir, const Bytes& db, const Bytes& journal) {
  std::string path = dir.File("oracle.db");
  WriteBytes(path, db);
  WriteBytes(path + "-journal", journal);
  {
    Conn c(path);
    c.QueryInt("SELECT count(*) FROM sqlite_master");
  }
  return ReadBytes(path);
}

// Journal headers at sector-aligned offsets that carry the magic.
int CountSegments(const Bytes& journal, uint32_t sector) {
  int n = 0;
  for (uint64_t off = 0; off + 8 <= journal.size(); off += sector) {
    n += std::memcmp(&journal[off], kJournalMagic, 8) == 0;
  }
  return n;
}

class HotJournalMode : public ::testing::TestWithParam<const char*> {};

TEST_P(HotJournalMode, RollbackRestoresPreTransactionDatabase) {
  TempDir dir;
  HotJournal hj = MakeHotJournal(dir, GetParam());
  ASSERT_NE(hj.db, hj.before) << "pages should have spilled before the commit";
  auto header = ParseJournalHeader(hj.journal);
  ASSERT_TRUE(header.ok());
  EXPECT_GE(CountSegments(hj.journal, header->sector_size), 2);

  Rollback ours = RollbackWithReader(dir, hj.db, hj.journal);
  ASSERT_TRUE(ours.status.ok()) << ours.status.ToString();
  EXPECT_EQ(uint64_t(ours.initial_pages) * kPageSize, hj.before.size());
  EXPECT_TRUE(ours.db == hj.before);
  EXPECT_TRUE(RollbackWithSqlite(dir, hj.db, hj.journal) == hj.before);
  EXPECT_FALSE(FileExists(dir.File("oracle.db-journal"))) << "SQLite found it hot";
}

INSTANTIATE_TEST_SUITE_P(Modes, HotJournalMode,
                         ::testing::Values("delete", "truncate", "persist"));

TEST(Journal, HeaderFieldsOfRealJournal) {
  TempDir dir;
  HotJournal hj = MakeHotJournal(dir, "delete");
  auto h = ParseJournalHeader(hj.journal);
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->valid_magic);
  EXPECT_EQ(h->page_size, kPageSize);
  EXPECT_EQ(uint64_t(h->initial_db_pages) * kPageSize, hj.before.size());
  EXPECT_GE(h->sector_size, 512u);
  EXPECT_EQ(h->sector_size & (h->sector_size - 1), 0u);
  EXPECT_GT(h->record_count, 0u);
  EXPECT_NE(h->record_count, kJournalRecordCountUnknown);
  // Every record of the first segment carries SQLite's checksum.
  for (uint32_t i = 0; i < h->record_count; i++) {
    const uint8_t* rec = &hj.journal[h->sector_size + i * kRecordSize];
    std::span<const uint8_t> page(rec + 4, kPageSize);
    EXPECT_EQ(JournalChecksum(h->nonce, page), GetBE32(rec + 4 + kPageSize)) << i;
  }
  EXPECT_FALSE(ParseJournalHeader(std::span<const uint8_t>(hj.journal).first(27)).ok());
}

// A byte the checksum samples (page_size - 200) ends the rollback at that
// record; one it does not sample goes unnoticed. Either way the reader and
// SQLite restore exactly the same bytes.
TEST(Journal, DamagedRecordHandledLikeSqlite) {
  TempDir dir;
  HotJournal hj = MakeHotJournal(dir, "delete");
  auto h = ParseJournalHeader(hj.journal);
  ASSERT_TRUE(h.ok());
  ASSERT_GE(h->record_count, 4u);
  const uint64_t rec3 = h->sector_size + 3 * kRecordSize;

  Bytes sampled = hj.journal;
  sampled[rec3 + 4 + (kPageSize - 200)] ^= 0x01;
  Rollback ours = RollbackWithReader(dir, hj.db, sampled);
  ASSERT_TRUE(ours.status.ok()) << ours.status.ToString();
  EXPECT_EQ(ours.pages_yielded, 3);
  Bytes theirs = RollbackWithSqlite(dir, hj.db, sampled);
  EXPECT_TRUE(ours.db == theirs);
  EXPECT_FALSE(theirs == hj.before);

  Bytes unsampled = hj.journal;
  unsampled[rec3 + 4 + 1] ^= 0x01;
  ours = RollbackWithReader(dir, hj.db, unsampled);
  ASSERT_TRUE(ours.status.ok());
  EXPECT_GT(ours.pages_yielded, 3);
  EXPECT_TRUE(ours.db == RollbackWithSqlite(dir, hj.db, unsampled));
}

TEST(Journal, TruncatedJournalStopsAtLastCompleteRecord) {
  TempDir dir;
  HotJournal hj = MakeHotJournal(dir, "delete");
  auto h = ParseJournalHeader(hj.journal);
  ASSERT_TRUE(h.ok());
  ASSERT_GE(h->record_count, 4u);
  Bytes cut(hj.journal.begin(), hj.journal.begin() + h->sector_size + 3 * kRecordSize + 100);
  Rollback ours = RollbackWithReader(dir, hj.db, cut);
  ASSERT_TRUE(ours.status.ok()) << ours.status.ToString();
  EXPECT_EQ(ours.pages_yielded, 3);
  EXPECT_TRUE(ours.db == RollbackWithSqlite(dir, hj.db, cut));
}

// Before the first spill the journal header still has zero magic: not hot.
// SQLite discards such a journal and leaves the database untouched.
TEST(Journal, NeverSyncedJournalIsNotHot) {
  TempDir dir;
  HotJournal hj = MakeHotJournal(dir, "delete", /*cache_pages=*/2000);
  ASSERT_TRUE(hj.db == hj.before) << "nothing should have spilled";
  auto h = ParseJournalHeader(hj.journal);
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->valid_magic);
  EXPECT_EQ(h->record_count, 0u);
  EXPECT_FALSE(IsZeroedHeader(hj.journal));  // sizes are already set
  Rollback ours = RollbackWithReader(dir, hj.db, hj.journal);
  EXPECT_TRUE(ours.status.IsNotFound()) << ours.status.ToString();
  EXPECT_EQ(ours.pages_yielded, 0);
  EXPECT_TRUE(RollbackWithSqlite(dir, hj.db, hj.journal) == hj.before);
}

TEST(Journal, PersistCommitZeroesHeader) {
  TempDir dir;
  const std::string path = dir.File("p.db");
  Conn c(path);
  c.Exec("PRAGMA journal_mode=persist");
  c.Exec("CREATE TABLE t(v BLOB)");
  c.Exec("INSERT INTO t VALUES (randomblob(3000))");
  Bytes journal = ReadBytes(path + "-journal");
  ASSERT_GT(journal.size(), 512u);
  EXPECT_TRUE(IsZeroedHeader(journal));
  EXPECT_FALSE(IsZeroedHeader(std::span<const uint8_t>(journal).first(27)));
  // The records after the header stay in place.
  EXPECT_TRUE(std::any_of(journal.begin() + 28, journal.end(), [](uint8_t b) { return b != 0; }));
  Rollback ours = RollbackWithReader(dir, ReadBytes(path), journal, 0);
  EXPECT_TRUE(ours.status.IsNotFound()) << ours.status.ToString();
}

TEST(Journal, TruncateCommitLeavesEmptyFile) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  Conn c(path);
  c.Exec("PRAGMA journal_mode=truncate");
  c.Exec("CREATE TABLE t(v BLOB)");
  c.Exec("INSERT INTO t VALUES (randomblob(3000))");
  Bytes journal = ReadBytes(path + "-journal");
  EXPECT_TRUE(journal.empty());
  Rollback ours = RollbackWithReader(dir, ReadBytes(path), journal);
  EXPECT_TRUE(ours.status.IsNotFound());
}

TEST(Journal, PageSizeMismatchIsCorruption) {
  TempDir dir;
  HotJournal hj = MakeHotJournal(dir, "delete");
  Rollback ours = RollbackWithReader(dir, hj.db, hj.journal, 1024);
  EXPECT_TRUE(ours.status.IsCorruption()) << ours.status.ToString();
  EXPECT_EQ(ours.pages_yielded, 0);
}

TEST(Journal, CallbackErrorStopsTheWalk) {
  TempDir dir;
  HotJournal hj = MakeHotJournal(dir, "delete");
  std::string jpath = dir.File("cb-journal");
  WriteBytes(jpath, hj.journal);
  int calls = 0;
  uint32_t initial = 0;
  Status st = ReadJournal(
      OpenFile(jpath).get(), kPageSize,
      [&](uint32_t, std::span<const uint8_t>) {
        return ++calls == 2 ? Status::IOError("disk full") : Status::OK();
      },
      &initial);
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace walship::sqlite
