// WAL header and frame codecs, checked against a WAL written by SQLite.
#include "sqlite/wal.h"

#include <gtest/gtest.h>

#include "base/coding.h"
#include "wal_fixture.h"

namespace walship::sqlite {
namespace {

using testing::Bytes;
using testing::ReadBytes;
using testing::TempDir;
using testing::WalDb;

Bytes RealWal(const TempDir& dir) {
  WalDb w(dir, 4096);
  w.InsertAndUpdate(20, 500);
  return ReadBytes(w.wal_path);
}

TEST(WalChecksum, WordOrderFollowsFlag) {
  const uint8_t data[8] = {1, 0, 0, 0, 2, 0, 0, 0};
  uint32_t le[2] = {0, 0};
  WalChecksum(false, data, le);
  EXPECT_EQ(le[0], 1u);
  EXPECT_EQ(le[1], 3u);  // 2 + s0
  uint32_t be[2] = {0, 0};
  WalChecksum(true, data, be);
  EXPECT_EQ(be[0], 0x01000000u);
  EXPECT_EQ(be[1], 0x03000000u);
}

TEST(WalHeader, ParsesSqliteHeaderAndReencodesIt) {
  TempDir dir;
  Bytes wal = RealWal(dir);
  auto h = ParseWalHeader(wal);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->page_size, 4096u);
  EXPECT_EQ(h->version, kWalVersion);
  auto again = EncodeWalHeader(*h);
  EXPECT_TRUE(std::equal(again.begin(), again.end(), wal.begin()));
}

TEST(WalHeader, RejectsTruncated) {
  TempDir dir;
  Bytes wal = RealWal(dir);
  auto h = ParseWalHeader(std::span<const uint8_t>(wal).first(31));
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("truncated"), std::string::npos);
}

TEST(WalHeader, RejectsBadMagic) {
  TempDir dir;
  Bytes wal = RealWal(dir);
  wal[0] ^= 0x10;
  auto h = ParseWalHeader(wal);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("magic"), std::string::npos);
}

TEST(WalHeader, RejectsBadChecksum) {
  TempDir dir;
  Bytes wal = RealWal(dir);
  wal[13] ^= 0x01;  // checkpoint sequence
  auto h = ParseWalHeader(wal);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("checksum"), std::string::npos);
}

TEST(WalHeader, RejectsBadPageSizeEvenWithValidChecksum) {
  TempDir dir;
  Bytes wal = RealWal(dir);
  auto h = ParseWalHeader(wal);
  ASSERT_TRUE(h.ok());
  h->page_size = 1000;
  auto raw = EncodeWalHeader(*h);
  auto bad = ParseWalHeader(raw);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("page size"), std::string::npos);
}

// The frame header fields and checksum chain of SQLite's first frames.
TEST(WalFrame, VerifiesAndReencodesSqliteFrames) {
  TempDir dir;
  Bytes wal = RealWal(dir);
  auto h = ParseWalHeader(wal);
  ASSERT_TRUE(h.ok());
  uint32_t verify[2] = {h->checksum1, h->checksum2};
  uint32_t encode[2] = {h->checksum1, h->checksum2};
  int commits = 0;
  for (uint64_t i = 0; WalFrameOffset(4096, i + 1) <= wal.size(); i++) {
    const uint64_t off = WalFrameOffset(4096, i);
    std::span<const uint8_t> fh(&wal[off], kWalFrameHeaderSize);
    std::span<const uint8_t> page(&wal[off + kWalFrameHeaderSize], 4096);
    ASSERT_TRUE(VerifyWalFrame(*h, fh, page, verify)) << "frame " << i;
    WalFrameHeader f = ParseWalFrameHeader(fh);
    EXPECT_EQ(f.salt1, h->salt1);
    EXPECT_EQ(f.salt2, h->salt2);
    EXPECT_EQ(f.checksum1, verify[0]);
    EXPECT_EQ(f.checksum2, verify[1]);
    uint8_t again[kWalFrameHeaderSize];
    EncodeWalFrameHeader(*h, f.pgno, f.commit, page, encode, again);
    EXPECT_TRUE(std::equal(fh.begin(), fh.end(), again)) << "frame " << i;
    commits += f.is_commit();
  }
  EXPECT_EQ(commits, 2);  // CREATE TABLE and the insert
}

TEST(WalFrame, VerifyLeavesChecksumOnFailure) {
  TempDir dir;
  Bytes wal = RealWal(dir);
  auto h = ParseWalHeader(wal);
  ASSERT_TRUE(h.ok());
  const uint64_t off = WalFrameOffset(4096, 0);
  wal[off + kWalFrameHeaderSize + 7] ^= 0x40;
  uint32_t cksum[2] = {h->checksum1, h->checksum2};
  EXPECT_FALSE(VerifyWalFrame(*h, std::span<const uint8_t>(&wal[off], 24),
                              std::span<const uint8_t>(&wal[off + 24], 4096), cksum));
  EXPECT_EQ(cksum[0], h->checksum1);
  EXPECT_EQ(cksum[1], h->checksum2);
}

}  // namespace
}  // namespace walship::sqlite
