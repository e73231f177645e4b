// Golden files: fixed inputs must encode to the committed bytes, and the
// committed bytes must decode to known values. The files are pinned: no test
// writes them. A deliberate format change replaces them by hand, checked
// against the reference implementation (tests/golden/ltx-reference/, whose
// files superfly/ltx wrote; reference_test.cc). The LZ4 bytes come from
// liblz4 1.9.4; another liblz4 could compress differently, which would fail
// EncodesToGoldenBytes but not the decode tests, since the file checksum
// covers pages decompressed.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/coding.h"
#include "ltx_test_util.h"

#ifndef WALSHIP_GOLDEN_DIR
#error "WALSHIP_GOLDEN_DIR must name tests/golden/ltx"
#endif

namespace walship::ltx {
namespace {

using testing::Decoded;
using testing::DecodeFile;

struct Golden {
  const char* name;       // file in WALSHIP_GOLDEN_DIR
  const char* test_name;  // gtest parameter name
  Header header;
  std::map<uint32_t, std::string> pages;
  uint64_t post_apply;  // 0: the snapshot's own pages checksum
};

// Page contents simple enough to describe in docs/ltx.md: even pages are
// one repeated byte, odd pages a short arithmetic pattern.
std::string GoldenPage(uint32_t page_size, uint32_t pgno) {
  std::string page(page_size, char(pgno));
  if (pgno % 2 == 1) {
    for (uint32_t i = 0; i < page_size; i++) page[i] = char(pgno * 31 + i * 7 + (i >> 8));
  }
  return page;
}

Golden Snapshot() {
  Golden g{"snapshot-512.ltx", "Snapshot", {}, {}, 0};
  g.header.page_size = 512;
  g.header.commit = 4;
  g.header.min_txid = 1;
  g.header.max_txid = 1;
  g.header.timestamp_ms = 1700000000000;
  g.header.node_id = 0x0102030405060708ULL;
  for (uint32_t pgno = 1; pgno <= 4; pgno++) g.pages[pgno] = GoldenPage(512, pgno);
  return g;
}

Golden Increment() {
  Golden g{"increment-4096.ltx", "Increment", {}, {}, 0x8000000000abcdefULL};
  g.header.page_size = 4096;
  g.header.commit = 10;
  g.header.min_txid = 2;
  g.header.max_txid = 2;
  g.header.timestamp_ms = 1700000001000;
  g.header.pre_apply_checksum = 0x8000000000012345ULL;
  g.header.wal_offset = 32;
  g.header.wal_size = 2 * (24 + 4096);
  g.header.wal_salt1 = 0x11223344;
  g.header.wal_salt2 = 0x55667788;
  g.header.node_id = 7;
  g.pages[3] = GoldenPage(4096, 3);
  g.pages[10] = GoldenPage(4096, 10);
  return g;
}

void PrintTo(const Golden& g, std::ostream* os) { *os << g.name; }

std::string Path(const Golden& g) { return std::string(WALSHIP_GOLDEN_DIR) + "/" + g.name; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class LtxGolden : public ::testing::TestWithParam<Golden> {};

TEST_P(LtxGolden, EncodesToGoldenBytes) {
  const Golden& g = GetParam();
  std::string encoded = testing::EncodeFile(g.header, g.pages, g.post_apply);
  std::string golden = ReadAll(Path(g));
  ASSERT_FALSE(golden.empty()) << "missing " << Path(g);
  EXPECT_EQ(encoded, golden) << g.name << " differs from the encoder's output";
}

TEST_P(LtxGolden, DecodesToKnownValues) {
  const Golden& g = GetParam();
  Result<Decoded> d = DecodeFile(ReadAll(Path(g)));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->header, g.header);
  EXPECT_EQ(d->pages, g.pages);
}

INSTANTIATE_TEST_SUITE_P(Files, LtxGolden, ::testing::Values(Snapshot(), Increment()),
                         [](const auto& info) { return std::string(info.param.test_name); });

// Values read off the committed files, pinned so a change is noticed.
TEST(LtxGoldenValues, SnapshotTrailer) {
  Result<Decoded> d = DecodeFile(ReadAll(Path(Snapshot())));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(Hex16(d->trailer.post_apply_checksum), "cc94fc33b8559763");
  EXPECT_EQ(Hex16(d->trailer.file_checksum), "ea2758c225fde322");
  std::vector<PageIndexEntry> index = {{1, 100, 281}, {2, 381, 22}, {3, 403, 281}, {4, 684, 22}};
  EXPECT_EQ(d->index, index);
}

TEST(LtxGoldenValues, IncrementTrailer) {
  Result<Decoded> d = DecodeFile(ReadAll(Path(Increment())));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->trailer.post_apply_checksum, 0x8000000000abcdefULL);
  EXPECT_EQ(Hex16(d->trailer.file_checksum), "929d853d860ee633");
}

}  // namespace
}  // namespace walship::ltx
