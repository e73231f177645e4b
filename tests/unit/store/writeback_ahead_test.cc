#include "store/writeback_ahead.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace walship::store {
namespace {

using Range = std::pair<uint64_t, uint64_t>;
constexpr uint64_t kStep = WritebackAhead::kStepBytes;
constexpr uint64_t kPage = WritebackAhead::kPageBytes;

class WritebackAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = ::open((dir_ / "file").c_str(), O_RDWR | O_CREAT, 0644);
    ASSERT_GE(fd_, 0);
    const std::vector<char> bytes(3 * kStep, 'x');
    ASSERT_EQ(::pwrite(fd_, bytes.data(), bytes.size(), 0), ssize_t(bytes.size()));
  }
  void TearDown() override { ::close(fd_); }

  testing::TempDir dir_;
  int fd_ = -1;
  WritebackAhead ahead_;
};

TEST_F(WritebackAheadTest, StartsAStepAtATimeUpToThePageBelowTheEnd) {
  EXPECT_EQ(ahead_.Written(fd_, kStep - 1), std::nullopt);
  EXPECT_EQ(ahead_.Written(fd_, kStep + 100), Range(0, kStep));
  EXPECT_EQ(ahead_.Written(fd_, kStep + kStep / 2), std::nullopt);
  // 4120-byte WAL frames end mid-page: the page being written is left alone.
  EXPECT_EQ(ahead_.Written(fd_, 2 * kStep + kPage + 24), Range(kStep, 2 * kStep + kPage));
}

// A WAL restart (or an emptied log) writes the file again from its start.
TEST_F(WritebackAheadTest, AnEndBelowTheLastStartsOver) {
  ASSERT_EQ(ahead_.Written(fd_, 2 * kStep), Range(0, 2 * kStep));
  EXPECT_EQ(ahead_.Written(fd_, 32 + 10 * 4120), std::nullopt);
  EXPECT_EQ(ahead_.Written(fd_, kStep + 32), Range(0, kStep));
}

TEST_F(WritebackAheadTest, NoFileNoWriteback) {
  EXPECT_EQ(ahead_.Written(-1, 2 * kStep), std::nullopt);
}

}  // namespace
}  // namespace walship::store
