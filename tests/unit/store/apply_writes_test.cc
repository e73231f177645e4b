#include "store/apply_writes.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/coding.h"
#include "env/fault_env.h"
#include "test_util.h"

namespace walship::store {
namespace {

constexpr uint32_t kPageSize = 512;

// One LTX file as the writes see it: its pages, then its commit size.
struct FileWrites {
  std::vector<std::pair<uint32_t, uint8_t>> pages;  // pgno, fill byte
  uint32_t commit = 0;
};

std::vector<uint8_t> Page(uint8_t fill) { return std::vector<uint8_t>(kPageSize, fill); }

std::string ReadAll(env::Env* env, const std::string& path) {
  auto file = env->Open(path, env::OpenMode::kRead);
  EXPECT_TRUE(file.ok());
  std::string out(size_t(*(*file)->Size()), '\0');
  EXPECT_TRUE((*file)->ReadAt(0, {reinterpret_cast<uint8_t*>(out.data()), out.size()}).ok());
  return out;
}

// The file's pages by their first byte ("o", "0", or the fill byte as a number).
std::string Pages(const std::string& bytes) {
  std::string out;
  for (size_t at = 0; at < bytes.size(); at += kPageSize) {
    const uint8_t b = uint8_t(bytes[at]);
    out += b == 'o' ? std::string("o ") : std::to_string(b) + " ";
  }
  return out;
}

// The file as applying each LTX in turn leaves it: its pages written, then
// truncated (or extended) to its commit size.
void ApplyOneByOne(env::File* file, const std::vector<FileWrites>& run) {
  for (const FileWrites& f : run) {
    for (auto [pgno, fill] : f.pages) {
      ASSERT_TRUE(file->WriteAt(uint64_t(pgno - 1) * kPageSize, Page(fill)).ok());
    }
    ASSERT_TRUE(file->Truncate(uint64_t(f.commit) * kPageSize).ok());
  }
}

void ApplyCoalesced(env::File* file, const std::vector<FileWrites>& run, size_t held_bytes) {
  ApplyWrites writes(file, *file->Size(), held_bytes);
  for (const FileWrites& f : run) {
    for (auto [pgno, fill] : f.pages) ASSERT_TRUE(writes.Page(pgno, Page(fill)).ok());
    ASSERT_TRUE(writes.Resize(uint64_t(f.commit) * kPageSize).ok());
  }
  ASSERT_TRUE(writes.Finish().ok());
}

// Random runs that grow, shrink and rewrite: the coalesced writes leave the
// same bytes as writing each file in turn, whether they are held to the end
// or flushed every few pages.
TEST(ApplyWrites, LeaveTheFileAsWritingEachFileInTurnDoes) {
  std::mt19937 rng(11);
  testing::TempDir dir;
  env::Env* env = env::Env::Posix();
  for (int round = 0; round < 200; round++) {
    std::vector<FileWrites> run(1 + rng() % 8);
    uint32_t commit = 1 + rng() % 12;
    for (FileWrites& f : run) {
      if (rng() % 3 == 0) commit = 1 + rng() % 12;  // grows or shrinks
      f.commit = commit;
      for (uint32_t pgno = 1; pgno <= commit; pgno++) {
        if (rng() % 3 == 0) f.pages.push_back({pgno, uint8_t(1 + rng() % 250)});
      }
    }
    const std::string start(size_t(rng() % 10) * kPageSize, 'o');
    const std::string want_path = dir / "want", got_path = dir / "got";
    for (const std::string& path : {want_path, got_path}) {
      ASSERT_TRUE(env->WriteFileAtomic(path, AsBytes(start), /*sync=*/false).ok());
    }
    auto want = env->Open(want_path, env::OpenMode::kReadWrite);
    auto got = env->Open(got_path, env::OpenMode::kReadWrite);
    ASSERT_TRUE(want.ok() && got.ok());
    ApplyOneByOne(want->get(), run);
    const size_t held = round % 2 ? ApplyWrites::kHeldBytes : 2 * kPageSize;
    ApplyCoalesced(got->get(), run, held);
    ASSERT_EQ(Pages(ReadAll(env, got_path)), Pages(ReadAll(env, want_path))) << "round " << round;
  }
}

// An empty database file on a FaultEnv, which counts and fails its writes.
class ApplyWritesOnFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = env_.Open(dir_ / "database", env::OpenMode::kCreate);
    ASSERT_TRUE(opened.ok());
    file_ = std::move(*opened);
  }
  testing::TempDir dir_;
  env::FaultEnv env_{env::Env::Posix()};
  std::unique_ptr<env::File> file_;
};

