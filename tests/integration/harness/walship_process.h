// WalshipProcess: one `walship mount` process for a test, with its own
// directory holding the config, the mount point, the data directory and the
// log (walship's stdout and stderr, appended across restarts).
//
//   DIR/config.yml   fuse.dir = DIR/mnt, data.dir = DIR/data,
//                    http.addr = 127.0.0.1:<free port>, + options.extra_config
//   DIR/walship.log
//
// Whatever happens in the test, the destructor SIGKILLs the process and
// detaches the mount (umount2 MNT_DETACH), and prints the log if the test has
// failed. Thread-compatible; use from the test's main thread.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/child_process.h"
#include "harness/sql.h"
#include "harness/temp_dir.h"

namespace walship::testing {

struct WalshipOptions {
  // Extra environment for walship, e.g. {{"WALSHIP_CRASH_AT", "commit-after-ltx:3"}}.
  EnvVars env;
  // YAML appended to the generated config (more top-level keys).
  std::string extra_config;
  // Parent directory for this node's directory; a fresh TempDir when empty.
  std::string parent_dir;
  // Name of this node's directory under parent_dir (cluster tests: node1...).
  std::string name = "node";
  // Arguments after `walship mount --config PATH`, e.g. {"-skip-unmount"}.
  std::vector<std::string> mount_args;
};

class WalshipProcess {
 public:
  explicit WalshipProcess(WalshipOptions options = {});
  ~WalshipProcess();
  WalshipProcess(const WalshipProcess&) = delete;
  WalshipProcess& operator=(const WalshipProcess&) = delete;

  // Spawn() then WaitMounted().
  ::testing::AssertionResult Start();
  // Starts the process without waiting (for tests of start-up failures).
  ::testing::AssertionResult Spawn();
  // Polls MNT/.lag until it exists; fails with the log if walship exits first
  // or `timeout` passes.
  ::testing::AssertionResult WaitMounted(
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGTERM and wait: succeeds if walship exits 0 and the mount is gone.
  ::testing::AssertionResult Stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGKILL and reap; the mount is left stale, as after a crash.
  void Kill();
  // Waits for walship to exit by itself (a crash point, a bad config); its
  // wait status, or nullopt on timeout.
  std::optional<int> WaitForExit(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Stops walship if it runs (SIGTERM), then starts it again on the same
  // directories and config, with `env` replacing options.env.
  ::testing::AssertionResult Restart(EnvVars env = {});

  // Replaces the config file (tests of bad input).
  void WriteConfig(const std::string& yaml);
  // Replaces options.mount_args for the next start.
  void SetMountArgs(std::vector<std::string> args) { options_.mount_args = std::move(args); }

  bool running() const { return child_.running(); }
  pid_t pid() const { return child_.pid(); }
  const std::string& dir() const { return dir_; }
  const std::string& mount_dir() const { return mount_dir_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& log_path() const { return log_path_; }
  uint16_t http_port() const { return http_port_; }
  // MNT/name.
  std::string Path(const std::string& name) const { return mount_dir_ + "/" + name; }
  std::string Log() const;
  // Whether this run mounted with FUSE passthrough (the log says so).
  bool PassthroughOn() const;

 private:
  ::testing::AssertionResult Failure(const std::string& what) const;

  WalshipOptions options_;
  std::unique_ptr<TempDir> own_dir_;
  std::string dir_;
  std::string mount_dir_;
  std::string data_dir_;
  std::string config_path_;
  std::string log_path_;
  uint16_t http_port_ = 0;
  int starts_ = 0;
  Child child_;
};

// The binary under test: $WALSHIP_TEST_BINARY if set, else the one built
// with the tests.
std::string WalshipBinary();

// Runs the walship CLI (`walship ARGS...`) to completion, with `env` added to
// the environment; output is its stdout and stderr together.
CliResult RunWalshipCli(const std::vector<std::string>& args, const EnvVars& env = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(120));
// The same with a pseudo-terminal as its standard streams (script(1)), for
// what the CLI shows only on a terminal.
CliResult RunWalshipCliOnTerminal(const std::vector<std::string>& args,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(120));

}  // namespace walship::testing
