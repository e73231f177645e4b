// A LiteFS user switches without edits (DESIGN.md §1.3): LiteFS's own example
// configurations load, every LiteFS 0.5 key is accepted (a warning where
// walship does not act on it), LiteFS's defaults hold, and every problem of a
// file is reported in one run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/config.h"
#include "config_test_util.h"

namespace walship::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Parse;
using testing::ParseError;
using ::testing::SizeIs;

std::string DataPath(const std::string& name) {
  return std::string(WALSHIP_LITEFS_TEST_DATA) + "/" + name;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty()) << "cannot read " << path;
  return text.str();
}

// 1-based line of the first line of `text` after line `after` that starts
// with `prefix`; 0 if none.
int LineStartingWith(const std::string& text, const std::string& prefix, int after = 0) {
  std::istringstream lines(text);
  int n = 0;
  for (std::string line; std::getline(lines, line);) {
    ++n;
    if (n > after && line.rfind(prefix, 0) == 0) return n;
  }
  return 0;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// "<source>:<line>: <key>: ignored (...)" for `key` at the line of `line_prefix`.
std::string Ignored(const std::string& source, const std::string& text,
                    const std::string& line_prefix, const std::string& key) {
  return source + ":" + std::to_string(LineStartingWith(text, line_prefix)) + ": " + key +
         ": ignored";
}

std::vector<std::string> Prefixes(const std::vector<std::string>& warnings) {
  std::vector<std::string> out;
  for (const std::string& w : warnings) out.push_back(w.substr(0, w.find(" (")));
  return out;
}

TEST(LiteFsConfig, TestsExampleLoadsWithOnlyWarnings) {
  const std::string path = DataPath("tests-litefs.yml");
  const std::string text = ReadText(path);
  Result<Config> c = LoadConfig(path, /*expand_env=*/true);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->fuse.dir, "/home/build/litefs");
  EXPECT_TRUE(c->fuse.debug);
  EXPECT_EQ(c->data.dir, "/home/build/lib/litefs");
  EXPECT_FALSE(c->exit_on_error);
  EXPECT_EQ(c->lease.type, "static");
  EXPECT_EQ(c->lease.hostname, "myhost");
  EXPECT_EQ(c->lease.advertise_url, "http://myhost:20202");
  EXPECT_THAT(Prefixes(c->warnings),
              ElementsAre(Ignored(path, text, "  path:", "tracing.path"),
                          Ignored(path, text, "  max-size:", "tracing.max-size"),
                          Ignored(path, text, "  max-count:", "tracing.max-count"),
                          Ignored(path, text, "  compress:", "tracing.compress")));
}

TEST(LiteFsConfig, EtcExampleFailsOnlyOnConsulWithAdvice) {
  const std::string path = DataPath("etc-litefs.yml");
  const std::string text = ReadText(path);
  Result<Config> c = LoadConfig(path, /*expand_env=*/true);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            path + ":" + std::to_string(LineStartingWith(text, "  type: \"consul\"")) +
                ": lease.type: consul is not supported; use lease.type: etcd (with "
                "lease.etcd.endpoints) for automatic failover, or lease.type: static for a "
                "fixed primary");
}

