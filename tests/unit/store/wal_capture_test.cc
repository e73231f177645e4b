#include "store/wal_capture.h"

#include <gtest/gtest.h>

#include <set>

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

constexpr size_t kFrame = 4096 + 24;

uint32_t BE32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 | b[at + 3];
}

std::vector<TxSpec> TakeAll(WalCapture* capture) {
  std::vector<TxSpec> out;
  while (true) {
    auto spec = capture->TakeNextCommitted(nullptr);
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    if (!spec.ok() || !spec->has_value()) return out;
    out.push_back(**spec);
  }
}

std::vector<uint32_t> Pgnos(const TxSpec& spec) {
  std::vector<uint32_t> out;
  for (const PageSource& p : spec.pages) out.push_back(p.pgno);
  return out;
}

TEST(WalCapture, TakesOneTransactionAtEachCommitWithItsPages) {
  TempDir dir;
  auto wal = MakeWal(dir, 3);
  WalCapture capture;
  Feed(&capture, wal, 4096);
  ASSERT_TRUE(capture.has_header());
  std::vector<TxSpec> txs = TakeAll(&capture);
  ASSERT_EQ(txs.size(), 4u);  // CREATE TABLE + 3 inserts
  // The expected pages of each transaction, read straight from the frame
  // headers' bytes (pgno at +0, db size at +4, big-endian).
  uint64_t at = 32;
  for (const TxSpec& tx : txs) {
    EXPECT_EQ(tx.page_size, 4096u);
    EXPECT_EQ(tx.wal_offset, at);
    std::set<uint32_t> want;
    uint32_t commit = 0;
    for (; commit == 0; at += kFrame) {
      want.insert(BE32(wal, at));
      commit = BE32(wal, at + 4);
    }
    EXPECT_EQ(tx.commit, commit);
    EXPECT_EQ(tx.wal_offset + tx.wal_size, at);
    EXPECT_EQ(Pgnos(tx), std::vector<uint32_t>(want.begin(), want.end()));
    for (const PageSource& p : tx.pages) {
      EXPECT_EQ(p.file, FileKind::kWal);
      EXPECT_EQ(BE32(wal, p.offset - 24), p.pgno) << "page source points at another frame";
    }
  }
  EXPECT_EQ(at, wal.size());
  EXPECT_TRUE(TakeAll(&capture).empty());
}

TEST(WalCapture, CommitFrameCountsOnceItsLastByteArrives) {
  TempDir dir;
  auto wal = MakeWal(dir, 0);  // one transaction: CREATE TABLE
  ASSERT_EQ(wal.size(), 32 + 2 * kFrame);
  WalCapture capture;
  capture.OnWrite(0, std::span(wal).first(32));
  capture.OnWrite(32, std::span(wal).subspan(32, kFrame));  // frame 1, whole
  const size_t commit_at = 32 + kFrame;
  capture.OnWrite(commit_at, std::span(wal).subspan(commit_at, 24));
  EXPECT_TRUE(TakeAll(&capture).empty()) << "commit taken before its page arrived";
  capture.OnWrite(commit_at + 24, std::span(wal).subspan(commit_at + 24, 1000));
  EXPECT_TRUE(TakeAll(&capture).empty()) << "commit taken with part of its page";
  capture.OnWrite(commit_at + 1024, std::span(wal).subspan(commit_at + 1024, kFrame - 1024));
  EXPECT_EQ(TakeAll(&capture).size(), 1u);
}

TEST(WalCapture, RolledBackFramesDoNotCompleteTheNextTransaction) {
  TempDir dir;
  auto wal = MakeWal(dir, 0);
  WalCapture capture;
  capture.OnWrite(0, std::span(wal).first(32));
  // A rolled-back transaction left two whole frames without a commit.
  std::vector<uint8_t> stale(wal.begin() + 32, wal.end());
  std::fill(stale.begin() + kFrame + 4, stale.begin() + kFrame + 8, 0);
  capture.OnWrite(32, stale);
  EXPECT_TRUE(TakeAll(&capture).empty());
  // The next transaction rewrites the same offsets; its commit frame's header
  // alone must not count, though the stale frame there was whole.
  capture.OnWrite(32, std::span(wal).subspan(32, kFrame));
  capture.OnWrite(32 + kFrame, std::span(wal).subspan(32 + kFrame, 24));
  EXPECT_TRUE(TakeAll(&capture).empty());
  capture.OnWrite(32 + kFrame + 24, std::span(wal).subspan(32 + kFrame + 24, 4096));
  auto txs = TakeAll(&capture);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(txs[0].commit, BE32(wal, 32 + kFrame + 4));
}

TEST(WalCapture, RewritingCapturedFrameHeadersChangesNothing) {
  TempDir dir;
  auto wal = MakeWal(dir, 1);
  WalCapture capture;
  Feed(&capture, wal, 4096);
  ASSERT_EQ(TakeAll(&capture).size(), 2u);
  // SQLite rewrites checksums of frames it wrote twice, after the commit.
  capture.OnWrite(32, std::span(wal).subspan(32, 24));
  capture.OnWrite(32 + kFrame, std::span(wal).subspan(32 + kFrame, 24));
  EXPECT_TRUE(TakeAll(&capture).empty());
}

TEST(WalCapture, FramesWithAnotherSaltAreIgnored) {
  TempDir dir;
  auto wal = MakeWal(dir, 0);
  WalCapture capture;
  capture.OnWrite(0, std::span(wal).first(32));
  std::vector<uint8_t> frames(wal.begin() + 32, wal.end());
  frames[8] ^= 0xff;  // salt-1 of frame 1
  capture.OnWrite(32, frames);
  EXPECT_TRUE(TakeAll(&capture).empty()) << "a transaction with a foreign frame was taken";
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
  EXPECT_EQ(TakeAll(&capture).size(), 5u);  // CREATE TABLE + 4 inserts
}

}  // namespace
}  // namespace walship::store
