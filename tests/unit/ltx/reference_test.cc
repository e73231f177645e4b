// LTX files written by the reference implementation (superfly/ltx), not by
// walship (tests/golden/ltx-reference/README.md): walship's decoder reads
// them, verifies their checksums, and finds the pages, header and trailer the
// reference wrote; walship's page and database checksums agree with the
// reference's on the same pages.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "ltx/checksum.h"
#include "ltx_test_util.h"

#ifndef WALSHIP_REFERENCE_DIR
#error "WALSHIP_REFERENCE_DIR must name tests/golden/ltx-reference"
#endif

namespace walship::ltx {
namespace {

using testing::Decoded;
using testing::DecodeFile;

// The page contents of README.md's table.
std::string Page(uint32_t page_size, int (*byte_at)(int)) {
  std::string page(page_size, '\0');
  for (uint32_t i = 0; i < page_size; i++) page[i] = char(byte_at(int(i)));
  return page;
}
const std::string kPage1 = Page(4096, [](int i) { return (i * 7 + 1) % 256; });
const std::string kPage2Old = Page(4096, [](int) { return 0x42; });
const std::string kPage3 = Page(4096, [](int i) { return 255 - i % 256; });
const std::string kPage2New = Page(4096, [](int i) { return (i * 13 + 5) % 256; });

std::string Read(const std::string& name) {
  std::ifstream in(std::string(WALSHIP_REFERENCE_DIR) + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t Checksum(uint32_t pgno, const std::string& page) {
  return PageChecksum(pgno, {reinterpret_cast<const uint8_t*>(page.data()), page.size()});
}

TEST(LtxReference, SnapshotDecodesToTheReferencesPagesAndChecksums) {
  Result<Decoded> d = DecodeFile(Read("snapshot-4096.ltx"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  Header want;
  want.page_size = 4096;
  want.commit = 3;
  want.min_txid = 1;
  want.max_txid = 1;
  want.timestamp_ms = 1767225600000;
  want.node_id = 1;
  EXPECT_EQ(d->header, want);
  EXPECT_TRUE(d->header.IsSnapshot());
  EXPECT_EQ(d->pages, (std::map<uint32_t, std::string>{{1, kPage1}, {2, kPage2Old}, {3, kPage3}}));
  EXPECT_EQ(d->trailer.post_apply_checksum, 0xc9ebd33187d31b7eULL);
  EXPECT_EQ(d->trailer.file_checksum, 0xde487b9d2166a46bULL);
  EXPECT_EQ(d->index, (std::vector<PageIndexEntry>{{1, 100, 303}, {2, 403, 48}, {3, 451, 303}}));
  // walship's checksums of the same pages give the reference's value.
  uint64_t sum = kChecksumFlag;
  sum = ChecksumXor(sum, Checksum(1, kPage1));
  sum = ChecksumXor(sum, Checksum(2, kPage2Old));
  sum = ChecksumXor(sum, Checksum(3, kPage3));
  EXPECT_EQ(sum, d->trailer.post_apply_checksum);
}

TEST(LtxReference, IncrementDecodesAndRollsTheChecksumLikeTheReference) {
  Result<Decoded> d = DecodeFile(Read("increment-4096.ltx"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  Header want;
  want.page_size = 4096;
  want.commit = 3;
  want.min_txid = 2;
  want.max_txid = 2;
  want.timestamp_ms = 1767225601000;
  want.pre_apply_checksum = 0xc9ebd33187d31b7eULL;
  want.wal_offset = 32;
  want.wal_size = 4120;
  want.wal_salt1 = 0x01020304;
  want.wal_salt2 = 0x05060708;
  want.node_id = 1;
  EXPECT_EQ(d->header, want);
  EXPECT_EQ(d->pages, (std::map<uint32_t, std::string>{{2, kPage2New}}));
  EXPECT_EQ(d->trailer.file_checksum, 0x8abb3ff94482a529ULL);
  const uint64_t rolled =
      ChecksumXor(ChecksumXor(want.pre_apply_checksum, Checksum(2, kPage2Old)),
                  Checksum(2, kPage2New));
  EXPECT_EQ(rolled, 0xe79948ebb1dec9efULL);
  EXPECT_EQ(d->trailer.post_apply_checksum, rolled);
}

// A flipped bit anywhere in a reference file is refused by walship's
// decoder, or (in an LZ4 payload, docs/ltx.md) decodes to the very same pages.
TEST(LtxReference, AFlippedBitIsRefusedOrChangesNothing) {
  const std::string file = Read("increment-4096.ltx");
  ASSERT_EQ(file.size(), 438u);
  Result<Decoded> good = DecodeFile(file);
  ASSERT_TRUE(good.ok());
  int harmless = 0;
  for (size_t at = 0; at < file.size(); at++) {
    for (int bit = 0; bit < 8; bit++) {
      std::string bad = file;
      bad[at] = char(bad[at] ^ (1 << bit));
      Result<Decoded> d = DecodeFile(bad);
      if (!d.ok()) continue;
      harmless++;
      EXPECT_TRUE(at >= 110 && at < 403) << "byte " << at << " bit " << bit
                                         << " flipped outside the LZ4 payload and decoded";
      EXPECT_EQ(d->pages, good->pages) << "byte " << at << " bit " << bit;
      EXPECT_EQ(d->header, good->header);
      EXPECT_EQ(d->trailer, good->trailer);
    }
  }
  EXPECT_LT(harmless, 40) << "too many flips decode: the checksums do not cover the file";
}

}  // namespace
}  // namespace walship::ltx
