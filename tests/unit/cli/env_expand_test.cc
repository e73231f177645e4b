#include "cli/env_expand.h"

#include <gtest/gtest.h>

#include <map>

namespace walship::cli {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string Expand(std::string_view text) {
  Result<std::string> out =
      ExpandEnv(text, "test.yml",
                FakeEnv({{"DIR", "/data"}, {"REGION", "ams"}, {"PRIMARY", "ams"}, {"X_1", "x"}}));
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : "<error>";
}

TEST(EnvExpand, BracedAndBare) {
  EXPECT_EQ(Expand("dir: ${DIR}/db"), "dir: /data/db");
  EXPECT_EQ(Expand("dir: $DIR/db"), "dir: /data/db");
  EXPECT_EQ(Expand("$X_1$X_1"), "xx");
  EXPECT_EQ(Expand("${ DIR }"), "/data");
}

TEST(EnvExpand, UnsetIsEmpty) { EXPECT_EQ(Expand("a${NOPE}b$NOPE.c"), "ab.c"); }

TEST(EnvExpand, DollarRules) {
  EXPECT_EQ(Expand("cost $$5"), "cost $5");
  EXPECT_EQ(Expand("a $ b $. $"), "a $ b $. $");
}

TEST(EnvExpand, Comparisons) {
  EXPECT_EQ(Expand("${REGION == 'ams'}"), "true");
  EXPECT_EQ(Expand("${REGION == \"fra\"}"), "false");
  EXPECT_EQ(Expand("${REGION != 'fra'}"), "true");
  EXPECT_EQ(Expand("${REGION == PRIMARY}"), "true");
  EXPECT_EQ(Expand("${REGION != PRIMARY}"), "false");
  EXPECT_EQ(Expand("${NOPE == ''}"), "true");
}

TEST(EnvExpand, UnterminatedBraceNamesLine) {
  Result<std::string> out = ExpandEnv("a: 1\nb: ${DIR\n", "test.yml", FakeEnv({}));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(out.status().message().rfind("test.yml:2: unterminated \"${\"", 0), 0u)
      << out.status().message();
}

TEST(EnvExpand, ShellDefaultSyntaxIsAnError) {
  Result<std::string> out = ExpandEnv("\n\nx: ${DIR:-/tmp}", "test.yml", FakeEnv({}));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message().rfind("test.yml:3: cannot expand \"${DIR:-/tmp}\"", 0), 0u)
      << out.status().message();
}

TEST(EnvExpand, ProcessLookupFallsBackToHostname) {
  std::optional<std::string> host = ProcessEnvLookup("HOSTNAME");
  ASSERT_TRUE(host.has_value());
  EXPECT_FALSE(host->empty());
  EXPECT_FALSE(ProcessEnvLookup("WALSHIP_TEST_SURELY_UNSET_VAR").has_value());
}

}  // namespace
}  // namespace walship::cli
