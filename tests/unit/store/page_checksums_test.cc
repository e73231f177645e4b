#include "store/page_checksums.h"

#include <gtest/gtest.h>

#include <vector>

#include "ltx/checksum.h"
#include "ltx/format.h"

namespace walship::store {
namespace {

std::vector<uint8_t> Page(uint32_t size, uint8_t fill) { return std::vector<uint8_t>(size, fill); }

// The checksum recomputed from scratch for pages[i] = page i+1.
uint64_t FromScratch(const std::vector<std::vector<uint8_t>>& pages) {
  if (pages.empty()) return 0;
  uint64_t x = 0;
  for (size_t i = 0; i < pages.size(); i++) x ^= ltx::PageChecksum(uint32_t(i + 1), pages[i]);
  return x | ltx::kChecksumFlag;
}

TEST(PageChecksums, EmptyDatabaseIsZero) {
  PageChecksums c;
  c.Reset(4096);
  EXPECT_EQ(c.DatabaseChecksum(), 0u);
}

TEST(PageChecksums, RollingUpdateEqualsRecomputation) {
  PageChecksums c;
  c.Reset(512);
  std::vector<std::vector<uint8_t>> pages;
  for (uint8_t i = 0; i < 5; i++) {
    pages.push_back(Page(512, i + 1));
    c.Set(i + 1, ltx::PageChecksum(i + 1, pages.back()));
  }
  EXPECT_EQ(c.DatabaseChecksum(), FromScratch(pages));
  pages[2] = Page(512, 0x77);
  c.Set(3, ltx::PageChecksum(3, pages[2]));
  EXPECT_EQ(c.DatabaseChecksum(), FromScratch(pages));
  c.Resize(3);
  pages.resize(3);
  EXPECT_EQ(c.DatabaseChecksum(), FromScratch(pages));
}

TEST(PageChecksums, GrowingCountsHolesAsZeroPages) {
  PageChecksums c;
  c.Reset(1024);
  c.Set(3, ltx::PageChecksum(3, Page(1024, 9)));
  std::vector<std::vector<uint8_t>> pages = {Page(1024, 0), Page(1024, 0), Page(1024, 9)};
  EXPECT_EQ(c.page_count(), 3u);
  EXPECT_EQ(c.DatabaseChecksum(), FromScratch(pages));
}

TEST(PageChecksums, LockPageNeverCounts) {
  PageChecksums c;
  c.Reset(65536);
  const uint32_t lock = ltx::LockPgno(65536);
  c.Set(lock, 12345);
  EXPECT_EQ(c.Get(lock), 0u);
  c.Resize(lock + 1);
  EXPECT_EQ(c.Get(lock), 0u);
}

}  // namespace
}  // namespace walship::store
