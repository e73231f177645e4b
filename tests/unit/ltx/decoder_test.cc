// Decoder behaviour beyond plain decoding: call order, sticky errors, Reader
// errors, and Finish() reading pages the caller skipped.
#include "ltx/decoder.h"

#include <gtest/gtest.h>

#include "ltx_test_util.h"

namespace walship::ltx {
namespace {

using testing::EncodeFile;
using testing::MakeHeader;
using testing::MakePage;

std::string ThreePageFile() {
  return EncodeFile(MakeHeader(4096, 9, 3, 3), {{1, MakePage(4096, 1, 0, true)},
                                                {4, MakePage(4096, 4, 0, false)},
                                                {9, MakePage(4096, 9, 0, true)}});
}

TEST(LtxDecoder, FinishReadsPagesNotYetDecoded) {
  std::string file = ThreePageFile();
  SpanReader r(file);
  Decoder dec(&r);
  ASSERT_TRUE(dec.DecodeHeader().ok());
  uint32_t pgno = 0;
  std::span<const uint8_t> page;
  ASSERT_TRUE(*dec.DecodePage(&pgno, &page));
  EXPECT_EQ(pgno, 1u);
  Result<Trailer> t = dec.Finish();
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(dec.page_index().size(), 3u);
  EXPECT_EQ(dec.bytes_read(), file.size());
}

TEST(LtxDecoder, DecodePageKeepsReturningFalseAfterTheLastPage) {
  std::string file = ThreePageFile();
  SpanReader r(file);
  Decoder dec(&r);
  ASSERT_TRUE(dec.DecodeHeader().ok());
  uint32_t pgno;
  std::span<const uint8_t> page;
  for (int i = 0; i < 3; i++) ASSERT_TRUE(*dec.DecodePage(&pgno, &page));
  pgno = 77;
  Result<bool> more = dec.DecodePage(&pgno, &page);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  EXPECT_FALSE(*dec.DecodePage(&pgno, &page));
  EXPECT_EQ(pgno, 77u);
  EXPECT_TRUE(dec.Finish().ok());
}

TEST(LtxDecoder, CallsOutOfOrderAreInvalidArgument) {
  std::string file = ThreePageFile();
  SpanReader r(file);
  Decoder dec(&r);
  uint32_t pgno;
  std::span<const uint8_t> page;
  EXPECT_EQ(dec.DecodePage(&pgno, &page).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(dec.Finish().status().code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(dec.DecodeHeader().ok());
  EXPECT_EQ(dec.DecodeHeader().status().code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(dec.Finish().ok());
  EXPECT_EQ(dec.Finish().status().code(), Status::Code::kInvalidArgument);
}

TEST(LtxDecoder, FirstErrorSticks) {
  std::string file = ThreePageFile();
  file[kHeaderSize + 3] = 50;  // first frame now claims page 50 > commit 9
  SpanReader r(file);
  Decoder dec(&r);
  ASSERT_TRUE(dec.DecodeHeader().ok());
  uint32_t pgno;
  std::span<const uint8_t> page;
  Status first = dec.DecodePage(&pgno, &page).status();
  ASSERT_TRUE(first.IsCorruption());
  EXPECT_EQ(first.message(), "ltx: page 50 at offset 100 beyond commit 9");
  EXPECT_EQ(dec.DecodePage(&pgno, &page).status().message(), first.message());
  EXPECT_EQ(dec.Finish().status().message(), first.message());
}

// Serves a file in pieces of at most 3 bytes, then fails at `fail_at`.
class TrickleReader final : public Reader {
 public:
  TrickleReader(std::string data, size_t fail_at) : data_(std::move(data)), fail_at_(fail_at) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    if (pos_ >= fail_at_) return Status::IOError("read failed", 5);
    size_t n = std::min({out.size(), size_t(3), data_.size() - pos_});
    std::copy_n(data_.data() + pos_, n, out.data());
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t fail_at_;
  size_t pos_ = 0;
};

TEST(LtxDecoder, ShortReadsAreFine) {
  TrickleReader r(ThreePageFile(), SIZE_MAX);
  EXPECT_TRUE(Verify(&r).ok());
}

TEST(LtxDecoder, ReaderErrorsPassThroughUnchanged) {
  std::string file = ThreePageFile();
  for (size_t fail_at : {size_t(0), size_t(50), size_t(200), file.size() - 5}) {
    TrickleReader r(file, fail_at);
    Status s = Verify(&r);
    EXPECT_EQ(s.code(), Status::Code::kIOError) << fail_at << ": " << s.ToString();
    EXPECT_EQ(s.err(), 5);
  }
}

}  // namespace
}  // namespace walship::ltx
