// One test per command-line mistake; each asserts the message names the
// command and the option or argument at fault.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/args.h"

namespace walship::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Error(const std::vector<std::string>& args) {
  Result<CommandLine> cl = ParseArgs(args);
  EXPECT_FALSE(cl.ok()) << "parsed: " << (args.empty() ? "" : args[0]);
  if (cl.ok()) return "";
  EXPECT_EQ(cl.status().code(), Status::Code::kInvalidArgument);
  return cl.status().message();
}

TEST(ArgsErrors, NoCommand) {
  EXPECT_EQ(Error({}), "walship: no command given (see \"walship --help\")");
}

TEST(ArgsErrors, UnknownCommand) {
  EXPECT_THAT(Error({"mnt"}), StartsWith("walship: unknown command \"mnt\" (commands: mount,"));
}

TEST(ArgsErrors, HaltLockIsRefusedWithAdvice) {
  EXPECT_EQ(Error({"run", "-with-halt-lock-on", "/litefs/db", "--", "x"}),
            "walship run: --with-halt-lock-on is not supported (walship has no halt lock); to "
            "write from this node, make it the primary: walship run --promote -- CMD (see "
            "\"walship run --help\")");
}

TEST(ArgsErrors, OptionBeforeCommand) {
  EXPECT_THAT(Error({"--config", "x", "mount"}), StartsWith("walship: the command comes first"));
}

TEST(ArgsErrors, HelpForUnknownCommand) {
  EXPECT_THAT(Error({"help", "nope"}), StartsWith("walship: unknown command \"nope\""));
}

TEST(ArgsErrors, UnknownOption) {
  EXPECT_THAT(Error({"status", "--jsn"}), StartsWith("walship status: "));
  EXPECT_THAT(Error({"status", "--jsn"}), HasSubstr("--jsn"));
}

TEST(ArgsErrors, MissingOptionValue) {
  EXPECT_THAT(Error({"mount", "--config"}), StartsWith("walship mount: "));
  EXPECT_THAT(Error({"mount", "--config"}), HasSubstr("--config"));
}

TEST(ArgsErrors, MountCommandWithoutDashDash) {
  EXPECT_EQ(Error({"mount", "myapp"}),
            "walship mount: unexpected argument \"myapp\"; put the command to run after \"--\" "
            "(see \"walship mount --help\")");
}

TEST(ArgsErrors, EmptyConfigPath) {
  EXPECT_THAT(Error({"mount", "--config", ""}),
              StartsWith("walship mount: --config must not be empty"));
  EXPECT_THAT(Error({"mount", "--config="}), StartsWith("walship mount: --config"));
}

TEST(ArgsErrors, ImportWithoutName) {
  EXPECT_THAT(Error({"import", "f.db"}), StartsWith("walship import: --name DB is required"));
}

TEST(ArgsErrors, ImportWithoutFile) {
  EXPECT_THAT(Error({"import", "--name", "db"}),
              StartsWith("walship import: FILE is required (the SQLite file to upload)"));
}

TEST(ArgsErrors, ExportWithoutFile) {
  EXPECT_THAT(Error({"export", "-name", "db"}), StartsWith("walship export: FILE is required"));
}

TEST(ArgsErrors, ExportTwoFiles) {
  EXPECT_THAT(Error({"export", "-name", "db", "a", "b"}), StartsWith("walship export: "));
  EXPECT_THAT(Error({"export", "-name", "db", "a", "b"}), HasSubstr("b"));
}

TEST(ArgsErrors, BadUrl) {
  EXPECT_EQ(Error({"status", "--url", "localhost:20202"}),
            "walship status: --url: expected an http:// or https:// URL, got \"localhost:20202\" "
            "(see \"walship status --help\")");
}

TEST(ArgsErrors, RestoreWithoutTarget) {
  EXPECT_THAT(Error({"restore", "--name", "db", "out.db"}),
              StartsWith("walship restore: give exactly one of --timestamp, --txid or --latest"));
}

TEST(ArgsErrors, RestoreWithTwoTargets) {
  EXPECT_THAT(Error({"restore", "--name", "db", "--latest", "--txid", "5", "out.db"}),
              StartsWith("walship restore: give exactly one of --timestamp, --txid or --latest"));
}

TEST(ArgsErrors, RestoreWithoutFile) {
  EXPECT_THAT(Error({"restore", "--name", "db", "--latest"}),
              StartsWith("walship restore: FILE is required"));
}

TEST(ArgsErrors, RestoreWithoutName) {
  EXPECT_THAT(Error({"restore", "--latest", "out.db"}),
              StartsWith("walship restore: --name DB is required"));
}

TEST(ArgsErrors, RestoreBadTimestamp) {
  EXPECT_THAT(
      Error({"restore", "--name", "db", "--timestamp", "2024-05-01 12:00", "out.db"}),
      StartsWith("walship restore: --timestamp: invalid RFC 3339 timestamp \"2024-05-01 12:00\""));
}

TEST(ArgsErrors, RestoreBadTxid) {
  EXPECT_THAT(
      Error({"restore", "--name", "db", "--txid", "12abc", "out.db"}),
      StartsWith(
          "walship restore: --txid: expected a decimal or 0x-prefixed hex TXID, got \"12abc\""));
}

TEST(ArgsErrors, RestoreZeroTxid) {
  EXPECT_THAT(Error({"restore", "--name", "db", "--txid", "0", "out.db"}),
              StartsWith("walship restore: --txid: must be a TXID of 1 or more"));
}

TEST(ArgsErrors, RestoreConfigAndBackup) {
  EXPECT_THAT(
      Error({"restore", "--name", "db", "--latest", "--config", "w.yml", "--backup", "/b", "o"}),
      StartsWith("walship restore: give --config or --backup, not both"));
}

TEST(ArgsErrors, RunWithoutCommand) {
  EXPECT_THAT(Error({"run", "--promote"}), StartsWith("walship run: no command to run"));
}

TEST(ArgsErrors, RunCommandWithoutDashDash) {
  EXPECT_THAT(Error({"run", "myapp"}), StartsWith("walship run: unexpected argument \"myapp\""));
}

TEST(ArgsErrors, OptionOfAnotherCommand) {
  EXPECT_THAT(Error({"status", "--promote"}), StartsWith("walship status: "));
  EXPECT_THAT(Error({"status", "--promote"}), HasSubstr("--promote"));
}

TEST(ArgsErrors, VersionTakesNoArguments) {
  EXPECT_THAT(Error({"version", "x"}), StartsWith("walship version: "));
}

}  // namespace
}  // namespace walship::cli