TEST_F(ApplyWritesOnFaults, WriteEachPageOnceAndSizeTheFileOnce) {
  ApplyWrites writes(file_.get(), 0);
  // 50 transactions, each appending to the last page and updating page 1.
  for (uint32_t i = 0; i < 50; i++) {
    const uint32_t last = 2 + i / 10;
    ASSERT_TRUE(writes.Page(1, Page(uint8_t(i))).ok());
    ASSERT_TRUE(writes.Page(last, Page(uint8_t(i))).ok());
    ASSERT_TRUE(writes.Resize(uint64_t(last) * kPageSize).ok());
  }
  ASSERT_TRUE(writes.Finish().ok());
  EXPECT_EQ(env_.Count(env::FaultOp::kWrite, "database"), 6);  // pages 1..6
  EXPECT_EQ(*file_->Size(), 6u * kPageSize);
  const std::vector<ApplyWrites::ByteRange> changed = writes.Changed();
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].offset, 0u);
  EXPECT_EQ(changed[0].length, 6u * kPageSize);
}

TEST(ApplyWrites, AShrinkCutsOffPagesHeldPastTheNewEndAndCountsAsChanged) {
  testing::TempDir dir;
  env::Env* env = env::Env::Posix();
  auto file = env->Open(dir / "database", env::OpenMode::kCreate);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->WriteAt(0, std::vector<uint8_t>(8 * kPageSize, 'o')).ok());
  ApplyWrites writes(file->get(), 8 * kPageSize);
  ASSERT_TRUE(writes.Page(7, Page('a')).ok());
  ASSERT_TRUE(writes.Resize(8 * kPageSize).ok());
  ASSERT_TRUE(writes.Resize(5 * kPageSize).ok());  // page 7 is gone
  ASSERT_TRUE(writes.Page(2, Page('b')).ok());
  ASSERT_TRUE(writes.Resize(9 * kPageSize).ok());  // grown again: zeros
  ASSERT_TRUE(writes.Finish().ok());
  std::string want(5 * kPageSize, 'o');
  want.replace(kPageSize, kPageSize, std::string(kPageSize, 'b'));
  want += std::string(4 * kPageSize, '\0');
  EXPECT_EQ(ReadAll(env, dir / "database"), want);
  const std::vector<ApplyWrites::ByteRange> changed = writes.Changed();
  ASSERT_EQ(changed.size(), 2u);
  EXPECT_EQ(changed[0].offset, kPageSize);
  EXPECT_EQ(changed[0].length, kPageSize);
  EXPECT_EQ(changed[1].offset, 5u * kPageSize);
  EXPECT_EQ(changed[1].length, 3u * kPageSize);
}

TEST_F(ApplyWritesOnFaults, AFailedWriteIsReported) {
  ApplyWrites writes(file_.get(), 0);
  ASSERT_TRUE(writes.Page(1, Page('a')).ok());
  ASSERT_TRUE(writes.Resize(kPageSize).ok());
  env_.FailFrom(env::FaultOp::kWrite, "database");
  EXPECT_FALSE(writes.Finish().ok());
}

}  // namespace
}  // namespace walship::store
