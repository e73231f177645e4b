#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "cli/config.h"

namespace walship::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Runs each test in a fresh temporary directory and returns to the old one.
class ConfigSearch : public ::testing::Test {
 protected:
  void SetUp() override {
    old_cwd_ = fs::current_path();
    std::string pattern = (fs::temp_directory_path() / "walship-cli-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    fs::current_path(dir_);
  }
  void TearDown() override {
    fs::current_path(old_cwd_);
    fs::remove_all(dir_);
  }
  void Write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

  fs::path old_cwd_, dir_;
};

TEST_F(ConfigSearch, DefaultOrder) {
  EXPECT_EQ(DefaultConfigSearchPaths(),
            (std::vector<std::string>{"walship.yml", "litefs.yml", "/etc/walship.yml",
                                      "/etc/litefs.yml"}));
}

TEST_F(ConfigSearch, ExplicitPathWins) {
  Write("walship.yml", "");
  Write("mine.yml", "");
  Result<std::string> path = FindConfigPath(std::string("mine.yml"));
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(*path, "mine.yml");
}

TEST_F(ConfigSearch, MissingExplicitPathIsNotFound) {
  Write("walship.yml", "");
  Result<std::string> path = FindConfigPath(std::string("nope.yml"));
  ASSERT_FALSE(path.ok());
  EXPECT_TRUE(path.status().IsNotFound());
  EXPECT_EQ(path.status().message(), "config file not found: nope.yml");
}

TEST_F(ConfigSearch, WalshipBeforeLitefs) {
  Write("litefs.yml", "");
  Write("walship.yml", "");
  Result<std::string> path = FindConfigPath(std::nullopt);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(*path, (dir_ / "walship.yml").string());
}

TEST_F(ConfigSearch, FallsBackToLitefs) {
  Write("litefs.yml", "");
  Result<std::string> path = FindConfigPath(std::nullopt);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(*path, (dir_ / "litefs.yml").string());
}

TEST_F(ConfigSearch, LaterPathsAfterCurrentDirectory) {
  fs::create_directory("etc");
  Write("etc/litefs.yml", "");
  std::vector<std::string> paths = {"walship.yml", "litefs.yml", "etc/walship.yml",
                                    "etc/litefs.yml"};
  Result<std::string> path = FindConfigPathIn(std::nullopt, paths);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(*path, (dir_ / "etc/litefs.yml").string());
  Write("etc/walship.yml", "");
  EXPECT_EQ(*FindConfigPathIn(std::nullopt, paths), (dir_ / "etc/walship.yml").string());
}

TEST_F(ConfigSearch, NothingFoundListsPathsTried) {
  if (fs::exists("/etc/walship.yml") || fs::exists("/etc/litefs.yml")) {
    GTEST_SKIP() << "this machine has a config in /etc";
  }
  Result<std::string> path = FindConfigPath(std::nullopt);
  ASSERT_FALSE(path.ok());
  EXPECT_TRUE(path.status().IsNotFound());
  EXPECT_EQ(path.status().message(),
            "no config file found (tried " + (dir_ / "walship.yml").string() + ", " +
                (dir_ / "litefs.yml").string() +
                ", /etc/walship.yml, /etc/litefs.yml); pass --config PATH");
}

TEST_F(ConfigSearch, DirectoryIsNotAConfig) {
  fs::create_directory("walship.yml");
  Write("litefs.yml", "");
  EXPECT_EQ(*FindConfigPath(std::nullopt), (dir_ / "litefs.yml").string());
  EXPECT_FALSE(FindConfigPath(std::string("walship.yml")).ok());
}

TEST_F(ConfigSearch, LoadConfigReadsFileAndNamesItInErrors) {
  Write("walship.yml", "fuse:\n  dir: /litefs\n  bogus: 1\n");
  Result<Config> config = LoadConfig("walship.yml", true);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("walship.yml:3: unknown key \"fuse.bogus\""));
  Write("walship.yml", "fuse:\n  dir: /litefs\n");
  config = LoadConfig("walship.yml", true);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->fuse.dir, "/litefs");
  EXPECT_EQ(config->source_path, "walship.yml");
}

TEST_F(ConfigSearch, LoadConfigExpandsProcessEnvironment) {
  setenv("WALSHIP_TEST_MNT", "/mnt/test", 1);
  Write("walship.yml", "fuse:\n  dir: ${WALSHIP_TEST_MNT}\n");
  Result<Config> config = LoadConfig("walship.yml", true);
  unsetenv("WALSHIP_TEST_MNT");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->fuse.dir, "/mnt/test");
}

TEST_F(ConfigSearch, LoadConfigMissingFile) {
  Result<Config> config = LoadConfig("absent.yml", true);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().err(), ENOENT);
  EXPECT_THAT(config.status().message(), HasSubstr("absent.yml"));
}

}  // namespace
}  // namespace walship::cli
