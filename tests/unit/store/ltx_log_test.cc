// LtxLog on disk: the zeros it keeps written past its entries, and what Open
// makes of a log a crash left behind (docs/operations.md, "The LTX log").
#include "store/ltx_log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../ltx/ltx_test_util.h"
#include "base/coding.h"
#include "test_util.h"

namespace walship::store {
namespace {

using testing::TempDir;

// A valid single-transaction LTX file: txid `txid`, one page.
std::string Ltx(uint64_t txid) {
  const ltx::Header header = ltx::testing::MakeHeader(4096, 1, txid, txid);
  return ltx::testing::EncodeFile(header,
                                  {{1, ltx::testing::MakePage(4096, 1, uint32_t(txid), true)}});
}

std::string ReadFile(const std::string& path) { return *env::Env::Posix()->ReadFile(path); }

void WriteAt(const std::string& path, uint64_t offset, const std::string& bytes) {
  auto file = env::Env::Posix()->Open(path, env::OpenMode::kReadWrite);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)
                  ->WriteAt(offset, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()})
                  .ok());
}

bool AllZero(const std::string& bytes) {
  return bytes.find_first_not_of('\0') == std::string::npos;
}

// A log with `n` entries, synced and closed; returns its bytes() at the end.
uint64_t WriteEntries(const std::string& path, int n) {
  LtxLog log;
  EXPECT_TRUE(log.Open(env::Env::Posix(), path, "x.db").ok());
  for (int i = 1; i <= n; i++) log.Append(Ltx(uint64_t(i)));
  EXPECT_TRUE(log.Sync().ok());
  return log.bytes();
}

TEST(LtxLog, KeepsZerosWrittenPastItsEntries) {
  TempDir dir;
  const std::string path = dir / "ltx.log";
  const uint64_t end = WriteEntries(path, 3);
  const std::string file = ReadFile(path);
  // The appends overwrite blocks the file already has: its size does not
  // move with each commit (so fdatasync has no new size to journal).
  ASSERT_GE(file.size(), end + LtxLog::kReserveBytes / 2);
  EXPECT_TRUE(AllZero(file.substr(end)));

  LtxLog log;
  auto entries = log.Open(env::Env::Posix(), path, "x.db");
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ(entries->back().header.max_txid, 3u);
  EXPECT_EQ(log.bytes(), end);
  EXPECT_EQ(ReadFile(path).size(), file.size()) << "the zeros are not a torn entry";
}

TEST(LtxLog, AnEntryWhoseBytesNeverArrivedIsCutOff) {
  TempDir dir;
  const std::string path = dir / "ltx.log";
  const uint64_t end = WriteEntries(path, 2);
  // The length of a third entry reached the disk, its bytes did not (they
  // read as the zeros written ahead).
  uint8_t length[8];
  PutBE64(length, Ltx(3).size());
  WriteAt(path, end, std::string(reinterpret_cast<char*>(length), 8));

  LtxLog log;
  auto entries = log.Open(env::Env::Posix(), path, "x.db");
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  EXPECT_EQ(entries->size(), 2u);
  EXPECT_EQ(log.bytes(), end);
  const std::string file = ReadFile(path);
  EXPECT_TRUE(AllZero(file.substr(end))) << "the cut length is gone";
  EXPECT_GE(file.size(), end + LtxLog::kReserveBytes / 2) << "zeros written ahead again";
}

TEST(LtxLog, BytesPastAZeroLengthAreCutOff) {
  TempDir dir;
  const std::string path = dir / "ltx.log";
  const uint64_t end = WriteEntries(path, 2);
  // A hole where an entry should start, then bytes of a later one: what a
  // power loss can leave of entries never synced. They are not entries.
  std::string later(8, '\0');
  PutBE64(reinterpret_cast<uint8_t*>(later.data()), Ltx(4).size());
  WriteAt(path, end + 4096, later + Ltx(4));

  LtxLog log;
  auto entries = log.Open(env::Env::Posix(), path, "x.db");
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  EXPECT_EQ(entries->size(), 2u);
  EXPECT_TRUE(AllZero(ReadFile(path).substr(end)));

  // The next append goes where the entries end and reads back.
  log.Append(Ltx(3));
  ASSERT_TRUE(log.Sync().ok());
  LtxLog again;
  entries = again.Open(env::Env::Posix(), path, "x.db");
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ(entries->back().header.max_txid, 3u);
}

TEST(LtxLog, RewindAndClearLeaveZerosAhead) {
  TempDir dir;
  const std::string path = dir / "ltx.log";
  LtxLog log;
  ASSERT_TRUE(log.Open(env::Env::Posix(), path, "x.db").ok());
  log.Append(Ltx(1));
  ASSERT_TRUE(log.Sync().ok());
  const uint64_t one = log.bytes();
  log.Append(Ltx(2));
  ASSERT_TRUE(log.Flush().ok());
  ASSERT_TRUE(log.Rewind(one, 1).ok());
  std::string file = ReadFile(path);
  EXPECT_GE(file.size(), one + LtxLog::kReserveBytes / 2);
  EXPECT_TRUE(AllZero(file.substr(one))) << "nothing of the rewound entry is left";

  ASSERT_TRUE(log.Clear().ok());
  file = ReadFile(path);
  EXPECT_GE(file.size(), LtxLog::kReserveBytes / 2);
  EXPECT_TRUE(AllZero(file));
  LtxLog reopened;
  auto entries = reopened.Open(env::Env::Posix(), path, "x.db");
  ASSERT_TRUE(entries.ok());
  EXPECT_TRUE(entries->empty());
}

}  // namespace
}  // namespace walship::store
