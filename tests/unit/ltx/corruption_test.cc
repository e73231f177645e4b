// One test per kind of damage: each must come back as Corruption naming what
// is wrong and where. Damaged files are made by editing a valid file or by
// RawFile, which builds files that are valid except for the one defect.
#include <gtest/gtest.h>

#include "base/coding.h"
#include "ltx_test_util.h"

namespace walship::ltx {
namespace {

using testing::Decoded;
using testing::DecodeFile;
using testing::EncodeFile;
using testing::Lz4Compress;
using testing::MakeHeader;
using testing::MakePage;
using testing::RawFile;

constexpr uint32_t kPage = 1024;

std::string Page(uint32_t pgno) { return MakePage(kPage, pgno, 11, pgno % 2 == 0); }

std::string ValidFile() {
  return EncodeFile(MakeHeader(kPage, 20, 4, 4), {{2, Page(2)}, {5, Page(5)}, {9, Page(9)}});
}

Status DecodeStatus(const std::string& file) { return DecodeFile(file).status(); }

// Asserts Corruption whose message contains `needle`, the same whether the
// Decoder reads the file in place or copies it through its read-ahead.
void ExpectCorrupt(const std::string& file, const std::string& needle) {
  Status s = DecodeStatus(file);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  SpanReader r(file);
  EXPECT_TRUE(Verify(&r).IsCorruption());
  testing::CopyingReader copying(file);
  EXPECT_EQ(Verify(&copying).message(), s.message());
}

TEST(LtxCorruption, BadMagic) {
  std::string file = ValidFile();
  file[0] = 'X';
  ExpectCorrupt(file, "ltx: bad magic \"XTX1\" at offset 0");
}

TEST(LtxCorruption, TruncatedAtEveryLength) {
  std::string file = ValidFile();
  ASSERT_TRUE(DecodeStatus(file).ok());
  for (size_t len = 0; len < file.size(); len++) {
    const std::string cut = file.substr(0, len);
    Status s = DecodeStatus(cut);
    ASSERT_TRUE(s.IsCorruption()) << "length " << len << ": " << s.ToString();
    ASSERT_NE(s.message().find("truncated file"), std::string::npos) << len << ": " << s.message();
    testing::CopyingReader copying(cut);
    ASSERT_EQ(Verify(&copying).message(), s.message()) << "length " << len;
  }
}

TEST(LtxCorruption, TruncatedMessagesSayWhere) {
  std::string file = ValidFile();
  ExpectCorrupt(file.substr(0, 50), "header at offset 0 has 50 of 100 bytes");
  ExpectCorrupt(file.substr(0, 100), "page header at offset 100");
  ExpectCorrupt(file.substr(0, 108), "page size field at offset 106");
  ExpectCorrupt(file.substr(0, 120), "page data at offset 110");
  ExpectCorrupt(file.substr(0, file.size() - 1),
                "trailer at offset " + std::to_string(file.size() - kTrailerSize));
}

TEST(LtxCorruption, BadFileChecksum) {
  std::string file = ValidFile();
  file[file.size() - 1] ^= 0x01;
  ExpectCorrupt(file, "file checksum mismatch: trailer at offset");
}

TEST(LtxCorruption, ChangedPostApplyChecksumBreaksFileChecksum) {
  std::string file = ValidFile();
  file[file.size() - kTrailerSize + 3] ^= 0x10;
  ExpectCorrupt(file, "file checksum mismatch");
}

TEST(LtxCorruption, ChangedReservedHeaderByteBreaksFileChecksum) {
  std::string file = ValidFile();
  file[90] = 1;
  ExpectCorrupt(file, "file checksum mismatch");
}

TEST(LtxCorruption, ChangedPageLiteralBreaksFileChecksum) {
  // An incompressible page is stored as LZ4 literals: changing one keeps the
  // block valid and changes the page, which only the file checksum catches.
  Header h = MakeHeader(kPage, 20, 4, 4);
  std::string file = EncodeFile(h, {{3, MakePage(kPage, 3, 0, false)}});
  file[kHeaderSize + 10 + 500] ^= 0x40;
  ExpectCorrupt(file, "file checksum mismatch");
}

TEST(LtxCorruption, PageOutOfOrder) {
  RawFile raw(MakeHeader(kPage, 20, 4, 4));
  raw.AddPage(5, Page(5));
  raw.AddPage(2, Page(2));
  ExpectCorrupt(raw.Build(raw.pages_checksum()), "page 2 at offset ");
  ExpectCorrupt(raw.Build(raw.pages_checksum()), "out of order after page 5");
}

TEST(LtxCorruption, DuplicatePage) {
  RawFile raw(MakeHeader(kPage, 20, 4, 4));
  raw.AddPage(5, Page(5));
  raw.AddPage(5, Page(5));
  ExpectCorrupt(raw.Build(raw.pages_checksum()), "page 5 at offset ");
}

TEST(LtxCorruption, PageSmallerThanHeaderPageSize) {
  RawFile raw(MakeHeader(kPage, 20, 4, 4));
  std::string small = MakePage(512, 3, 0, true);
  raw.AddFrame(3, kPageFlagSize, Lz4Compress(small), small);
  ExpectCorrupt(raw.Build(kChecksumFlag | 1),
                "page 3 at offset 100 decompresses to 512 bytes, page size is 1024");
}

TEST(LtxCorruption, PageLargerThanHeaderPageSize) {
  RawFile raw(MakeHeader(kPage, 20, 4, 4));
  std::string big = MakePage(2048, 3, 0, true);
  raw.AddFrame(3, kPageFlagSize, Lz4Compress(big), big);
  ExpectCorrupt(raw.Build(kChecksumFlag | 1), "decompresses to 2048 bytes, page size is 1024");
}

TEST(LtxCorruption, BadLz4Block) {
  RawFile raw(MakeHeader(kPage, 20, 4, 4));
  raw.AddPage(2, Page(2));
  // A literal run claiming more bytes than the block holds.
  raw.AddFrame(4, kPageFlagSize, std::string("\xf0\xff\xff\x01", 4), Page(4));
  std::string file = raw.Build(kChecksumFlag | 1);
  ExpectCorrupt(file, "bad LZ4 block for page 4 at offset ");
}

TEST(LtxCorruption, TruncatedLz4BlockInsideFrame) {
  RawFile raw(MakeHeader(kPage, 20, 4, 4));
  std::string page = Page(6);
  std::string block = Lz4Compress(page);
  raw.AddFrame(6, kPageFlagSize, block.substr(0, block.size() - 3), page);
  Status s = DecodeStatus(raw.Build(kChecksumFlag | 1));
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("page 6 at offset 100"), std::string::npos) << s.message();
}

TEST(LtxCorruption, CompressedSizeOutOfRange) {
  RawFile zero(MakeHeader(kPage, 20, 4, 4));
  zero.AddFrame(2, kPageFlagSize, "", Page(2));
  ExpectCorrupt(zero.Build(kChecksumFlag | 1), "compressed size 0 outside");
  std::string file = ValidFile();
  PutBE32(reinterpret_cast<uint8_t*>(file.data()) + kHeaderSize + kPageHeaderSize, 0x7fffffff);
  ExpectCorrupt(file, "page 2 at offset 100: compressed size 2147483647 outside");
}

TEST(LtxCorruption, PageNumberBeyondCommit) {
  RawFile raw(MakeHeader(kPage, 8, 4, 4));
  raw.AddPage(8, Page(8));
  raw.AddPage(9, Page(9));
  ExpectCorrupt(raw.Build(raw.pages_checksum()), "page 9 at offset ");
  ExpectCorrupt(raw.Build(raw.pages_checksum()), "beyond commit 8");
}

TEST(LtxCorruption, LockPageStored) {
  const uint32_t lock = LockPgno(kPage);
  RawFile raw(MakeHeader(kPage, lock + 5, 4, 4));
  raw.AddPage(lock, Page(lock));
  ExpectCorrupt(raw.Build(raw.pages_checksum()),
                "lock page " + std::to_string(lock) + " stored at offset 100");
}

TEST(LtxCorruption, PageNumberZeroWithFlags) {
  RawFile raw(MakeHeader(kPage, 8, 4, 4));
  raw.AddFrame(0, kPageFlagSize, Lz4Compress(Page(1)), Page(1));
  ExpectCorrupt(raw.Build(kChecksumFlag | 1), "page frame with page number 0 at offset 100");
}

TEST(LtxCorruption, UnsupportedPageFlags) {
  for (uint16_t flags : {uint16_t(0), uint16_t(3), uint16_t(0x8001)}) {
    RawFile raw(MakeHeader(kPage, 8, 4, 4));
    raw.AddFrame(2, flags, Lz4Compress(Page(2)), Page(2));
    ExpectCorrupt(raw.Build(kChecksumFlag | 1), "page 2 at offset 100 has frame flags 0x");
  }
}

TEST(LtxCorruption, InvalidHeaderField) {
  std::string file = ValidFile();
  PutBE32(reinterpret_cast<uint8_t*>(file.data()) + 8, 1000);  // page size
  ExpectCorrupt(file, "invalid header at offset 0: ltx header: invalid page size 1000");
}

TEST(LtxCorruption, SnapshotMissingPage) {
  RawFile raw(MakeHeader(kPage, 4, 1, 1));
  raw.AddPage(1, Page(1));
  raw.AddPage(3, Page(3));
  raw.AddPage(4, Page(4));
  ExpectCorrupt(raw.Build(raw.pages_checksum()), "snapshot is missing page 2 (found page 3");
}

TEST(LtxCorruption, SnapshotEndsBeforeCommit) {
  RawFile raw(MakeHeader(kPage, 4, 1, 1));
  for (uint32_t pgno = 1; pgno <= 3; pgno++) raw.AddPage(pgno, Page(pgno));
  ExpectCorrupt(raw.Build(raw.pages_checksum()), "snapshot ends at page 3 but commit is 4");
}

TEST(LtxCorruption, SnapshotPostApplyChecksumDiffersFromPages) {
  RawFile raw(MakeHeader(kPage, 2, 1, 1));
  raw.AddPage(1, Page(1));
  raw.AddPage(2, Page(2));
  ExpectCorrupt(raw.Build(raw.pages_checksum() ^ 0x10), "snapshot post-apply checksum");
}

TEST(LtxCorruption, EmptyDatabasePostApplyChecksum) {
  RawFile raw(MakeHeader(kPage, 0, 4, 4));
  ExpectCorrupt(raw.Build(kChecksumFlag | 5), "of an empty database is not");
}

TEST(LtxCorruption, PostApplyChecksumWithoutFlag) {
  RawFile raw(MakeHeader(kPage, 5, 4, 4));
  ExpectCorrupt(raw.Build(5), "invalid trailer at offset");
}

TEST(LtxCorruption, IndexWithExtraEntry) {
  std::string file = EncodeFile(MakeHeader(kPage, 5, 4, 4), {{2, Page(2)}});
  Result<Decoded> d = DecodeFile(file);
  ASSERT_TRUE(d.ok());
  size_t index_at = d->index[0].offset + d->index[0].size + kPageHeaderSize;
  std::string extra = file.substr(0, index_at + 3);  // entry 0 is 3 one-byte varints
  extra += std::string("\x07\x01\x01\x00", 4);
  ExpectCorrupt(extra, "page index at offset " + std::to_string(index_at + 3) +
                           " has more entries than the 1 page frames");
}

TEST(LtxCorruption, IndexEntryDisagreesWithFrame) {
  std::string file = EncodeFile(MakeHeader(kPage, 5, 4, 4), {{2, Page(2)}});
  Result<Decoded> d = DecodeFile(file);
  ASSERT_TRUE(d.ok());
  size_t index_at = d->index[0].offset + d->index[0].size + kPageHeaderSize;
  ASSERT_EQ(uint8_t(file[index_at + 1]), 100);  // offset of the only frame
  file[index_at + 1] = 101;
  ExpectCorrupt(file, "page index entry 0 at offset " + std::to_string(index_at + 1) +
                          " has offset 101, the frame of page 2 gives 100");
}

TEST(LtxCorruption, IndexSizeFieldWrong) {
  std::string file = EncodeFile(MakeHeader(kPage, 5, 4, 4), {});
  size_t size_at = kHeaderSize + kPageHeaderSize + 1;
  ASSERT_EQ(GetBE64(reinterpret_cast<const uint8_t*>(file.data()) + size_at), 1u);
  file[size_at + 7] = 2;
  ExpectCorrupt(file, "page index size field at offset " + std::to_string(size_at) +
                          " says 2 bytes, the index has 1");
}

TEST(LtxCorruption, DataAfterTrailer) {
  ExpectCorrupt(ValidFile() + "x", "unexpected data after the trailer at offset");
}

// Every single-byte change is either caught as Corruption or harmless: the
// decoded header and pages are exactly the original's (two LZ4 encodings can
// decompress to the same page, and the file checksum covers pages as
// decompressed).
TEST(LtxCorruption, EveryByteFlipIsCaughtOrHarmless) {
  std::string file = ValidFile();
  Result<Decoded> want = DecodeFile(file);
  ASSERT_TRUE(want.ok());
  for (size_t i = 0; i < file.size(); i++) {
    for (uint8_t bit : {uint8_t(0x01), uint8_t(0x80)}) {
      std::string bad = file;
      bad[i] = char(uint8_t(bad[i]) ^ bit);
      Result<Decoded> got = DecodeFile(bad);
      if (got.ok()) {
        ASSERT_EQ(got->header, want->header) << "byte " << i;
        ASSERT_EQ(got->pages, want->pages) << "byte " << i;
      } else {
        ASSERT_TRUE(got.status().IsCorruption()) << "byte " << i << ": " << got.status().ToString();
      }
    }
  }
}

}  // namespace
}  // namespace walship::ltx
