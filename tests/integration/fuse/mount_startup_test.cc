// How `walship mount` starts, and fails to, for LiteFS users: mistakes in
// fuse.dir are refused with a clear message and leave no mount behind;
// -skip-unmount and exit-on-error: false behave as in LiteFS; a closed stdout
// and stderr (`walship mount | head -1`) do not kill the node; `walship run
// --promote` on a node that already is the primary just runs the command.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "fuse/fuse_test_util.h"
#include "harness/net.h"

namespace walship::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Is `dir` a mount point in this process's mount namespace?
bool IsMounted(const std::string& dir) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  for (std::string line; std::getline(mountinfo, line);) {
    if (line.find(" " + dir + " ") != std::string::npos) return true;
  }
  return false;
}

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// The generated config's three lines plus `more` inside the fuse section.
std::string ConfigWithFuseKeys(const WalshipProcess& w, const std::string& more) {
  return "fuse:\n  dir: \"" + w.mount_dir() + "\"\n" + more + "data:\n  dir: \"" + w.data_dir() +
         "\"\nhttp:\n  addr: \"127.0.0.1:" + std::to_string(w.http_port()) + "\"\n";
}

// Waits until the log contains `text`.
::testing::AssertionResult LogShows(const WalshipProcess& w, const std::string& text,
                                    milliseconds timeout = seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (w.Log().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return ::testing::AssertionFailure() << "the log never showed \"" << text << "\"";
    }
    std::this_thread::sleep_for(milliseconds(20));  // polling a deadline
  }
  return ::testing::AssertionSuccess();
}

// Spawns walship and expects it to exit 1 with `message` in its log, leaving
// nothing mounted.
void ExpectStartupFailure(WalshipProcess& w, const std::string& message) {
  ASSERT_TRUE(w.Spawn());
  std::optional<int> status = w.WaitForExit(seconds(10));
  ASSERT_TRUE(status) << "walship did not exit";
  EXPECT_TRUE(ExitedWith(*status, 1)) << DescribeWaitStatus(*status);
  EXPECT_NE(w.Log().find(message), std::string::npos) << "no \"" << message << "\" in the log";
  EXPECT_FALSE(IsMounted(w.mount_dir())) << "a mount was left at " << w.mount_dir();
}

TEST(MountStartupTest, FuseDirThatIsAFileIsRefused) {
  WalshipProcess walship;
  std::filesystem::remove(walship.mount_dir());
  WriteText(walship.mount_dir(), "not a directory\n");
  ExpectStartupFailure(walship,
                       "fuse.dir " + walship.mount_dir() + " exists and is not a directory");
}

TEST(MountStartupTest, NonEmptyMountDirIsRefused) {
  WalshipProcess walship;
  WriteText(walship.mount_dir() + "/notes.txt", "mine\n");
  ExpectStartupFailure(walship,
                       "fuse.dir " + walship.mount_dir() + " is not empty (it holds \"notes.txt\"");
  EXPECT_TRUE(std::filesystem::exists(walship.mount_dir() + "/notes.txt"));
}

TEST(MountStartupTest, NonEmptyMountDirWithAllowNonEmptyMounts) {
  WalshipProcess walship;
  WriteText(walship.mount_dir() + "/notes.txt", "mine\n");
  walship.WriteConfig(ConfigWithFuseKeys(walship, "  allow-non-empty: true\n") +
                      "strict-verify: true\n");
  walship.SetMountArgs({"-tracing"});
  ASSERT_TRUE(walship.Start());
  EXPECT_FALSE(std::filesystem::exists(walship.mount_dir() + "/notes.txt")) << "not hidden";
  // The LiteFS key and flag walship does not act on: one warning each.
  EXPECT_NE(walship.Log().find("config: " + walship.config_path() + ":8: strict-verify: ignored"),
            std::string::npos);
  EXPECT_NE(walship.Log().find("-tracing: ignored"), std::string::npos);
  ASSERT_TRUE(walship.Stop());
  EXPECT_TRUE(std::filesystem::exists(walship.mount_dir() + "/notes.txt"));
}