TEST(LiteFsConfig, EtcExampleWithStaticLeaseLoadsWithOnlyWarnings) {
  std::string text = ReadText(DataPath("etc-litefs.yml"));
  const size_t at = text.find("type: \"consul\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 14, "type: \"static\"");
  Result<Config> c = ParseConfig(text, /*expand_env=*/false, "litefs.yml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->exec.at(0).cmd, "myapp -addr :8081");
  EXPECT_EQ(c->proxy.passthrough, (std::vector<std::string>{"/debug/*", "*.png"}));
  EXPECT_EQ(c->proxy.db, "my.db");
  const std::string f = "litefs.yml";
  EXPECT_THAT(Prefixes(c->warnings),
              ElementsAre(f + ":" +
                              std::to_string(LineStartingWith(
                                  text, "  debug:", LineStartingWith(text, "proxy:"))) +
                              ": proxy.debug: ignored",
                          Ignored(f, text, "    url:", "lease.consul.url"),
                          Ignored(f, text, "    key:", "lease.consul.key"),
                          Ignored(f, text, "    ttl:", "lease.consul.ttl"),
                          Ignored(f, text, "    lock-delay:", "lease.consul.lock-delay"),
                          Ignored(f, text, "  path:", "tracing.path"),
                          Ignored(f, text, "  max-size:", "tracing.max-size"),
                          Ignored(f, text, "  max-count:", "tracing.max-count"),
                          Ignored(f, text, "  compress:", "tracing.compress")));
}

TEST(LiteFsConfig, DefaultsAreLiteFs) {
  Result<Config> c = Parse("exec: myapp\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->fuse.dir, "/litefs");
  EXPECT_EQ(c->data.dir, "/var/lib/litefs");
  EXPECT_TRUE(c->exit_on_error);
  EXPECT_TRUE(ValidateForMount(*c).ok()) << ValidateForMount(*c).ToString();
}

// Each LiteFS key walship does not act on: accepted, one warning naming it
// and its line.
TEST(LiteFsConfig, EachIgnoredKeyWarnsOnceWithKeyAndLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"strict-verify: true\n", "strict-verify"},
      {"http:\n  snapshot-timeout: 30s\n", "http.snapshot-timeout"},
      {"proxy:\n  debug: true\n", "proxy.debug"},
      {"proxy:\n  primary-redirect-timeout: 5s\n", "proxy.primary-redirect-timeout"},
      {"proxy:\n  read-timeout: 0s\n", "proxy.read-timeout"},
      {"proxy:\n  read-header-timeout: 10s\n", "proxy.read-header-timeout"},
      {"proxy:\n  write-timeout: 0s\n", "proxy.write-timeout"},
      {"proxy:\n  idle-timeout: 30s\n", "proxy.idle-timeout"},
      {"lease:\n  demote-delay: 10s\n", "lease.demote-delay"},
      {"lease:\n  databases: [a.db]\n", "lease.databases"},
      {"lease:\n  consul:\n    url: http://c:8500\n", "lease.consul.url"},
      {"backup:\n  cluster: prod\n", "backup.cluster"},
      {"backup:\n  auth-token: secret\n", "backup.auth-token"},
      {"log:\n  timestamp: true\n", "log.timestamp"},
      {"tracing:\n  enabled: true\n", "tracing.enabled"},
  };
  for (const auto& [yaml, key] : cases) {
    Result<Config> c = Parse("# LiteFS\n" + yaml);
    ASSERT_TRUE(c.ok()) << yaml << c.status().ToString();
    const int line = int(Lines(yaml).size()) + 1;  // the key is the last line
    ASSERT_THAT(c->warnings, SizeIs(1)) << yaml;
    EXPECT_THAT(c->warnings[0],
                ::testing::StartsWith("walship.yml:" + std::to_string(line) + ": " + key +
                                      ": ignored (a LiteFS setting walship does not act on: "))
        << yaml;
  }
}

TEST(LiteFsConfig, AllProblemsOfAFileInOneRunInFileOrder) {
  const std::string yaml =
      "fuse:\n"
      "  dirr: /litefs\n"  // 2: unknown key
      "data:\n"
      "  retention: ten minutes\n"  // 4: bad duration
      "proxy:\n"
      "  debug: true\n"  // 6: a warning, not an error
      "lease:\n"
      "  type: consul\n"  // 8: consul
      "backup:\n"
      "  type: litefs-cloud\n"  // 10: LiteFS Cloud
      "log:\n"
      "  format: xml\n";  // 12: bad value
  const std::vector<std::string> lines = Lines(ParseError(yaml));
  ASSERT_THAT(lines, SizeIs(5));
  EXPECT_THAT(lines[0], ::testing::StartsWith("walship.yml:2: unknown key \"fuse.dirr\""));
  EXPECT_THAT(lines[1], ::testing::StartsWith("walship.yml:4: data.retention: invalid duration"));
  EXPECT_THAT(lines[2], ::testing::StartsWith("walship.yml:8: lease.type: consul is not "
                                              "supported; use lease.type: etcd"));
  EXPECT_THAT(lines[3], ::testing::StartsWith("walship.yml:10: backup.type: litefs-cloud is not "
                                              "supported"));
  EXPECT_THAT(lines[3], HasSubstr("use backup.type: s3"));
  EXPECT_EQ(lines[4], "walship.yml:12: log.format: must be \"text\" or \"json\", got \"xml\"");
}

TEST(LiteFsConfig, SeveralValidationProblemsOfOneSection) {
  const std::vector<std::string> lines =
      Lines(ParseError("proxy:\n  addr: nowhere\n  max-lag: -1s\n"));
  // Both missing companions of addr (at the section's line), the bad
  // address, the bad duration.
  ASSERT_THAT(lines, SizeIs(4)) << ::testing::PrintToString(lines);
  EXPECT_THAT(lines[0], ::testing::StartsWith("walship.yml:1: proxy.target: required"));
  EXPECT_THAT(lines[1], ::testing::StartsWith("walship.yml:1: proxy.db: required"));
  EXPECT_THAT(lines[2], ::testing::StartsWith("walship.yml:2: proxy.addr: expected [host]:port"));
  EXPECT_EQ(lines[3], "walship.yml:3: proxy.max-lag: must not be negative, got \"-1s\"");
}

}  // namespace
}  // namespace walship::cli
