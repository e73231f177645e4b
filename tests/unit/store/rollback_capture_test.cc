#include "store/rollback_capture.h"

#include <gtest/gtest.h>

namespace walship::store {
namespace {

TEST(RollbackCapture, PagesFromByteRanges) {
  RollbackCapture c;
  EXPECT_FALSE(c.dirty());
  c.OnWrite(0, 4096);
  c.OnWrite(4096 * 5, 100);      // part of page 6
  c.OnWrite(4096 * 2 - 1, 2);    // straddles pages 2 and 3
  EXPECT_TRUE(c.dirty());
  TxSpec spec = c.Take(4096, 10);
  std::vector<uint32_t> pgnos;
  for (const auto& p : spec.pages) pgnos.push_back(p.pgno);
  EXPECT_EQ(pgnos, (std::vector<uint32_t>{1, 2, 3, 6}));
  EXPECT_EQ(spec.pages[3].offset, 4096u * 5);
  EXPECT_FALSE(c.dirty());
}

TEST(RollbackCapture, PagesBeyondCommitAreDropped) {
  RollbackCapture c;
  c.OnWrite(0, 4096 * 8);
  TxSpec spec = c.Take(4096, 3);
  EXPECT_EQ(spec.pages.size(), 3u);
  EXPECT_EQ(spec.commit, 3u);
}

TEST(RollbackCapture, TruncateAloneIsDirty) {
  RollbackCapture c;
  c.OnTruncate();
  EXPECT_TRUE(c.dirty());
  c.Clear();
  EXPECT_FALSE(c.dirty());
}

}  // namespace
}  // namespace walship::store
