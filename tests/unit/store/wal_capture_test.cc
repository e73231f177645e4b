#include "store/wal_capture.h"

#include <gtest/gtest.h>

#include "sqlite/wal.h"
#include "test_util.h"

namespace walship::store {
namespace {

using testing::Exec;
using testing::ReadAll;
using testing::TempDir;

// A real WAL: `txs` transactions, each inserting one row, kept un-checkpointed.
std::vector<uint8_t> MakeWal(const TempDir& dir, int txs) {
  sqlite3* db = nullptr;
  sqlite3_open((dir / "x.db").c_str(), &db);
  Exec(db, "PRAGMA journal_mode=wal; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x);");
  for (int i = 0; i < txs; i++) Exec(db, "INSERT INTO t VALUES(randomblob(100))");
  auto wal = ReadAll(dir / "x.db-wal");
  sqlite3_close(db);
  return wal;
}

// Feeds `wal` to `capture` the way the kernel does: header, then for each
// frame its 24-byte header and its page split at 4 KiB file offsets.
void Feed(WalCapture* capture, const std::vector<uint8_t>& wal, uint32_t page_size) {
  capture->OnWrite(0, std::span(wal).first(32));
  const size_t fsz = page_size + 24;
  for (size_t off = 32; off + fsz <= wal.size(); off += fsz) {
    capture->OnWrite(off, std::span(wal).subspan(off, 24));
    size_t pos = off + 24, end = off + fsz;
    while (pos < end) {
      size_t next = std::min(end, (pos / 4096 + 1) * 4096);
      capture->OnWrite(pos, std::span(wal).subspan(pos, next - pos));
      pos = next;
    }
  }
}

TEST(WalCapture, TakesOneTransactionAtEachCommit) {
  TempDir dir;
  auto wal = MakeWal(dir, 3);
  WalCapture capture;
  Feed(&capture, wal, 4096);
  ASSERT_TRUE(capture.has_header());
  auto spec = capture.TakeCommitted(nullptr, /*end_of_write=*/true);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  ASSERT_TRUE(spec->has_value());
  EXPECT_EQ((*spec)->page_size, 4096u);
  EXPECT_EQ((*spec)->commit, 2u);
  EXPECT_EQ((*spec)->wal_offset, 32u);
  EXPECT_EQ((*spec)->wal_offset + (*spec)->wal_size, wal.size());
  // Nothing pending after the writer ended.
  auto again = capture.TakeCommitted(nullptr, true);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
}

TEST(WalCapture, FramesWithoutCommitAreDroppedAtEndOfWrite) {
  TempDir dir;
  auto wal = MakeWal(dir, 1);
  WalCapture capture;
  capture.OnWrite(0, std::span(wal).first(32));
  // The first frame only, with its commit field cleared: a spilled page.
  std::vector<uint8_t> frame(wal.begin() + 32, wal.begin() + 32 + 4096 + 24);
  std::fill(frame.begin() + 4, frame.begin() + 8, 0);
  capture.OnWrite(32, frame);
  auto spec = capture.TakeCommitted(nullptr, true);
  ASSERT_TRUE(spec.ok());
  EXPECT_FALSE(spec->has_value());
}

TEST(WalCapture, FirstCommittedSplitsTransactions) {
  TempDir dir;
  auto wal = MakeWal(dir, 4);
  auto scan_frames = (wal.size() - 32) / (4096 + 24);
  WalCapture capture;
  capture.Restore(4096, sqlite::ParseWalHeader(std::span(wal).first(32))->salt1,
                  sqlite::ParseWalHeader(std::span(wal).first(32))->salt2, 32, {});
  for (size_t i = 0; i < scan_frames; i++) {
    size_t off = 32 + i * (4096 + 24);
    auto h = sqlite::ParseWalFrameHeader(std::span(wal).subspan(off, 24));
    capture.OnRecoveredFrame(off, h.pgno, h.commit);
  }
  int txs = 0;
  while (capture.TakeFirstCommitted()) txs++;
  EXPECT_EQ(txs, 5);  // CREATE TABLE + 4 inserts
}

}  // namespace
}  // namespace walship::store