TEST(MountStartupTest, SkipUnmountKeepsAStaleMountAndFailsOnIt) {
  WalshipProcess walship;
  ASSERT_TRUE(walship.Start());
  walship.Kill();
  ASSERT_TRUE(IsMounted(walship.mount_dir())) << "the killed walship left no stale mount";

  walship.SetMountArgs({"-skip-unmount"});
  ASSERT_TRUE(walship.Spawn());
  std::optional<int> status = walship.WaitForExit(seconds(10));
  ASSERT_TRUE(status) << "walship did not exit";
  EXPECT_TRUE(ExitedWith(*status, 1)) << DescribeWaitStatus(*status);
  EXPECT_NE(walship.Log().find("is a stale FUSE mount"), std::string::npos);
  EXPECT_TRUE(IsMounted(walship.mount_dir())) << "-skip-unmount must leave the stale mount";

  walship.SetMountArgs({});  // the default detaches it and mounts
  ASSERT_TRUE(walship.Start());
  ASSERT_TRUE(walship.Stop());
}

TEST(MountStartupTest, ExitOnErrorFalseStaysUpUntilSigterm) {
  WalshipOptions options;
  options.extra_config = "exit-on-error: false\n";
  WalshipProcess walship(options);
  std::filesystem::remove(walship.mount_dir());
  WriteText(walship.mount_dir(), "not a directory\n");
  ASSERT_TRUE(walship.Spawn());
  ASSERT_TRUE(LogShows(walship, "exit-on-error is false"));
  EXPECT_NE(walship.Log().find("exists and is not a directory"), std::string::npos);
  EXPECT_FALSE(walship.WaitForExit(milliseconds(500))) << "walship exited despite exit-on-error";
  ::kill(walship.pid(), SIGTERM);
  std::optional<int> status = walship.WaitForExit(seconds(10));
  ASSERT_TRUE(status) << "walship ignored SIGTERM";
  EXPECT_TRUE(ExitedWith(*status, 1)) << DescribeWaitStatus(*status);
}

// docs/configuration.md, exit-on-error: a start-up failure after the mount
// and the node API are up (an exec step that exits non-zero) leaves walship
// running but serving nothing: mount and API are stopped first.
TEST(MountStartupTest, ExitOnErrorFalseStopsTheMountAndApiAfterAFailedExecStep) {
  WalshipProcess walship;
  // The step exits 7 only if the mount was up when it ran.
  walship.WriteConfig(ConfigWithFuseKeys(walship, "") + "exit-on-error: false\n" +
                      "exec:\n  - cmd: \"test -e '" + walship.mount_dir() +
                      "/.lag' && exit 7\"\n  - cmd: \"sleep 60\"\n");
  ASSERT_TRUE(walship.Spawn());
  ASSERT_TRUE(LogShows(walship, "exit-on-error is false"));
  EXPECT_NE(walship.Log().find("exited with 7"), std::string::npos)
      << "the exec step did not see the mount up";
  EXPECT_FALSE(IsMounted(walship.mount_dir())) << "the mount was left up";
  EXPECT_FALSE(CanConnect(walship.http_port())) << "the node API still answers";
  EXPECT_FALSE(walship.WaitForExit(milliseconds(500))) << "walship exited despite exit-on-error";
  ::kill(walship.pid(), SIGTERM);
  std::optional<int> status = walship.WaitForExit(seconds(10));
  ASSERT_TRUE(status) << "walship ignored SIGTERM";
  EXPECT_TRUE(ExitedWith(*status, 1)) << DescribeWaitStatus(*status);
}

