#include "store/ltx_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "base/coding.h"
#include "env/env.h"
#include "../ltx/ltx_test_util.h"
#include "test_util.h"

namespace walship::store {
namespace {

using ltx::testing::EncodeFile;
using store::testing::TempDir;
using ltx::testing::MakeHeader;
using ltx::testing::MakePage;

// One whole LTX file for txid `txid` with `pages` incompressible pages.
std::string Ltx(uint64_t txid, uint32_t pages) {
  std::map<uint32_t, std::string> content;
  for (uint32_t pgno = 1; pgno <= pages; pgno++) {
    content[pgno] = MakePage(4096, pgno, uint32_t(txid), /*compressible=*/false);
  }
  return EncodeFile(MakeHeader(4096, pages, txid, txid), content);
}

std::vector<uint64_t> Txids(const std::vector<ReceivedLtx>& entries) {
  std::vector<uint64_t> out;
  for (const ReceivedLtx& e : entries) out.push_back(e.header.max_txid);
  return out;
}

struct stat Stat(const std::string& path) {
  struct stat st{};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st;
}

class LtxLogTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(log_.Open(env::Env::Posix(), path_, "x.db").ok()); }

  // Appends txids first..last, `pages` pages each, and syncs.
  void Write(uint64_t first, uint64_t last, uint32_t pages) {
    for (uint64_t txid = first; txid <= last; txid++) log_.Append(Ltx(txid, pages));
    ASSERT_TRUE(log_.Sync().ok());
  }

  // Opens a fresh LtxLog on the file, as a restart does.
  std::vector<uint64_t> Reopen() {
    LtxLog log;
    auto entries = log.Open(env::Env::Posix(), path_, "x.db");
    EXPECT_TRUE(entries.ok()) << entries.status().ToString();
    return entries.ok() ? Txids(*entries) : std::vector<uint64_t>{};
  }

  TempDir dir_;
  std::string path_ = dir_ / LtxLog::kFileName;
  LtxLog log_;
};

TEST_F(LtxLogTest, EntriesReadBackInOrder) {
  Write(1, 3, 2);
  EXPECT_EQ(log_.entries(), 3u);
  EXPECT_EQ(Reopen(), (std::vector<uint64_t>{1, 2, 3}));
}

// Emptying after a seal keeps the blocks (no truncation, whose block freeing
// a `discard` mount makes synchronous) and writes the end mark at offset 0.
TEST_F(LtxLogTest, ClearKeepsTheBlocksAndReadsBackEmpty) {
  Write(1, 3, 4);
  const struct stat before = Stat(path_);
  ASSERT_TRUE(log_.Clear().ok());
  EXPECT_EQ(log_.entries(), 0u);
  EXPECT_EQ(log_.bytes(), 0u);
  const struct stat after = Stat(path_);
  EXPECT_EQ(after.st_size, before.st_size);
  EXPECT_EQ(after.st_blocks, before.st_blocks);
  EXPECT_TRUE(Reopen().empty());
}

// New entries overwrite the old ones from offset 0; the end mark after them
// hides what is left of the old ones, and a restart cuts nothing off.
TEST_F(LtxLogTest, EntriesAfterAClearHideTheOldOnes) {
  Write(1, 4, 3);
  ASSERT_TRUE(log_.Clear().ok());
  Write(5, 5, 1);
  const off_t size = Stat(path_).st_size;
  EXPECT_EQ(Reopen(), (std::vector<uint64_t>{5}));
  EXPECT_EQ(Stat(path_).st_size, size) << "old entries past the end mark are not torn";

  // Appending after the restart continues right after entry 5.
  LtxLog again;
  ASSERT_TRUE(again.Open(env::Env::Posix(), path_, "x.db").ok());
  again.Append(Ltx(6, 1));
  ASSERT_TRUE(again.Sync().ok());
  EXPECT_EQ(Reopen(), (std::vector<uint64_t>{5, 6}));
}

// A history that replaces the log's (a snapshot) truncates: nothing stale stays.
TEST_F(LtxLogTest, ResetTruncatesTheFile) {
  Write(1, 1, 2);
  ASSERT_TRUE(log_.Reset().ok());
  EXPECT_EQ(Stat(path_).st_size, 0);
  EXPECT_TRUE(Reopen().empty());
}

// A log written before the end mark existed ends at the end of the file.
TEST_F(LtxLogTest, ALogWithoutAnEndMarkStillOpens) {
  std::string raw;
  for (uint64_t txid = 1; txid <= 2; txid++) {
    const std::string ltx = Ltx(txid, 1);
    uint8_t length[8];
    PutBE64(length, ltx.size());
    raw.append(reinterpret_cast<const char*>(length), sizeof length);
    raw += ltx;
  }
  ASSERT_TRUE(env::Env::Posix()
                  ->WriteFileAtomic(path_, {reinterpret_cast<const uint8_t*>(raw.data()),
                                            raw.size()}, false)
                  .ok());
  EXPECT_EQ(Reopen(), (std::vector<uint64_t>{1, 2}));
}

// A crash that lost the end mark's write: what follows the new entries is
// part of an old one, which does not verify, and is cut off.
TEST_F(LtxLogTest, AnOldEntryCutInTwoPastTheNewOnesIsCutOff) {
  Write(1, 1, 3);
  ASSERT_TRUE(log_.Clear().ok());
  const std::string small = Ltx(2, 1);
  Write(2, 2, 1);
  // Overwrite the end mark with bytes of the old entry, as if it was never written.
  auto file = env::Env::Posix()->Open(path_, env::OpenMode::kReadWrite);
  ASSERT_TRUE(file.ok());
  const std::vector<uint8_t> junk = {0, 0, 0, 0, 0, 0, 0x10, 0};  // a length into old bytes
  ASSERT_TRUE((*file)->WriteAt(8 + small.size(), junk).ok());
  EXPECT_EQ(Reopen(), (std::vector<uint64_t>{2}));
  EXPECT_EQ(uint64_t(Stat(path_).st_size), 8 + small.size());
}

}  // namespace
}  // namespace walship::store
