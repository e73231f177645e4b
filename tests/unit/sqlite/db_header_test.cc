#include "sqlite/db_header.h"

#include <gtest/gtest.h>

#include <string>

#include "sqlite/locks.h"
#include "test_util.h"

namespace walship::sqlite {
namespace {

using testing::Bytes;
using testing::Conn;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;

// A database written by SQLite with the given page size and a few rows.
Bytes MakeDatabase(const TempDir& dir, uint32_t page_size, const std::string& journal_mode) {
  std::string path = dir.File("db-" + std::to_string(page_size) + journal_mode);
  {
    Conn c(path);
    c.Exec("PRAGMA page_size=" + std::to_string(page_size));
    c.Exec("PRAGMA journal_mode=" + journal_mode);
    c.Exec("PRAGMA user_version=7; PRAGMA application_id=1234567");
    c.Exec("CREATE TABLE t(v BLOB)");
    c.Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<40) "
           "INSERT INTO t SELECT randomblob(700) FROM n");
  }
  return ReadBytes(path);
}

class DbHeaderPageSize : public ::testing::TestWithParam<uint32_t> {};

TEST_P(DbHeaderPageSize, ParsesRealDatabase) {
  TempDir dir;
  const uint32_t page_size = GetParam();
  Bytes db = MakeDatabase(dir, page_size, "delete");
  auto h = ParseDbHeader(db);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->page_size, page_size);
  EXPECT_EQ(uint64_t(h->page_count) * page_size, db.size());
  EXPECT_TRUE(PageCountValid(*h));
  EXPECT_FALSE(IsWalMode(*h));
  EXPECT_EQ(h->write_version, 1);
  EXPECT_EQ(h->read_version, 1);
  EXPECT_EQ(h->user_version, 7u);
  EXPECT_EQ(h->application_id, 1234567u);
  EXPECT_EQ(h->text_encoding, 1u);  // UTF-8
  EXPECT_EQ(h->sqlite_version, uint32_t(sqlite3_libversion_number()));
  EXPECT_GT(h->change_counter, 0u);
  EXPECT_EQ(h->change_counter, h->version_valid_for);
}

INSTANTIATE_TEST_SUITE_P(Sizes, DbHeaderPageSize, ::testing::Values(512u, 4096u, 65536u));

TEST(DbHeader, WalModeDatabaseHasVersionsTwo) {
  TempDir dir;
  Bytes db = MakeDatabase(dir, 4096, "wal");
  auto h = ParseDbHeader(db);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_TRUE(IsWalMode(*h));
  EXPECT_EQ(h->write_version, 2);
  EXPECT_EQ(h->read_version, 2);
}

TEST(DbHeader, RejectsNonSqliteFile) {
  Bytes exe = ReadBytes("/proc/self/exe");  // a real file that is not a database
  auto h = ParseDbHeader(exe);
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(h.status().IsCorruption());
  EXPECT_NE(h.status().message().find("magic"), std::string::npos) << h.status().ToString();
}

TEST(DbHeader, RejectsTruncatedHeader) {
  TempDir dir;
  Bytes db = MakeDatabase(dir, 4096, "delete");
  auto h = ParseDbHeader(std::span<const uint8_t>(db).first(99));
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(h.status().IsCorruption());
  EXPECT_NE(h.status().message().find("truncated"), std::string::npos);
}

// Each mutation of a real header must be refused by ParseDbHeader and by
// SQLite itself ("file is not a database"), so the parser is no stricter or
// looser than SQLite on these fields.
struct Mutation {
  const char* name;
  size_t offset;
  std::vector<uint8_t> bytes;
  const char* reason;  // expected in the Corruption message
};

void PrintTo(const Mutation& m, std::ostream* os) { *os << m.name; }

class DbHeaderMutation : public ::testing::TestWithParam<Mutation> {};

TEST_P(DbHeaderMutation, RejectedLikeSqlite) {
  TempDir dir;
  Bytes db = MakeDatabase(dir, 4096, "delete");
  ASSERT_TRUE(ParseDbHeader(db).ok());
  const Mutation& m = GetParam();
  std::copy(m.bytes.begin(), m.bytes.end(), db.begin() + m.offset);
  auto h = ParseDbHeader(db);
  ASSERT_FALSE(h.ok()) << m.name;
  EXPECT_TRUE(h.status().IsCorruption());
  EXPECT_NE(h.status().message().find(m.reason), std::string::npos) << h.status().ToString();

  std::string path = dir.File("mutated");
  WriteBytes(path, db);
  Conn c(path);
  EXPECT_EQ(c.TryExec("SELECT count(*) FROM sqlite_master"), SQLITE_NOTADB) << m.name;
}

INSTANTIATE_TEST_SUITE_P(
    Fields, DbHeaderMutation,
    ::testing::Values(Mutation{"PageSize1000", 16, {0x03, 0xe8}, "page size"},
                      Mutation{"PageSize256", 16, {0x01, 0x00}, "page size"},
                      Mutation{"ReadVersion3", 19, {3}, "version"},
                      Mutation{"MaxPayloadFraction", 21, {65}, "payload"},
                      // 512-byte pages with 255 reserved bytes leave 257 usable.
                      Mutation{"ReservedSpaceTooLarge", 16, {0x02, 0x00, 1, 1, 255}, "reserved"},
                      Mutation{"Magic", 0, {'s'}, "magic"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DbHeader, DecodePageSize) {
  EXPECT_EQ(DecodePageSize(1), 65536u);
  EXPECT_EQ(DecodePageSize(512), 512u);
  EXPECT_EQ(DecodePageSize(32768), 32768u);
  EXPECT_EQ(DecodePageSize(0), 0u);
  EXPECT_EQ(DecodePageSize(256), 0u);
  EXPECT_EQ(DecodePageSize(1000), 0u);
}

TEST(DbHeader, InHeaderPageCountIgnoredWhenVersionValidForIsStale) {
  TempDir dir;
  Bytes db = MakeDatabase(dir, 4096, "delete");
  db[kDbVersionValidForOffset + 3] ^= 1;  // as written by an SQLite older than 3.7.0
  auto h = ParseDbHeader(db);
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(PageCountValid(*h));
}

TEST(Locks, LockPageHoldsPendingByte) {
  for (uint32_t size = 512; size <= 65536; size *= 2) {
    uint32_t pgno = LockPgno(size);
    uint64_t start = uint64_t(pgno - 1) * size;
    EXPECT_LE(start, kPendingByte) << size;
    EXPECT_GT(start + size, kPendingByte) << size;
    // The whole lock range sits on that one page.
    EXPECT_LE(kSharedFirst + kSharedSize, start + size) << size;
  }
  EXPECT_EQ(LockPgno(4096), 262145u);
  EXPECT_EQ(LockPgno(65536), 16385u);
}

}  // namespace
}  // namespace walship::sqlite
