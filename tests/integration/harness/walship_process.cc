#include "harness/walship_process.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "harness/net.h"
#include "store/fence_keeper.h"

namespace walship::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

}  // namespace

std::string WalshipBinary() {
  const char* override_path = std::getenv("WALSHIP_TEST_BINARY");
  return override_path && *override_path ? override_path : WALSHIP_BINARY;
}

WalshipProcess::WalshipProcess(WalshipOptions options) : options_(std::move(options)) {
  std::string parent = options_.parent_dir;
  if (parent.empty()) {
    own_dir_ = std::make_unique<TempDir>("walship-" + options_.name);
    parent = own_dir_->path();
  }
  dir_ = parent + "/" + options_.name;
  mount_dir_ = dir_ + "/mnt";
  data_dir_ = dir_ + "/data";
  config_path_ = dir_ + "/config.yml";
  log_path_ = dir_ + "/walship.log";
  std::filesystem::create_directories(mount_dir_);
  http_port_ = FreePort();
  WriteConfig("fuse:\n  dir: \"" + mount_dir_ + "\"\n" + "data:\n  dir: \"" + data_dir_ + "\"\n" +
              "http:\n  addr: \"127.0.0.1:" + std::to_string(http_port_) + "\"\n" +
              options_.extra_config);
}

WalshipProcess::~WalshipProcess() {
  child_.Kill();
  // A walship killed under the etcd lease with passthrough leaves its fence
  // keeper holding SQLite's WAL write lock until the next start ends it.
  store::FenceKeeper::EndLeftover(data_dir_ + "/fence-keeper.pid");
  // A killed walship leaves its mount stale; detach it so the directory can be
  // removed (and so no later test trips over it).
  ::umount2(mount_dir_.c_str(), MNT_DETACH);
  if (::testing::Test::HasFailure()) {
    std::cerr << "----- walship log (" << log_path_ << ") -----\n"
              << Log() << "----- end of walship log -----\n";
  }
}

void WalshipProcess::WriteConfig(const std::string& yaml) { WriteFile(config_path_, yaml); }

std::string WalshipProcess::Log() const { return ReadFileOrEmpty(log_path_); }

bool WalshipProcess::PassthroughOn() const {
  return Log().find("FUSE passthrough on") != std::string::npos;
}

::testing::AssertionResult WalshipProcess::Failure(const std::string& what) const {
  return ::testing::AssertionFailure() << what << "\n----- walship log -----\n" << Log();
}

::testing::AssertionResult WalshipProcess::Spawn() {
  if (running()) return Failure("walship is already running (pid " + std::to_string(pid()) + ")");
  starts_++;
  {
    std::string marker = "=== test harness: start " + std::to_string(starts_) + " ===\n";
    std::FILE* f = std::fopen(log_path_.c_str(), "a");
    if (f) {
      std::fputs(marker.c_str(), f);
      std::fclose(f);
    }
  }
  // A crash point in the test runner's own environment must not leak in.
  std::vector<std::string> argv = {WalshipBinary(), "mount", "--config", config_path_};
  argv.insert(argv.end(), options_.mount_args.begin(), options_.mount_args.end());
  child_ = Child::Exec(argv, "", log_path_, options_.env, {"WALSHIP_CRASH_AT"});
  if (!running()) return Failure("fork failed");
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult WalshipProcess::WaitMounted(std::chrono::milliseconds timeout) {
  const std::string lag = mount_dir_ + "/.lag";
  auto deadline = SteadyClock::now() + timeout;
  while (true) {
    struct stat st;
    if (::stat(lag.c_str(), &st) == 0) return ::testing::AssertionSuccess();
    if (!running()) return Failure("walship is not running");
    if (auto status = child_.Wait(std::chrono::milliseconds(0))) {
      return Failure("walship " + DescribeWaitStatus(*status) + " before mounting " + mount_dir_);
    }
    if (SteadyClock::now() >= deadline) {
      return Failure("walship did not mount " + mount_dir_ + " within " +
                     std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a deadline
  }
}

::testing::AssertionResult WalshipProcess::Start() {
  if (auto r = Spawn(); !r) return r;
  if (auto r = WaitMounted(); !r) return r;
  // walship mounts before its node API listens: a test's first request
  // must not race the listener. A config without the API on http_port()
  // (a test's own) just waits the short bound out.
  const auto deadline = SteadyClock::now() + std::chrono::seconds(2);
  while (running() && !CanConnect(http_port_) && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a deadline
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult WalshipProcess::Stop(std::chrono::milliseconds timeout) {
  if (!running()) return Failure("walship is not running");
  child_.Signal(SIGTERM);
  auto status = child_.Wait(timeout);
  if (!status) {
    child_.Kill();
    return Failure("walship did not exit within " + std::to_string(timeout.count()) +
                   " ms of SIGTERM");
  }
  if (!ExitedWith(*status, 0)) return Failure("walship " + DescribeWaitStatus(*status));
  struct stat st;
  if (::stat((mount_dir_ + "/.lag").c_str(), &st) == 0) {
    return Failure("walship exited but " + mount_dir_ + " is still mounted");
  }
  if (errno != ENOENT) {
    return Failure("walship exited but " + mount_dir_ + " is stale: " + std::strerror(errno));
  }
  return ::testing::AssertionSuccess();
}

void WalshipProcess::Kill() { child_.Kill(); }

std::optional<int> WalshipProcess::WaitForExit(std::chrono::milliseconds timeout) {
  return child_.Wait(timeout);
}

::testing::AssertionResult WalshipProcess::Restart(EnvVars env) {
  if (running()) {
    if (auto r = Stop(); !r) return r;
  }
  options_.env = std::move(env);
  return Start();
}

CliResult RunWalshipCli(const std::vector<std::string>& args, const EnvVars& env,
                        std::chrono::milliseconds timeout) {
  TempDir scratch("walship-cli");
  const std::string output = scratch / "output";
  std::vector<std::string> argv = {WalshipBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  Child child = Child::Exec(argv, "", output, env);
  return WaitForCli(child, output, timeout, "walship CLI");
}

CliResult RunWalshipCliOnTerminal(const std::vector<std::string>& args,
                                  std::chrono::milliseconds timeout) {
  TempDir scratch("walship-cli");
  const std::string output = scratch / "output";
  std::string command = "'" + WalshipBinary() + "'";
  for (const std::string& arg : args) {
    std::string quoted;
    for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    command += " '" + quoted + "'";
  }
  // script(1) gives the command a pseudo-terminal and passes its exit status on.
  Child child = Child::Exec({"script", "-qec", command, "/dev/null"}, "", output, {});
  return WaitForCli(child, output, timeout, "walship CLI on a terminal");
}

}  // namespace walship::testing
