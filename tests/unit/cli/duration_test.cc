#include "cli/duration.h"

#include <gtest/gtest.h>

namespace walship::cli {
namespace {

using std::chrono::milliseconds;

milliseconds Parse(std::string_view text) {
  Result<milliseconds> d = ParseDuration(text);
  EXPECT_TRUE(d.ok()) << text << ": " << d.status().ToString();
  return d.ok() ? *d : milliseconds(-999);
}

TEST(Duration, ParsesGoSpellings) {
  EXPECT_EQ(Parse("10s"), milliseconds(10'000));
  EXPECT_EQ(Parse("500ms"), milliseconds(500));
  EXPECT_EQ(Parse("1m"), milliseconds(60'000));
  EXPECT_EQ(Parse("1h30m"), milliseconds(5'400'000));
  EXPECT_EQ(Parse("2.5s"), milliseconds(2'500));
  EXPECT_EQ(Parse("0.3s"), milliseconds(300));
  EXPECT_EQ(Parse(".5m"), milliseconds(30'000));
  EXPECT_EQ(Parse("1500us"), milliseconds(1));
  EXPECT_EQ(Parse("1500\xC2\xB5s"), milliseconds(1));
  EXPECT_EQ(Parse("2000000ns"), milliseconds(2));
  EXPECT_EQ(Parse("0"), milliseconds(0));
  EXPECT_EQ(Parse("-1s"), milliseconds(-1000));
  EXPECT_EQ(Parse("+1s"), milliseconds(1000));
}

TEST(Duration, RejectsBareNumber) {
  Result<milliseconds> d = ParseDuration("600");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(),
            "invalid duration \"600\" (missing unit: use ms, s, m or h, e.g. \"10s\")");
}

TEST(Duration, RejectsWords) {
  Result<milliseconds> d = ParseDuration("10 minutes");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("invalid duration \"10 minutes\""), std::string::npos);
}

TEST(Duration, RejectsEmptyAndJunk) {
  for (std::string_view text : {"", "s", "1x", "1.s.", "-", "1s2"}) {
    EXPECT_FALSE(ParseDuration(text).ok()) << text;
  }
}

TEST(Duration, RejectsOverflow) {
  EXPECT_FALSE(ParseDuration("3000000h").ok());
  EXPECT_FALSE(ParseDuration("99999999999999999999s").ok());
}

TEST(Duration, FormatsShortest) {
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(milliseconds(500)), "500ms");
  EXPECT_EQ(FormatDuration(milliseconds(2'500)), "2.5s");
  EXPECT_EQ(FormatDuration(milliseconds(90'000)), "1m30s");
  EXPECT_EQ(FormatDuration(milliseconds(7'200'000)), "2h");
  EXPECT_EQ(FormatDuration(milliseconds(-1'000)), "-1s");
}

TEST(Duration, FormatRoundTrips) {
  for (int64_t ms : {1, 999, 1000, 1001, 61'001, 3'600'000, 3'661'250}) {
    EXPECT_EQ(Parse(FormatDuration(milliseconds(ms))), milliseconds(ms)) << ms;
  }
}

}  // namespace
}  // namespace walship::cli
