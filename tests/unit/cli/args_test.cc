#include "cli/args.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace walship::cli {
namespace {

using ::testing::HasSubstr;
using Args = std::vector<std::string>;

CommandLine Parse(const Args& args) {
  Result<CommandLine> cl = ParseArgs(args);
  EXPECT_TRUE(cl.ok()) << cl.status().ToString();
  return cl.ok() ? *cl : CommandLine{};
}

TEST(Args, MountWithDefaults) {
  CommandLine cl = Parse({"mount"});
  EXPECT_EQ(cl.command, "mount");
  EXPECT_FALSE(cl.config_path.has_value());
  EXPECT_FALSE(cl.no_expand_env);
  EXPECT_TRUE(cl.child_args.empty());
}

TEST(Args, MountWithConfigAndChild) {
  CommandLine cl = Parse({"mount", "--config", "/etc/x.yml", "--no-expand-env", "--", "myapp",
                          "-addr", ":8081", "--", "x"});
  EXPECT_EQ(cl.config_path, "/etc/x.yml");
  EXPECT_TRUE(cl.no_expand_env);
  EXPECT_EQ(cl.child_args, (Args{"myapp", "-addr", ":8081", "--", "x"}));
}

TEST(Args, MountEqualsForm) {
  EXPECT_EQ(Parse({"mount", "--config=/a.yml"}).config_path, "/a.yml");
}

TEST(Args, MountLiteFsSpellings) {
  CommandLine cl =
      Parse({"mount", "-config", "/a.yml", "-no-expand-env", "-debug", "-fuse.debug", "--", "app"});
  EXPECT_EQ(cl.config_path, "/a.yml");
  EXPECT_TRUE(cl.no_expand_env);
  EXPECT_TRUE(cl.debug);
  EXPECT_TRUE(cl.fuse_debug);
  EXPECT_EQ(cl.child_args, Args{"app"});
  EXPECT_EQ(Parse({"mount", "-config=/b.yml"}).config_path, "/b.yml");
}

// Every flag of LiteFS 0.5's `litefs mount`.
TEST(Args, MountLiteFsSkipUnmountAndTracing) {
  CommandLine cl = Parse({"mount", "-skip-unmount", "-tracing"});
  EXPECT_TRUE(cl.skip_unmount);
  EXPECT_TRUE(cl.tracing);
  EXPECT_TRUE(Parse({"mount", "--skip-unmount"}).skip_unmount);
  EXPECT_FALSE(Parse({"mount"}).skip_unmount);
  EXPECT_FALSE(Parse({"mount"}).tracing);
}

TEST(Args, Import) {
  CommandLine cl = Parse({"import", "--name", "my.db", "/tmp/my.db"});
  EXPECT_EQ(cl.command, "import");
  EXPECT_EQ(cl.name, "my.db");
  EXPECT_EQ(cl.file, "/tmp/my.db");
  EXPECT_EQ(cl.url, "http://localhost:20202");
}

TEST(Args, AuthToken) {
  EXPECT_EQ(Parse({"status", "--auth-token", "t0k"}).credentials.auth_token, "t0k");
  EXPECT_EQ(Parse({"export", "--name", "a.db", "-auth-token=t1", "f"}).credentials.auth_token,
            "t1");
  EXPECT_EQ(Parse({"run", "--auth-token=t2", "--", "true"}).credentials.auth_token, "t2");
  EXPECT_EQ(Parse({"import", "--name", "a.db", "--auth-token", "flag", "f"}).credentials.auth_token,
            "flag");
  EXPECT_EQ(Parse({"status"}).credentials.auth_token, "");
}

TEST(Args, TlsCa) {
  EXPECT_EQ(Parse({"status", "--tls-ca", "/etc/ca.pem"}).credentials.tls.ca, "/etc/ca.pem");
  EXPECT_EQ(Parse({"import", "--name", "a.db", "--tls-ca=ca.pem", "f"}).credentials.tls.ca,
            "ca.pem");
  EXPECT_EQ(Parse({"status"}).credentials.tls.ca, "");
}

TEST(Args, ImportLiteFsSpellings) {
  CommandLine cl = Parse({"import", "-name", "my.db", "-url", "http://n1:20202", "f.db"});
  EXPECT_EQ(cl.name, "my.db");
  EXPECT_EQ(cl.url, "http://n1:20202");
  EXPECT_EQ(cl.file, "f.db");
}

TEST(Args, ExportFileAfterOptionsEnd) {
  CommandLine cl = Parse({"export", "-name=my.db", "--", "-odd-name.db"});
  EXPECT_EQ(cl.command, "export");
  EXPECT_EQ(cl.name, "my.db");
  EXPECT_EQ(cl.file, "-odd-name.db");
  EXPECT_TRUE(cl.child_args.empty());
}

TEST(Args, ValueLooksLikeFlagIsKeptAsValue) {
  EXPECT_EQ(Parse({"export", "-name", "-json", "out.db"}).name, "-json");
}

TEST(Args, RestoreByTimestamp) {
  CommandLine cl =
      Parse({"restore", "--name", "my.db", "--timestamp", "2024-05-01T12:00:00Z", "out.db"});
  EXPECT_EQ(cl.command, "restore");
  EXPECT_EQ(cl.timestamp, "2024-05-01T12:00:00Z");
  EXPECT_FALSE(cl.txid.has_value());
  EXPECT_FALSE(cl.latest);
  EXPECT_EQ(cl.file, "out.db");
}

TEST(Args, RestoreByTxid) {
  EXPECT_EQ(Parse({"restore", "-name", "a", "-txid", "42", "out.db"}).txid, 42u);
  EXPECT_EQ(Parse({"restore", "--name", "a", "--txid=0x2a", "out.db"}).txid, 42u);
}

TEST(Args, RestoreLatestFromBackupUrl) {
  CommandLine cl = Parse({"restore", "--name", "a", "--latest", "--backup", "s3://b/p", "out.db"});
  EXPECT_TRUE(cl.latest);
  EXPECT_EQ(cl.backup_url, "s3://b/p");
  EXPECT_FALSE(cl.config_path.has_value());
}

TEST(Args, RestoreWithConfig) {
  CommandLine cl = Parse({"restore", "--name", "a", "--latest", "--config", "w.yml", "out.db"});
  EXPECT_EQ(cl.config_path, "w.yml");
}

TEST(Args, Run) {
  CommandLine cl = Parse({"run", "-promote", "-if-candidate", "--", "myapp", "migrate"});
  EXPECT_EQ(cl.command, "run");
  EXPECT_TRUE(cl.promote);
  EXPECT_TRUE(cl.if_candidate);
  EXPECT_EQ(cl.child_args, (Args{"myapp", "migrate"}));
  EXPECT_FALSE(Parse({"run", "--", "x"}).promote);
}

TEST(Args, RunLiteFsVerboseFlag) {
  CommandLine cl = Parse({"run", "-v", "-promote", "--", "x"});
  EXPECT_TRUE(cl.verbose);
  EXPECT_TRUE(cl.promote);
}

TEST(Args, Status) {
  CommandLine cl = Parse({"status", "--url", "http://n2:20202", "-json"});
  EXPECT_EQ(cl.command, "status");
  EXPECT_TRUE(cl.json);
  EXPECT_EQ(cl.url, "http://n2:20202");
  EXPECT_FALSE(Parse({"status"}).json);
}

TEST(Args, Version) {
  EXPECT_EQ(Parse({"version"}).command, "version");
  EXPECT_EQ(Parse({"--version"}).command, "version");
}

TEST(Args, ArgcArgv) {
  const char* argv[] = {"walship", "status", "-json"};
  Result<CommandLine> cl = ParseArgs(3, const_cast<char**>(argv));
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_TRUE(cl->json);
}

TEST(Args, TopLevelHelp) {
  for (const Args& args : {Args{"--help"}, Args{"-h"}, Args{"-help"}, Args{"help"}}) {
    CommandLine cl = Parse(args);
    EXPECT_EQ(cl.command, "help");
    EXPECT_EQ(cl.help_text, UsageText());
  }
  for (std::string_view cmd :
       {"mount", "import", "export", "restore", "run", "status", "version"}) {
    EXPECT_THAT(UsageText(), HasSubstr(cmd));
  }
}

TEST(Args, CommandHelp) {
  CommandLine cl = Parse({"restore", "--help"});
  EXPECT_EQ(cl.command, "help");
  EXPECT_THAT(cl.help_text, HasSubstr("--timestamp"));
  EXPECT_THAT(cl.help_text, HasSubstr("--latest"));
  EXPECT_EQ(Parse({"help", "restore"}).help_text, cl.help_text);
  EXPECT_THAT(Parse({"run", "-help"}).help_text, HasSubstr("--if-candidate"));
}

TEST(Rfc3339, ParsesZuluAndOffsets) {
  using namespace std::chrono;
  Result<system_clock::time_point> utc = ParseRfc3339("2024-05-01T12:00:00Z");
  ASSERT_TRUE(utc.ok()) << utc.status().ToString();
  EXPECT_EQ(*utc, sys_days(year(2024) / May / 1) + hours(12));
  Result<system_clock::time_point> offset = ParseRfc3339("2024-05-01T14:00:00.5+02:00");
  ASSERT_TRUE(offset.ok()) << offset.status().ToString();
  EXPECT_EQ(*offset, *utc + milliseconds(500));
  Result<system_clock::time_point> west = ParseRfc3339("2024-05-01t07:30:00-04:30");
  ASSERT_TRUE(west.ok()) << west.status().ToString();
  EXPECT_EQ(*west, *utc);
  EXPECT_TRUE(ParseRfc3339("2024-02-29T00:00:00Z").ok());
}

TEST(Rfc3339, RejectsMalformed) {
  for (std::string_view text :
       {"2024-05-01", "2024-05-01 12:00:00Z", "2024-05-01T12:00:00", "2024-13-01T00:00:00Z",
        "2023-02-29T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T12:60:00Z",
        "2024-05-01T12:00:60Z", "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00+0200",
        "2024-05-01T12:00:00Zjunk", "yesterday", ""}) {
    EXPECT_FALSE(ParseRfc3339(text).ok()) << text;
  }
}

}  // namespace
}  // namespace walship::cli
