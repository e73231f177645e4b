#include "ltx/merge.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "ltx/checksum.h"
#include "ltx/decoder.h"
#include "ltx/encoder.h"
#include "ltx/io.h"

namespace walship::ltx {
namespace {

constexpr uint32_t kPageSize = 512;

std::string Page(char fill, uint32_t size = kPageSize) { return std::string(size, fill); }

uint64_t PageSum(uint32_t pgno, const std::string& p) {
  return PageChecksum(pgno, std::span(reinterpret_cast<const uint8_t*>(p.data()), p.size()));
}

// A tiny in-memory database and the LTX files of its transactions.
struct Model {
  std::map<uint32_t, std::string> pages;
  uint64_t txid = 0;
  uint64_t checksum = 0;
  uint32_t page_size = kPageSize;

  std::string Commit(std::map<uint32_t, std::string> writes, uint32_t commit) {
    Header h{};
    h.page_size = page_size;
    h.commit = commit;
    h.min_txid = h.max_txid = txid + 1;
    h.timestamp_ms = 1000 + int64_t(txid);
    h.pre_apply_checksum = txid == 0 ? 0 : checksum;
    uint64_t sum = txid == 0 ? kChecksumFlag : checksum;
    if (!writes.empty() && writes.begin()->second.size() != page_size) {
      // A new page size (VACUUM): every page is rewritten.
      page_size = h.page_size = uint32_t(writes.begin()->second.size());
      pages.clear();
      sum = kChecksumFlag;
    }
    for (auto& [pgno, data] : writes) {
      if (pages.count(pgno)) sum = ChecksumXor(sum, PageSum(pgno, pages[pgno]));
      pages[pgno] = data;
      sum = ChecksumXor(sum, PageSum(pgno, data));
    }
    for (auto it = pages.upper_bound(commit); it != pages.end();) {
      sum = ChecksumXor(sum, PageSum(it->first, it->second));
      it = pages.erase(it);
    }
    std::string out;
    StringWriter w(&out);
    Encoder enc(&w);
    EXPECT_TRUE(enc.EncodeHeader(h).ok());
    for (auto& [pgno, data] : writes) {
      if (pgno <= commit) {
        EXPECT_TRUE(enc.EncodePage(pgno, std::span(reinterpret_cast<const uint8_t*>(data.data()),
                                                   data.size())).ok());
      }
    }
    EXPECT_TRUE(enc.Finish(sum).ok());
    txid++;
    checksum = sum;
    return out;
  }
};

TEST(Merge, KeepsLastVersionOfEachPageAndTheChecksums) {
  Model m;
  std::string f1 = m.Commit({{1, Page('a')}, {2, Page('b')}, {3, Page('c')}}, 3);
  const uint64_t after1 = m.checksum;
  std::string f2 = m.Commit({{2, Page('B')}, {4, Page('d')}}, 4);
  std::string f3 = m.Commit({{1, Page('A')}}, 2);  // shrinks to 2 pages
  auto merged = Merge({f2, f3});
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  SpanReader r(*merged);
  Header h;
  Trailer t;
  ASSERT_TRUE(Verify(&r, &h, &t).ok());
  EXPECT_EQ(h.min_txid, 2u);
  EXPECT_EQ(h.max_txid, 3u);
  EXPECT_EQ(h.commit, 2u);
  EXPECT_EQ(h.pre_apply_checksum, after1);
  EXPECT_EQ(t.post_apply_checksum, m.checksum);
  // Page 4 was cut off by the shrink; pages 1 and 2 are the last versions.
  SpanReader r2(*merged);
  Decoder dec(&r2);
  ASSERT_TRUE(dec.DecodeHeader().ok());
  uint32_t pgno;
  std::span<const uint8_t> page;
  std::vector<std::pair<uint32_t, char>> seen;
  while (*dec.DecodePage(&pgno, &page)) seen.emplace_back(pgno, page[0]);
  EXPECT_EQ(seen, (std::vector<std::pair<uint32_t, char>>{{1, 'A'}, {2, 'B'}}));
}

TEST(Merge, FromASnapshotIsASnapshot) {
  Model m;
  std::string f1 = m.Commit({{1, Page('a')}, {2, Page('b')}}, 2);
  std::string f2 = m.Commit({{3, Page('c')}}, 3);
  auto merged = Merge({f1, f2});
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  SpanReader r(*merged);
  Header h;
  Trailer t;
  ASSERT_TRUE(Verify(&r, &h, &t).ok());
  EXPECT_TRUE(h.IsSnapshot());
  EXPECT_EQ(t.post_apply_checksum, m.checksum);
}

TEST(Merge, RejectsAGap) {
  Model m;
  std::string f1 = m.Commit({{1, Page('a')}}, 1);
  m.Commit({{1, Page('b')}}, 1);
  std::string f3 = m.Commit({{1, Page('c')}}, 1);
  EXPECT_FALSE(Merge({f1, f3}).ok());
}

TEST(Merge, RejectsABrokenChecksumChain) {
  Model m, other;
  m.Commit({{1, Page('a')}}, 1);
  std::string f2 = m.Commit({{1, Page('b')}}, 1);
  other.Commit({{1, Page('x')}}, 1);
  other.Commit({{1, Page('y')}}, 1);
  std::string g3 = other.Commit({{1, Page('z')}}, 1);
  auto merged = Merge({f2, g3});
  ASSERT_FALSE(merged.ok());
  EXPECT_TRUE(merged.status().IsCorruption());
}

// The pages a merged file holds, by page number.
std::map<uint32_t, std::string> MergedPages(const std::string& merged) {
  SpanReader r(merged);
  Decoder dec(&r);
  EXPECT_TRUE(dec.DecodeHeader().ok());
  std::map<uint32_t, std::string> out;
  uint32_t pgno;
  std::span<const uint8_t> page;
  while (*dec.DecodePage(&pgno, &page)) out[pgno].assign(page.begin(), page.end());
  EXPECT_TRUE(dec.Finish().ok());
  return out;
}

// Random runs that grow, shrink and rewrite, merged from trusted and from
// verified inputs: the merged file applied to the state before the run gives
// the state after it, and says so in its checksums.
TEST(Merge, AppliedOverTheStateBeforeTheRunGivesTheStateAfterIt) {
  std::mt19937 rng(5);
  for (int round = 0; round < 100; round++) {
    Model m;
    uint32_t commit = 1 + rng() % 10;
    std::map<uint32_t, std::string> first;
    for (uint32_t p = 1; p <= commit; p++) first[p] = Page(char('a' + rng() % 26));
    m.Commit(first, commit);
    const std::map<uint32_t, std::string> before = m.pages;
    std::vector<std::string> files;
    for (size_t n = 1 + rng() % 8; n > 0; n--) {
      const uint32_t was = commit;
      if (rng() % 3 == 0) commit = 1 + rng() % 10;
      std::map<uint32_t, std::string> writes;
      for (uint32_t p = 1; p <= commit; p++) {
        // A database that grows writes its new pages, as SQLite does.
        if (p > was || rng() % 3 == 0) writes[p] = Page(char('A' + rng() % 26));
      }
      files.push_back(m.Commit(writes, commit));
    }
    const std::vector<std::string_view> views(files.begin(), files.end());
    for (MergeInputs inputs : {MergeInputs::kVerify, MergeInputs::kTrusted}) {
      auto merged = Merge(views, true, inputs);
      ASSERT_TRUE(merged.ok()) << merged.status().ToString();
      SpanReader r(*merged);
      Header h;
      Trailer t;
      ASSERT_TRUE(Verify(&r, &h, &t).ok()) << "round " << round;
      std::map<uint32_t, std::string> state = before;
      for (auto& [pgno, data] : MergedPages(*merged)) state[pgno] = data;
      state.erase(state.upper_bound(h.commit), state.end());
      EXPECT_EQ(state, m.pages) << "round " << round;
      EXPECT_EQ(t.post_apply_checksum, m.checksum);
    }
  }
}

TEST(Merge, AChangeOfPageSizeLeavesOnlyThePagesAfterIt) {
  Model m;
  m.Commit({{1, Page('a')}, {2, Page('b')}, {3, Page('c')}}, 3);
  std::string f2 = m.Commit({{3, Page('C')}}, 3);
  std::string f3 = m.Commit({{1, Page('x', 1024)}, {2, Page('y', 1024)}}, 2);  // VACUUM
  std::string f4 = m.Commit({{2, Page('Y', 1024)}}, 2);
  auto merged = Merge({f2, f3, f4}, true, MergeInputs::kTrusted);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(MergedPages(*merged),
            (std::map<uint32_t, std::string>{{1, Page('x', 1024)}, {2, Page('Y', 1024)}}));
}

// Verified inputs are checked whole, even where a page does not survive.
TEST(Merge, VerifiedInputsMustBeIntactWhereTheirPagesAreOverwritten) {
  Model m;
  m.Commit({{1, Page('a')}}, 1);
  std::string f2 = m.Commit({{1, Page('b')}}, 1);
  std::string f3 = m.Commit({{1, Page('c')}}, 1);
  f2[ltx::kHeaderSize + 12] ^= 0x01;  // inside page 1's LZ4 block
  EXPECT_TRUE(Merge({f2, f3}, true, MergeInputs::kTrusted).ok());
  auto merged = Merge({f2, f3}, true, MergeInputs::kVerify);
  ASSERT_FALSE(merged.ok());
  EXPECT_NE(merged.status().message().find("merge: file 0"), std::string::npos)
      << merged.status().ToString();
}

}  // namespace
}  // namespace walship::ltx
