// JsonEscape: JSON log lines and error bodies stay valid JSON whatever the
// text holds.
#include "base/coding.h"

#include <gtest/gtest.h>

namespace walship {
namespace {

TEST(JsonEscapeTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonEscape("plain text"), "plain text");
  EXPECT_EQ(JsonEscape(R"(the "primary" said \ no)"), R"(the \"primary\" said \\ no)");
  EXPECT_EQ(JsonEscape("a\nb\tc\rd"), R"(a\nb\tc\rd)");
  EXPECT_EQ(JsonEscape(std::string("x\x01y", 3)), R"(x\u0001y)");
  EXPECT_EQ(JsonEscape("héllo"), "héllo");  // UTF-8 passes through
}

TEST(JsonEscapeTest, ReplacesBytesThatAreNotUtf8) {
  EXPECT_EQ(JsonEscape("\xff.db"), R"(\ufffd.db)");
  EXPECT_EQ(JsonEscape("a\xc3"), R"(a\ufffd)");            // truncated sequence
  EXPECT_EQ(JsonEscape("\xc0\xaf"), R"(\ufffd\ufffd)");     // overlong
  EXPECT_EQ(JsonEscape("\xed\xa0\x80"), R"(\ufffd\ufffd\ufffd)");  // surrogate
  EXPECT_EQ(JsonEscape("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");   // U+1F600 passes
}

TEST(JsonEscapeTest, QuoteAddsQuotes) { EXPECT_EQ(JsonQuote("a\"b"), R"("a\"b")"); }

TEST(Utf8Test, ValidatesWellFormedUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("héllo 数据 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));
}

}  // namespace
}  // namespace walship
