#include "store/ltx_index.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include "ltx/checksum.h"
#include "ltx/format.h"
#include "store/ltx_file_writer.h"
#include "test_util.h"

namespace walship::store {
namespace {

using testing::TempDir;

// Writes <min>-<max>.ltx holding one page, with `post` as its checksum.
// REQUIRES: min_txid > 1 (a snapshot's checksum must match its pages).
void WriteLtx(const std::string& dir, uint64_t min_txid, uint64_t max_txid, uint64_t post) {
  ltx::Header header{};
  header.page_size = 4096;
  header.commit = 1;
  header.min_txid = min_txid;
  header.max_txid = max_txid;
  header.timestamp_ms = 1;
  header.pre_apply_checksum = (post - 1) | ltx::kChecksumFlag;
  LtxFileWriter writer(env::Env::Posix(), dir + "/" + ltx::FileName(min_txid, max_txid),
                       /*compress=*/true);
  ASSERT_TRUE(writer.Begin(header).ok());
  std::vector<uint8_t> page(4096, uint8_t(max_txid));
  ASSERT_TRUE(writer.AddPage(1, page).ok());
  Status st = writer.Finish(post | ltx::kChecksumFlag, false);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

TEST(LtxIndex, LoadReadsRangesAndChecksumsAndSkipsWhatIsNotAnLtxFile) {
  TempDir dir;
  WriteLtx(dir.path(), 2, 2, 20);
  WriteLtx(dir.path(), 3, 4, 40);
  WriteLtx(dir.path(), 5, 5, 50);
  ASSERT_TRUE(env::Env::Posix()->WriteFileAtomic(dir / "notes.txt", {}, false).ok());
  // A file with an LTX name whose trailer cannot be read.
  ASSERT_TRUE(env::Env::Posix()->WriteFileAtomic(dir / ltx::FileName(6, 6), {}, false).ok());
  LtxIndex index;
  ASSERT_TRUE(index.Load(env::Env::Posix(), dir.path(), dir / "aside").ok());
  std::vector<LtxFileInfo> all = index.All();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].min_txid, 3u);
  EXPECT_EQ(all[1].max_txid, 4u);
  EXPECT_EQ(all[1].path, dir / ltx::FileName(3, 4));
  EXPECT_EQ(all[1].post_checksum, 40u | ltx::kChecksumFlag);
  ASSERT_TRUE(index.EndingAt(5).has_value());
  EXPECT_EQ(index.EndingAt(5)->post_checksum, 50u | ltx::kChecksumFlag);
  EXPECT_FALSE(index.EndingAt(3).has_value()) << "3 is inside a file, not its end";
  EXPECT_FALSE(index.EndingAt(6).has_value());
}

TEST(LtxIndex, LoadMovesAsideAFileThatFailsVerification) {
  TempDir dir;
  const std::string ltx_dir = dir / "ltx";
  ASSERT_TRUE(env::Env::Posix()->MkdirAll(ltx_dir).ok());
  WriteLtx(ltx_dir, 2, 2, 20);
  WriteLtx(ltx_dir, 3, 3, 30);
  WriteLtx(ltx_dir, 4, 4, 40);
  // One byte of txid 3's page data flipped: its trailer still reads fine.
  const std::string middle = ltx_dir + "/" + ltx::FileName(3, 3);
  {
    auto file = env::Env::Posix()->Open(middle, env::OpenMode::kReadWrite);
    ASSERT_TRUE(file.ok());
    uint8_t byte[1];
    ASSERT_TRUE((*file)->ReadAt(ltx::kHeaderSize + 20, byte).ok());
    byte[0] ^= 0x5a;
    ASSERT_TRUE((*file)->WriteAt(ltx::kHeaderSize + 20, byte).ok());
  }
  // A file whose name says other txids than its header.
  ASSERT_EQ(std::rename((ltx_dir + "/" + ltx::FileName(4, 4)).c_str(),
                        (ltx_dir + "/" + ltx::FileName(5, 5)).c_str()), 0);
  LtxIndex index;
  ASSERT_TRUE(index.Load(env::Env::Posix(), ltx_dir, dir / "aside").ok());
  ASSERT_EQ(index.size(), 1u);
  EXPECT_TRUE(index.EndingAt(2).has_value());
  EXPECT_TRUE(std::filesystem::exists(dir / "aside/" + ltx::FileName(3, 3)));
  EXPECT_TRUE(std::filesystem::exists(dir / "aside/" + ltx::FileName(5, 5)));
  EXPECT_FALSE(std::filesystem::exists(middle));
}

TEST(LtxIndex, AfterStartsPastTheTxidAndStopsAtTheLimit) {
  LtxIndex index;
  for (uint64_t t = 1; t <= 10; t++) index.Add({t, t, "f" + std::to_string(t), t});
  std::vector<LtxFileInfo> after = index.After(4, 3);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[0].min_txid, 5u);
  EXPECT_EQ(after[2].max_txid, 7u);
  EXPECT_TRUE(index.After(10, 5).empty());
  index.Remove(5);
  EXPECT_EQ(index.After(4, 1).front().min_txid, 6u);
  index.Add({11, 12, "g", 12});
  EXPECT_EQ(index.After(10, 5).front().max_txid, 12u);
  EXPECT_EQ(index.size(), 10u);
}

TEST(LtxIndex, RecentRunFollowsTheTransactionsInMemoryUpToAGap) {
  LtxIndex index;
  index.Add({1, 4, "sealed", 4});
  auto recent = [](uint64_t t) {
    return LtxFileInfo{t, t, "", t, std::make_shared<const std::string>("tx" + std::to_string(t))};
  };
  for (uint64_t t : {5, 6, 7, 9}) index.AddRecent(recent(t));
  std::vector<const LtxFileInfo*> run = index.RecentRun(index.LastFileTxid());
  ASSERT_EQ(run.size(), 3u);
  EXPECT_EQ(*run[0]->bytes, "tx5");
  EXPECT_EQ(run[2]->max_txid, 7u);
  EXPECT_EQ(index.RecentRun(5).size(), 2u);
  EXPECT_TRUE(index.RecentRun(7).empty());
  EXPECT_EQ(index.RecentRun(8).size(), 1u);
}

}  // namespace
}  // namespace walship::store
