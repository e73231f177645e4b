#include "store/wal_capture.h"

#include <gtest/gtest.h>

#include <set>

#include "env/env.h"
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

constexpr size_t kFrame = 4096 + 24;

uint32_t BE32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 | b[at + 3];
}

std::vector<uint32_t> Pgnos(const TxSpec& spec) {
  std::vector<uint32_t> out;
  for (const PageSource& p : spec.pages) out.push_back(p.pgno);
  return out;
}

// A WAL file being written, as walship's mount sees it: each write lands in
// the file and then goes to the capture.
class WalFile {
 public:
  explicit WalFile(const TempDir& dir) {
    auto f = env::Env::Posix()->Open(dir / "capture.wal", env::OpenMode::kCreateTruncate);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    file_ = std::move(*f);
  }
  void Write(size_t offset, std::span<const uint8_t> data) {
    EXPECT_TRUE(file_->WriteAt(offset, data).ok());
    capture.OnWrite(offset, data);
  }
  void Write(const std::vector<uint8_t>& wal, size_t offset, size_t n) {
    Write(offset, std::span(wal).subspan(offset, n));
  }
  // Writes `wal` the way the kernel passes SQLite's writes on: the header,
  // then each frame's header and page, every write cut at 4 KiB file offsets
  // (which splits some 24-byte frame headers in two).
  void Feed(const std::vector<uint8_t>& wal) {
    Write(wal, 0, 32);
    for (size_t off = 32; off + kFrame <= wal.size(); off += kFrame) {
      WriteSplit(wal, off, 24);
      WriteSplit(wal, off + 24, kFrame - 24);
    }
  }
  void WriteSplit(const std::vector<uint8_t>& wal, size_t pos, size_t n) {
    for (size_t end = pos + n; pos < end;) {
      size_t next = std::min(end, (pos / 4096 + 1) * 4096);
      Write(wal, pos, next - pos);
      pos = next;
    }
  }
  std::vector<TxSpec> TakeAll() {
    std::vector<TxSpec> out;
    while (true) {
      auto spec = capture.TakeNextCommitted(file_.get());
      EXPECT_TRUE(spec.ok()) << spec.status().ToString();
      if (!spec.ok() || !spec->has_value()) return out;
      out.push_back(**spec);
    }
  }
  env::File* file() { return file_.get(); }

  WalCapture capture;

 private:
  std::unique_ptr<env::File> file_;
};

TEST(WalCapture, TakesOneTransactionAtEachCommitWithItsPages) {
  TempDir dir;
  // Enough frames that some frame headers straddle a 4 KiB file offset.
  auto wal = MakeWal(dir, 200);
  WalFile f(dir);
  f.Feed(wal);
  ASSERT_TRUE(f.capture.has_header());
  std::vector<TxSpec> txs = f.TakeAll();
  ASSERT_EQ(txs.size(), 201u);  // CREATE TABLE + 200 inserts
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
  EXPECT_TRUE(f.TakeAll().empty());
}

// Passthrough: SQLite writes the file without walship seeing the writes;
// each look reads the new frames back in one read and keeps the bytes, so
// the commit's pages are not read a second time.
TEST(WalCapture, ReadBackHoldsTheCapturedPagesUntilTheFileChanges) {
  TempDir dir;
  auto wal = MakeWal(dir, 20);
  WalFile f(dir);
  ASSERT_TRUE(f.file()->WriteAt(0, wal).ok());
  ASSERT_TRUE(f.capture.Rescan(f.file(), 1).ok());
  std::vector<TxSpec> txs = f.TakeAll();
  ASSERT_EQ(txs.size(), 21u);
  for (const TxSpec& tx : txs) {
    for (const PageSource& p : tx.pages) {
      std::span<const uint8_t> page = f.capture.ReadBack(p.offset, 4096);
      ASSERT_EQ(page.size(), 4096u) << "page " << p.pgno;
      EXPECT_TRUE(std::equal(page.begin(), page.end(), wal.begin() + long(p.offset)))
          << "page " << p.pgno << " at " << p.offset;
    }
  }
  EXPECT_TRUE(f.capture.ReadBack(wal.size() - 4096, 4097).empty()) << "past the end";
  // The file may change once walship looks again: what was read is dropped.
  ASSERT_TRUE(f.capture.Rescan(f.file(), 2).ok());
  EXPECT_TRUE(f.capture.ReadBack(txs.back().pages.front().offset, 4096).empty());
}

TEST(WalCapture, CommitFrameCountsOnceItsLastByteArrives) {
  TempDir dir;
  auto wal = MakeWal(dir, 0);  // one transaction: CREATE TABLE
  ASSERT_EQ(wal.size(), 32 + 2 * kFrame);
  WalFile f(dir);
  f.Write(wal, 0, 32 + kFrame);  // header and frame 1, whole
  const size_t commit_at = 32 + kFrame;
  f.Write(wal, commit_at, 8);
  EXPECT_TRUE(f.TakeAll().empty()) << "commit taken from half its header";
  f.Write(wal, commit_at + 8, 16);
  EXPECT_TRUE(f.TakeAll().empty()) << "commit taken before its page arrived";
  f.Write(wal, commit_at + 24, 1000);
  EXPECT_TRUE(f.TakeAll().empty()) << "commit taken with part of its page";
  f.Write(wal, commit_at + 1024, kFrame - 1024);
  EXPECT_EQ(f.TakeAll().size(), 1u);
}

