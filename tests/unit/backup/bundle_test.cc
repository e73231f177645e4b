#include "backup/bundle.h"

#include <gtest/gtest.h>

#include <map>

#include "backup/layout.h"
#include "ltx/checksum.h"
#include "ltx/decoder.h"
#include "ltx/encoder.h"
#include "ltx/io.h"

namespace walship::backup {
namespace {

constexpr uint32_t kPageSize = 512;

std::string Page(char fill) { return std::string(kPageSize, fill); }

uint64_t PageSum(uint32_t pgno, const std::string& p) {
  return ltx::PageChecksum(pgno, std::span(reinterpret_cast<const uint8_t*>(p.data()), p.size()));
}

// A tiny in-memory database and the LTX files of its transactions.
struct Model {
  std::map<uint32_t, std::string> pages;
  uint64_t txid = 0;
  uint64_t checksum = 0;

  std::string Commit(std::map<uint32_t, std::string> writes, uint32_t commit) {
    ltx::Header h{};
    h.page_size = kPageSize;
    h.commit = commit;
    h.min_txid = h.max_txid = txid + 1;
    h.timestamp_ms = 1000 + int64_t(txid);
    h.pre_apply_checksum = txid == 0 ? 0 : checksum;
    uint64_t sum = txid == 0 ? ltx::kChecksumFlag : checksum;
    for (auto& [pgno, data] : writes) {
      if (pages.count(pgno)) sum = ltx::ChecksumXor(sum, PageSum(pgno, pages[pgno]));
      pages[pgno] = data;
      sum = ltx::ChecksumXor(sum, PageSum(pgno, data));
    }
    for (auto it = pages.upper_bound(commit); it != pages.end();) {
      sum = ltx::ChecksumXor(sum, PageSum(it->first, it->second));
      it = pages.erase(it);
    }
    std::string out;
    ltx::StringWriter w(&out);
    ltx::Encoder enc(&w);
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

TEST(Bundle, RoundTrip) {
  auto payload = EncodeBundle({"abc", "", "defgh"});
  auto files = DecodeBundle(payload);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0], "abc");
  EXPECT_EQ((*files)[1], "");
  EXPECT_EQ((*files)[2], "defgh");
}

TEST(Bundle, TruncatedIsCorruption) {
  auto payload = EncodeBundle({"abcdef"});
  payload.pop_back();
  EXPECT_TRUE(DecodeBundle(payload).status().IsCorruption());
  EXPECT_TRUE(DecodeBundle("").status().IsCorruption());
}

TEST(MergeLtx, KeepsLastVersionOfEachPageAndTheChecksums) {
  Model m;
  std::string f1 = m.Commit({{1, Page('a')}, {2, Page('b')}, {3, Page('c')}}, 3);
  const uint64_t after1 = m.checksum;
  std::string f2 = m.Commit({{2, Page('B')}, {4, Page('d')}}, 4);
  std::string f3 = m.Commit({{1, Page('A')}}, 2);  // shrinks to 2 pages
  auto merged = MergeLtx({f2, f3});
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  ltx::SpanReader r(*merged);
  ltx::Header h;
  ltx::Trailer t;
  ASSERT_TRUE(ltx::Verify(&r, &h, &t).ok());
  EXPECT_EQ(h.min_txid, 2u);
  EXPECT_EQ(h.max_txid, 3u);
  EXPECT_EQ(h.commit, 2u);
  EXPECT_EQ(h.pre_apply_checksum, after1);
  EXPECT_EQ(t.post_apply_checksum, m.checksum);
  // Page 4 was cut off by the shrink; pages 1 and 2 are the last versions.
  ltx::SpanReader r2(*merged);
  ltx::Decoder dec(&r2);
  ASSERT_TRUE(dec.DecodeHeader().ok());
  uint32_t pgno;
  std::string page;
  std::vector<std::pair<uint32_t, char>> seen;
  while (*dec.DecodePage(&pgno, &page)) seen.emplace_back(pgno, page[0]);
  EXPECT_EQ(seen, (std::vector<std::pair<uint32_t, char>>{{1, 'A'}, {2, 'B'}}));
}

TEST(MergeLtx, FromASnapshotIsASnapshot) {
  Model m;
  std::string f1 = m.Commit({{1, Page('a')}, {2, Page('b')}}, 2);
  std::string f2 = m.Commit({{3, Page('c')}}, 3);
  auto merged = MergeLtx({f1, f2});
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  ltx::SpanReader r(*merged);
  ltx::Header h;
  ltx::Trailer t;
  ASSERT_TRUE(ltx::Verify(&r, &h, &t).ok());
  EXPECT_TRUE(h.IsSnapshot());
  EXPECT_EQ(t.post_apply_checksum, m.checksum);
}

TEST(MergeLtx, RejectsAGap) {
  Model m;
  std::string f1 = m.Commit({{1, Page('a')}}, 1);
  m.Commit({{1, Page('b')}}, 1);
  std::string f3 = m.Commit({{1, Page('c')}}, 1);
  EXPECT_FALSE(MergeLtx({f1, f3}).ok());
}

TEST(MergeLtx, RejectsABrokenChecksumChain) {
  Model m, other;
  m.Commit({{1, Page('a')}}, 1);
  std::string f2 = m.Commit({{1, Page('b')}}, 1);
  other.Commit({{1, Page('x')}}, 1);
  other.Commit({{1, Page('y')}}, 1);
  std::string g3 = other.Commit({{1, Page('z')}}, 1);
  auto merged = MergeLtx({f2, g3});
  ASSERT_FALSE(merged.ok());
  EXPECT_TRUE(merged.status().IsCorruption());
}

TEST(Layout, KeysParseBack) {
  ArchivedObject o;
  ASSERT_TRUE(ParseKey("my.db", {LevelKey("my.db", 2, 5, 0x1f), 10, 7}, &o));
  EXPECT_EQ(o.level, 2);
  EXPECT_EQ(o.min_txid, 5u);
  EXPECT_EQ(o.max_txid, 0x1fu);
  ASSERT_TRUE(ParseKey("my.db", {SnapshotKey("my.db", 42), 10, 7}, &o));
  EXPECT_TRUE(o.snapshot());
  EXPECT_EQ(o.max_txid, 42u);
  EXPECT_FALSE(ParseKey("my.db", {"my.db/L9/0000000000000001-0000000000000001.ltx"}, &o));
  EXPECT_FALSE(ParseKey("my.db", {"other.db/L0/0000000000000001-0000000000000001.ltx"}, &o));
  EXPECT_FALSE(ParseKey("my.db", {"my.db/L0/junk.ltx"}, &o));
}

}  // namespace
}  // namespace walship::backup
