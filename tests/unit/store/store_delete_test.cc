// Store::Delete: a deleted database leaves Find and List, keeps its Db object
// (which then refuses every operation), leaves a tombstone that survives a
// restart, and a database created again under its name is a new one.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "store/store.h"
#include "test_util.h"

namespace walship::store {
namespace {

using testing::TempDir;

StoreOptions OptionsFor(const TempDir& dir) {
  StoreOptions options;
  options.data_dir = dir.path();
  return options;
}

TEST(StoreDeleteTest, ADeletedDatabaseIsGoneAndItsNameStartsAfresh) {
  TempDir dir;
  Store store(OptionsFor(dir));
  ASSERT_TRUE(store.Open().ok());
  auto created = store.Create("a.db");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Db* old = *created;
  const size_t old_id = store.IdOf(old);
  std::vector<std::pair<std::string, Position>> heard;
  store.AddDeleteListener(
      [&](const std::string& db, const Position& at) { heard.emplace_back(db, at); });
  const uint64_t changes = store.change_count();

  ASSERT_TRUE(store.Delete("a.db", nullptr).ok());
  EXPECT_EQ(store.Find("a.db"), nullptr);
  EXPECT_TRUE(store.List().empty());
  EXPECT_EQ(store.ById(old_id), nullptr);
  EXPECT_TRUE(store.IsDeletedId(old_id));
  EXPECT_NE(store.change_count(), changes);
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].first, "a.db");
  EXPECT_TRUE(store.Deleted("a.db").has_value());
  EXPECT_FALSE(store.Deleted("b.db").has_value());
  EXPECT_FALSE(std::filesystem::exists(dir / "dbs/a.db"));
  EXPECT_TRUE(std::filesystem::is_empty(dir / "trash"));
  // The old Db answers, with an error.
  EXPECT_TRUE(old->deleted());
  std::vector<uint8_t> buf(100);
  EXPECT_TRUE(old->Read(FileKind::kDatabase, 0, buf).status().IsNotFound());
  EXPECT_TRUE(old->Create(FileKind::kWal).IsNotFound());
  EXPECT_TRUE(store.Delete("a.db", nullptr).IsNotFound());

  auto again = store.Create("a.db");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_NE(*again, old);
  EXPECT_NE(store.IdOf(*again), old_id);
  EXPECT_EQ((*again)->pos().txid, 0u);
  EXPECT_EQ(store.Find("a.db"), *again);
}

TEST(StoreDeleteTest, TheTombstoneOutlivesARestartAndLeftOverTrashGoes) {
  TempDir dir;
  {
    Store store(OptionsFor(dir));
    ASSERT_TRUE(store.Open().ok());
    ASSERT_TRUE(store.Create("a.db").ok());
    ASSERT_TRUE(store.Create("b.db").ok());
    ASSERT_TRUE(store.Delete("a.db", nullptr).ok());
  }
  // What a crash between the rename and the removal leaves behind.
  std::filesystem::create_directories(dir / "trash/123-0/ltx");
  std::ofstream(dir / "trash/123-0/database") << "old bytes";
  Store store(OptionsFor(dir));
  ASSERT_TRUE(store.Open().ok());
  EXPECT_EQ(store.Find("a.db"), nullptr);
  ASSERT_NE(store.Find("b.db"), nullptr);
  EXPECT_EQ(store.Deleted("a.db"), (Position{0, 0}));
  EXPECT_TRUE(std::filesystem::is_empty(dir / "trash"));
}

}  // namespace
}  // namespace walship::store