TEST(WalCapture, RolledBackFramesDoNotCompleteTheNextTransaction) {
  TempDir dir;
  auto wal = MakeWal(dir, 0);
  WalFile f(dir);
  f.Write(wal, 0, 32);
  // A rolled-back transaction left two whole frames without a commit, the
  // second with another image of its page.
  std::vector<uint8_t> stale = wal;
  std::fill(stale.begin() + 32 + kFrame + 4, stale.begin() + 32 + kFrame + 8, 0);
  stale[32 + kFrame + 24 + 100] ^= 0x5a;
  f.Write(stale, 32, 2 * kFrame);
  EXPECT_TRUE(f.TakeAll().empty());
  // The next transaction rewrites the same offsets; its commit frame's header
  // alone must not count, though the stale frame there was whole.
  f.Write(wal, 32, kFrame);
  f.Write(wal, 32 + kFrame, 24);
  EXPECT_TRUE(f.TakeAll().empty());
  f.Write(wal, 32 + kFrame + 24, 4096);
  auto txs = f.TakeAll();
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(txs[0].commit, BE32(wal, 32 + kFrame + 4));
}

TEST(WalCapture, RewritingCapturedFrameHeadersChangesNothing) {
  TempDir dir;
  auto wal = MakeWal(dir, 1);
  WalFile f(dir);
  f.Feed(wal);
  ASSERT_EQ(f.TakeAll().size(), 2u);
  f.Write(wal, 32, 24);
  f.Write(wal, 32 + kFrame, 24);
  EXPECT_TRUE(f.TakeAll().empty());
}

TEST(WalCapture, FramesWithAnotherSaltAreIgnored) {
  TempDir dir;
  auto wal = MakeWal(dir, 0);
  WalFile f(dir);
  f.Write(wal, 0, 32);
  std::vector<uint8_t> foreign = wal;
  foreign[32 + 8] ^= 0xff;  // salt-1 of frame 1
  f.Write(foreign, 32, 2 * kFrame);
  EXPECT_TRUE(f.TakeAll().empty()) << "a transaction with a foreign frame was taken";
}

TEST(WalCapture, RestoreTakesTheCommittedFramesAfterTheCapturedOnes) {
  TempDir dir;
  auto wal = MakeWal(dir, 4);  // CREATE TABLE (2 frames) + 4 one-frame inserts
  WalFile f(dir);
  ASSERT_TRUE(f.file()->WriteAt(0, wal).ok());
  auto header = sqlite::ParseWalHeader(std::span(wal).first(32));
  ASSERT_TRUE(header.ok());
  // Start-up after the first two transactions were recorded.
  f.capture.Restore(*header, 32 + 3 * kFrame, {});
  auto txs = f.TakeAll();
  ASSERT_EQ(txs.size(), 3u);
  EXPECT_EQ(txs[0].wal_offset, 32 + 3 * kFrame);
  EXPECT_EQ(txs[2].wal_offset + txs[2].wal_size, wal.size());
}

TEST(WalCapture, TruncationBelowTheCapturedFramesWaitsForANewHeader) {
  TempDir dir;
  auto wal = MakeWal(dir, 2);
  WalFile f(dir);
  f.Feed(wal);
  ASSERT_EQ(f.TakeAll().size(), 3u);
  f.capture.OnTruncate(0);
  EXPECT_FALSE(f.capture.has_header());
  EXPECT_FALSE(f.capture.FindPage(1).has_value());
  f.Write(wal, 32, kFrame);  // frames without a header count for nothing
  EXPECT_TRUE(f.TakeAll().empty());
}

// The write fence's question comes after the transaction was read back (a
// commit read after the fence closed may have been made after it), and a
// refusal leaves the transaction to be taken later, whole.
TEST(WalCapture, AnAdmissionAskedAfterTheReadCanLeaveTheTransactionForLater) {
  TempDir dir;
  auto wal = MakeWal(dir, 2);
  WalFile f(dir);
  f.Feed(wal);
  int asked = 0;
  uint64_t captured_when_asked = 0;
  auto refuse = [&] {
    asked++;
    captured_when_asked = f.capture.captured_end();
    return Status::LeaseExpired("the fence is closed");
  };
  auto refused = f.capture.TakeNextCommitted(f.file(), refuse);
  EXPECT_TRUE(refused.status().IsLeaseExpired()) << refused.status().ToString();
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(captured_when_asked, uint64_t(sqlite::kWalHeaderSize)) << "asked after marking";
  EXPECT_EQ(f.capture.captured_end(), uint64_t(sqlite::kWalHeaderSize));
  EXPECT_TRUE(f.capture.IndexedPages().empty());
  // Admitted later: the same three transactions, from the first.
  std::vector<TxSpec> txs = f.TakeAll();
  ASSERT_EQ(txs.size(), 3u);
  EXPECT_EQ(txs.front().wal_offset, uint64_t(sqlite::kWalHeaderSize));
  // Nothing committed to take: not asked.
  auto none = f.capture.TakeNextCommitted(f.file(), refuse);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(asked, 1);
}

}  // namespace
}  // namespace walship::store