// A data directory held by another walship is a start-up error like the
// others: with exit-on-error: false the second walship waits for SIGTERM
// instead of exiting (and being restarted in a loop), and touches nothing.
TEST(MountStartupTest, ExitOnErrorFalseWaitsWhenTheDataDirIsLocked) {
  WalshipProcess first;
  ASSERT_TRUE(first.Start());
  WalshipProcess second;
  second.WriteConfig("fuse:\n  dir: \"" + second.mount_dir() + "\"\ndata:\n  dir: \"" +
                     first.data_dir() + "\"\nhttp:\n  addr: \"127.0.0.1:" +
                     std::to_string(second.http_port()) + "\"\nexit-on-error: false\n");
  ASSERT_TRUE(second.Spawn());
  ASSERT_TRUE(LogShows(second, "exit-on-error is false"));
  EXPECT_NE(second.Log().find("is in use by another walship"), std::string::npos);
  EXPECT_FALSE(second.WaitForExit(milliseconds(500))) << "walship exited despite exit-on-error";
  EXPECT_FALSE(IsMounted(second.mount_dir()));
  ::kill(second.pid(), SIGTERM);
  std::optional<int> status = second.WaitForExit(seconds(10));
  ASSERT_TRUE(status) << "walship ignored SIGTERM";
  EXPECT_TRUE(ExitedWith(*status, 1)) << DescribeWaitStatus(*status);
  EXPECT_TRUE(IsMounted(first.mount_dir())) << "the first walship lost its mount";
  EXPECT_TRUE(first.Stop());
}

// `walship mount ... 2>&1 | head -1`: once the reader is gone every log line
// meets a closed pipe. Before SIGPIPE was ignored, the first one killed walship.
TEST(MountStartupTest, ClosedStdoutAndStderrDoNotKillTheNode) {
  WalshipOptions options;
  options.extra_config = "log:\n  debug: true\n";  // plenty of lines to write
  WalshipProcess walship(options);
  Pipe pipe;
  pipe.CloseRead();
  const std::string binary = WalshipBinary(), config = walship.config_path();
  Child child = Child::Fork([&] {
    ::dup2(pipe.write_fd(), STDOUT_FILENO);
    ::dup2(pipe.write_fd(), STDERR_FILENO);
    ::execl(binary.c_str(), binary.c_str(), "mount", "--config", config.c_str(), nullptr);
    return 127;
  });
  pipe.CloseWrite();
  const std::string lag = walship.Path(".lag");
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  struct stat st;
  while (::stat(lag.c_str(), &st) != 0) {
    std::optional<int> status = child.Wait(milliseconds(0));
    ASSERT_FALSE(status) << "walship " << DescribeWaitStatus(*status) << " before mounting";
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "walship did not mount";
    std::this_thread::sleep_for(milliseconds(10));  // polling a deadline
  }
  {
    Sql sql(walship.Path("app.db"));  // a database and a commit: more log lines
    ASSERT_TRUE(sql.Exec("CREATE TABLE t(x); INSERT INTO t VALUES (1);"));
  }
  EXPECT_FALSE(child.Wait(milliseconds(300))) << "walship died";
  child.Signal(SIGTERM);
  std::optional<int> status = child.Wait(seconds(10));
  ASSERT_TRUE(status) << "walship ignored SIGTERM";
  EXPECT_TRUE(ExitedWith(*status, 0)) << DescribeWaitStatus(*status);
  EXPECT_FALSE(IsMounted(walship.mount_dir()));
}

TEST(MountStartupTest, RunPromoteOnTheStaticPrimaryJustRuns) {
  WalshipProcess walship;  // static lease, candidate: the primary
  ASSERT_TRUE(walship.Start());
  const std::string url = "http://127.0.0.1:" + std::to_string(walship.http_port());
  CliResult run = RunWalshipCli({"run", "-url", url, "-promote", "--", "sh", "-c", "echo ran"});
  EXPECT_TRUE(run.ok()) << DescribeWaitStatus(run.wait_status) << "\n" << run.output;
  EXPECT_NE(run.output.find("already the primary"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("ran\n"), std::string::npos) << run.output;
  ASSERT_TRUE(walship.Stop());
}

}  // namespace
}  // namespace walship::testing
