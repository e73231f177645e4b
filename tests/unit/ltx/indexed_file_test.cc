#include "ltx/indexed_file.h"

#include <gtest/gtest.h>

#include "base/coding.h"
#include "ltx_test_util.h"

namespace walship::ltx {
namespace {

using testing::EncodeFile;
using testing::MakeHeader;
using testing::MakePage;

std::string ThreePages() {
  return EncodeFile(MakeHeader(1024, 9, 4, 4), {{2, MakePage(1024, 2, 1, true)},
                                                {5, MakePage(1024, 5, 1, false)},
                                                {9, MakePage(1024, 9, 1, true)}});
}

TEST(IndexedFile, ReadsEachPageThroughTheIndex) {
  const std::string file = ThreePages();
  auto f = IndexedFile::Open(file);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->header().max_txid, 4u);
  ASSERT_EQ(f->index().size(), 3u);
  std::vector<uint8_t> page(1024);
  for (const PageIndexEntry& e : f->index()) {
    ASSERT_TRUE(f->ReadPage(e, page).ok());
    const std::string want = MakePage(1024, e.pgno, 1, e.pgno != 5);
    EXPECT_EQ(std::string(page.begin(), page.end()), want) << "page " << e.pgno;
  }
}

TEST(IndexedFile, RefusesAnIndexThatDoesNotFit) {
  std::string file = ThreePages();
  const size_t size_at = file.size() - kTrailerSize - 8;
  std::string bad = file;
  PutBE64(reinterpret_cast<uint8_t*>(bad.data() + size_at), file.size());
  auto f = IndexedFile::Open(bad);
  ASSERT_FALSE(f.ok());
  EXPECT_TRUE(f.status().IsCorruption()) << f.status().ToString();
  EXPECT_NE(f.status().message().find("page index size"), std::string::npos);
  EXPECT_FALSE(IndexedFile::Open(std::string_view(file).substr(0, 120)).ok());
}

TEST(IndexedFile, RefusesAPageWhoseFrameDisagreesWithTheIndex) {
  std::string file = ThreePages();
  auto f = IndexedFile::Open(file);
  ASSERT_TRUE(f.ok());
  PageIndexEntry e = f->index()[1];
  e.pgno = 6;  // the frame there is page 5's
  std::vector<uint8_t> page(1024);
  Status st = f->ReadPage(e, page);
  EXPECT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_NE(st.message().find("page 6"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace walship::ltx
