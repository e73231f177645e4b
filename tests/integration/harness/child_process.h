// Child processes for tests: a function run in a fork (a second SQLite client
// with its own locks, a writer to kill -9), or a program exec'd with its
// output captured (walship itself, the sqlite3 CLI), plus a pipe for children
// to report progress.
//
// A Child kills (SIGKILL) and reaps its process when destroyed, so a failing
// test leaves nothing running. If the test process itself dies (a crash, a
// CTest timeout), forked children get SIGKILL and exec'd ones SIGTERM, so a
// walship still unmounts.
// Thread-compatible; create children from the test's main thread
// (PR_SET_PDEATHSIG follows the creating thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace walship::testing {

using EnvVars = std::vector<std::pair<std::string, std::string>>;

class Child {
 public:
  Child() = default;
  ~Child();
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;

  // Runs `fn` in a forked copy of this process, which then _exits with its
  // return value (no atexit handlers, no GoogleTest reporting). `fn` must not
  // use SQLite connections opened before the fork.
  static Child Fork(std::function<int()> fn);

  // Runs `argv` (argv[0] searched in PATH) with stdin from `stdin_path`
  // ("" for /dev/null) and stdout and stderr appended to `output_path`.
  // `env` is added to (or replaces in) this process's environment;
  // `unset` names variables to remove. Returns a Child with pid() <= 0 if
  // the fork failed; a failed exec exits 127.
  static Child Exec(const std::vector<std::string>& argv, const std::string& stdin_path,
                    const std::string& output_path, const EnvVars& env = {},
                    const std::vector<std::string>& unset = {});

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // Waits until the child exits; its wait status, or nullopt on timeout (the
  // child is left running).
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // Sends `sig` (if still running).
  void Signal(int sig);
  // SIGKILL and reap; returns the wait status (or -1 if there was no child).
  int Kill();

 private:
  explicit Child(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

// "exited 0", "killed by signal 9 (Killed)".
std::string DescribeWaitStatus(int status);
bool ExitedWith(int status, int code);
bool KilledBy(int status, int sig);

// A pipe for a child to report to its parent (both ends close on destruction).
class Pipe {
 public:
  Pipe();
  ~Pipe();
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  int read_fd() const { return fds_[0]; }
  int write_fd() const { return fds_[1]; }
  void CloseRead();
  void CloseWrite();

  // Writes one 8-byte value; false on error (e.g. the reader is gone).
  bool Send(uint64_t value);
  enum class ReadStatus { kValue, kEof, kTimeout, kError };
  // Reads one 8-byte value, waiting at most `timeout`.
  ReadStatus Receive(uint64_t* value, std::chrono::milliseconds timeout);

 private:
  int fds_[2] = {-1, -1};
};

}  // namespace walship::testing
