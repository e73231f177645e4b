// Encoder misuse: each wrong call is refused with InvalidArgument and writes
// nothing; a Writer failure sticks.
#include "ltx/encoder.h"

#include <gtest/gtest.h>
#include <lz4.h>

#include "ltx_test_util.h"

namespace walship::ltx {
namespace {

using testing::Bytes;
using testing::MakeHeader;
using testing::MakePage;

class LtxEncoder : public ::testing::Test {
 protected:
  void Start(const Header& h) { ASSERT_TRUE(enc_.EncodeHeader(h).ok()); }
  Status Page(uint32_t pgno, uint32_t size = 4096) {
    return enc_.EncodePage(pgno, Bytes(MakePage(size, pgno, 0, true)));
  }
  void ExpectRefused(const Status& s) {
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  }

  std::string out_;
  StringWriter w_{&out_};
  Encoder enc_{&w_};
};

TEST_F(LtxEncoder, RejectsInvalidHeader) {
  ExpectRefused(enc_.EncodeHeader(MakeHeader(1000, 1, 1, 1)));
  EXPECT_TRUE(out_.empty());
}

// Callers take a page's checksum from the encoder instead of hashing it again.
TEST_F(LtxEncoder, LastPageChecksumIsThePageChecksumOfTheEncodedPage) {
  Start(MakeHeader(4096, 10, 2, 2));
  for (uint32_t pgno : {2u, 5u, 9u}) {
    ASSERT_TRUE(Page(pgno).ok());
    EXPECT_EQ(enc_.last_page_checksum(), PageChecksum(pgno, Bytes(MakePage(4096, pgno, 0, true))));
  }
}

TEST_F(LtxEncoder, RejectsPagesOutOfOrder) {
  Start(MakeHeader(4096, 10, 2, 2));
  ASSERT_TRUE(Page(5).ok());
  size_t before = out_.size();
  ExpectRefused(Page(3));
  ExpectRefused(Page(5));
  EXPECT_EQ(out_.size(), before);
  EXPECT_TRUE(Page(6).ok());
}

TEST_F(LtxEncoder, RejectsWrongPageSize) {
  Start(MakeHeader(4096, 10, 2, 2));
  ExpectRefused(Page(1, 2048));
  ExpectRefused(enc_.EncodePage(1, {}));
}

TEST_F(LtxEncoder, RejectsPageZero) {
  Start(MakeHeader(4096, 10, 2, 2));
  ExpectRefused(Page(0));
}

TEST_F(LtxEncoder, RejectsLockPage) {
  uint32_t lock = LockPgno(4096);
  Start(MakeHeader(4096, lock + 1, 2, 2));
  ExpectRefused(Page(lock));
  EXPECT_TRUE(Page(lock + 1).ok());
}

TEST_F(LtxEncoder, RejectsPageBeyondCommit) {
  Start(MakeHeader(4096, 10, 2, 2));
  ExpectRefused(Page(11));
}

TEST_F(LtxEncoder, RejectsGapInSnapshot) {
  Start(MakeHeader(4096, 10, 1, 1));
  ExpectRefused(Page(2));
  ASSERT_TRUE(Page(1).ok());
  ExpectRefused(Page(3));
}

TEST_F(LtxEncoder, RejectsIncompleteSnapshotAtFinish) {
  Start(MakeHeader(4096, 3, 1, 1));
  ASSERT_TRUE(Page(1).ok());
  ASSERT_TRUE(Page(2).ok());
  ExpectRefused(enc_.Finish(enc_.pages_checksum()));
}

TEST_F(LtxEncoder, RejectsWrongSnapshotPostApplyChecksum) {
  Start(MakeHeader(4096, 1, 1, 1));
  ASSERT_TRUE(Page(1).ok());
  ExpectRefused(enc_.Finish(enc_.pages_checksum() ^ 1));
  EXPECT_TRUE(enc_.Finish(enc_.pages_checksum()).ok());
}

TEST_F(LtxEncoder, RejectsPostApplyWithoutFlagOrOnEmptyDatabase) {
  Start(MakeHeader(4096, 0, 2, 2));
  ExpectRefused(enc_.Finish(12345));
  ExpectRefused(enc_.Finish(kChecksumFlag | 12345));
  EXPECT_TRUE(enc_.Finish(kChecksumFlag).ok());
}

TEST_F(LtxEncoder, RejectsCallsOutOfSequence) {
  ExpectRefused(Page(1));
  ExpectRefused(enc_.Finish(kChecksumFlag));
  Start(MakeHeader(4096, 1, 2, 2));
  ExpectRefused(enc_.EncodeHeader(MakeHeader(4096, 1, 2, 2)));
  ASSERT_TRUE(enc_.Finish(kChecksumFlag | 1).ok());
  ExpectRefused(Page(1));
  ExpectRefused(enc_.Finish(kChecksumFlag | 1));
}

class FailingWriter final : public Writer {
 public:
  Status Write(std::span<const uint8_t> data) override {
    if (budget_ < data.size()) return Status::IOError("disk full", 28);
    budget_ -= data.size();
    return Status::OK();
  }
  size_t budget_ = 150;
};

TEST(LtxEncoderWriter, WriterFailureIsReturnedAndSticks) {
  FailingWriter w;
  Encoder enc(&w);
  ASSERT_TRUE(enc.EncodeHeader(MakeHeader(4096, 5, 2, 2)).ok());
  Status s = enc.EncodePage(1, Bytes(MakePage(4096, 1, 0, false)));
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  w.budget_ = 1 << 20;
  EXPECT_EQ(enc.EncodePage(2, Bytes(MakePage(4096, 2, 0, false))).code(), Status::Code::kIOError);
  EXPECT_EQ(enc.Finish(kChecksumFlag | 1).code(), Status::Code::kIOError);
}

// data.compress: false. Each page is an LZ4 block of literals only: liblz4
// itself reads it back to the page, the decoder reads the file, and the
// block is the page plus its few length bytes, whatever the page holds.
TEST(LtxEncoderWithoutCompression, StoresEachPageAsLiteralsThatLz4Reads) {
  for (uint32_t page_size : {512u, 4096u, 65536u}) {
    const std::string page = MakePage(page_size, 2, 0, /*compressible=*/true);
    const Header header = MakeHeader(page_size, 3, 4, 4);
    std::string file;
    StringWriter writer(&file);
    Encoder enc(&writer, /*compress=*/false);
    ASSERT_TRUE(enc.EncodeHeader(header).ok());
    ASSERT_TRUE(enc.EncodePage(2, Bytes(page)).ok());
    ASSERT_TRUE(enc.Finish(enc.pages_checksum()).ok());

    // The frame after the header: pgno, flags, then the block's size.
    const auto* frame = reinterpret_cast<const uint8_t*>(file.data()) + kHeaderSize;
    const uint32_t size = uint32_t(frame[6]) << 24 | frame[7] << 16 | frame[8] << 8 | frame[9];
    EXPECT_EQ(size, page_size + 1 + (page_size - 15) / 255 + 1) << page_size;
    EXPECT_LE(int(size), LZ4_compressBound(int(page_size)));
    std::string back(page_size, '\0');
    EXPECT_EQ(LZ4_decompress_safe(reinterpret_cast<const char*>(frame + 10), back.data(), int(size),
                                  int(page_size)),
              int(page_size));
    EXPECT_EQ(back, page) << page_size;

    Result<testing::Decoded> decoded = testing::DecodeFile(file);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->pages.at(2), page);
    // The same page compressed is far smaller: the option is acted on.
    EXPECT_LT(testing::EncodeFile(header, {{2, page}}).size() + page_size / 2, file.size());
  }
}

}  // namespace
}  // namespace walship::ltx
