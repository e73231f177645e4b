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

}  // namespace
}  // namespace walship
