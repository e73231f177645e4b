#include "backup/file_target.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>

namespace walship::backup {
namespace {

class FileTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "walship-ft-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(FileTargetTest, PutGetListDelete) {
  FileTarget t(dir_ + "/archive");
  EXPECT_TRUE(t.List("").ok());
  ASSERT_TRUE(t.Put("a.db/L0/1.ltx", "one").ok());
  ASSERT_TRUE(t.Put("a.db/snapshots/2.ltx", "two").ok());
  ASSERT_TRUE(t.Put("b.db/L0/3.ltx", "three").ok());
  EXPECT_EQ(*t.Get("a.db/L0/1.ltx"), "one");
  EXPECT_TRUE(t.Get("a.db/L0/9.ltx").status().IsNotFound());
  auto list = t.List("a.db/");
  ASSERT_TRUE(list.ok());
  std::vector<std::string> keys;
  for (auto& o : *list) keys.push_back(o.key);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"a.db/L0/1.ltx", "a.db/snapshots/2.ltx"}));
  EXPECT_GT((*list)[0].modified_ms, 0);
  ASSERT_TRUE(t.Delete("a.db/L0/1.ltx").ok());
  EXPECT_TRUE(t.Delete("a.db/L0/1.ltx").ok());  // absent: fine
  EXPECT_EQ(t.List("a.db/")->size(), 1u);
}

TEST_F(FileTargetTest, PutReplacesAtomically) {
  FileTarget t(dir_);
  ASSERT_TRUE(t.Put("x/k", "first").ok());
  ASSERT_TRUE(t.Put("x/k", "second").ok());
  EXPECT_EQ(*t.Get("x/k"), "second");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/x/k.tmp"));
}

TEST_F(FileTargetTest, RefusesKeysLeavingTheDirectory) {
  FileTarget t(dir_);
  EXPECT_FALSE(t.Put("../escape", "x").ok());
  EXPECT_FALSE(t.Put("/abs", "x").ok());
}

}  // namespace
}  // namespace walship::backup
