// ReceivedLtx: what a replica keeps of a file it verified (the decoded
// pages, up to a bound) and that verification rejects the same files either
// way.
#include "store/received_ltx.h"

#include <gtest/gtest.h>

#include "../ltx/ltx_test_util.h"
#include "ltx/checksum.h"

namespace walship::store {
namespace {

using ltx::testing::Bytes;
using ltx::testing::EncodeFile;
using ltx::testing::MakeHeader;
using ltx::testing::MakePage;

TEST(ReceivedLtx, KeptPagesAreTheFilesPagesWithTheirChecksums) {
  const std::map<uint32_t, std::string> pages = {{1, MakePage(4096, 1, 3, true)},
                                                 {7, MakePage(4096, 7, 3, false)},
                                                 {9, MakePage(4096, 9, 3, true)}};
  const std::string file = EncodeFile(MakeHeader(4096, 9, 4, 4), pages);
  Result<ReceivedLtx> received = ReceivedLtxFromBytes(file, "f", KeepPages::kYes);
  ASSERT_TRUE(received.ok()) << received.status().ToString();
  ASSERT_TRUE(received->pages_kept);
  ASSERT_EQ(received->pages.size(), pages.size());
  size_t i = 0;
  for (const auto& [pgno, page] : pages) {
    EXPECT_EQ(received->pages[i].pgno, pgno);
    EXPECT_EQ(received->pages[i].checksum, ltx::PageChecksum(pgno, Bytes(page)));
    const std::span<const uint8_t> kept = received->PageBytes(i);
    EXPECT_EQ(std::string(kept.begin(), kept.end()), page) << "page " << pgno;
    i++;
  }
  EXPECT_EQ(received->bytes, file);
  EXPECT_EQ(received->HeldBytes(), file.size() + 3 * 4096);

  Result<ReceivedLtx> plain = ReceivedLtxFromBytes(file, "f");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->pages_kept);
  EXPECT_TRUE(plain->page_bytes.empty());
  EXPECT_EQ(plain->header, received->header);
  EXPECT_EQ(plain->trailer, received->trailer);
}

TEST(ReceivedLtx, PagesPastTheBoundAreNotKept) {
  std::map<uint32_t, std::string> pages;
  const uint32_t count = ReceivedLtx::kKeptPagesLimit / 4096 + 1;
  for (uint32_t pgno = 1; pgno <= count; pgno++) pages[pgno] = MakePage(4096, pgno, 1, true);
  Result<ReceivedLtx> received =
      ReceivedLtxFromBytes(EncodeFile(MakeHeader(4096, count, 2, 2), pages), "f", KeepPages::kYes);
  ASSERT_TRUE(received.ok()) << received.status().ToString();
  EXPECT_FALSE(received->pages_kept);
  EXPECT_TRUE(received->pages.empty());
  EXPECT_TRUE(received->page_bytes.empty());
}

TEST(ReceivedLtx, DamageIsRejectedWhetherPagesAreKeptOrNot) {
  std::string file = EncodeFile(MakeHeader(4096, 3, 2, 2), {{2, MakePage(4096, 2, 5, true)}});
  file[file.size() - 20] ^= 1;  // in the page index
  for (KeepPages keep : {KeepPages::kNo, KeepPages::kYes}) {
    Result<ReceivedLtx> received = ReceivedLtxFromBytes(file, "file x", keep);
    ASSERT_FALSE(received.ok());
    EXPECT_TRUE(received.status().IsCorruption()) << received.status().ToString();
    EXPECT_NE(received.status().ToString().find("file x"), std::string::npos);
  }
}

}  // namespace
}  // namespace walship::store
