#include "backup/bundle.h"

#include <gtest/gtest.h>

#include "backup/layout.h"

namespace walship::backup {
namespace {

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
