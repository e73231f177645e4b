#include "harness/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace walship::testing {
namespace {

using Clock = std::chrono::steady_clock;

// The environment for an exec'd child, built before fork (nothing after fork
// may allocate).
std::vector<std::string> BuildEnv(const EnvVars& env, const std::vector<std::string>& unset) {
  auto dropped = [&](const std::string& entry) {
    std::string name = entry.substr(0, entry.find('='));
    for (const auto& u : unset) {
      if (u == name) return true;
    }
    for (const auto& [k, v] : env) {
      if (k == name) return true;
    }
    return false;
  };
  std::vector<std::string> out;
  for (char** e = environ; e && *e; e++) {
    if (!dropped(*e)) out.emplace_back(*e);
  }
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

Child::~Child() {
  if (running()) Kill();
}

Child::Child(Child&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    if (running()) Kill();
    pid_ = std::exchange(other.pid_, -1);
  }
  return *this;
}

Child Child::Fork(std::function<int()> fn) {
  std::fflush(nullptr);  // or buffered output would be written twice
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a writer must not outlive its test
    if (::getppid() != parent) ::_exit(126);
    int code = 125;
    try {
      code = fn();
    } catch (...) {
      code = 124;
    }
    std::fflush(nullptr);
    ::_exit(code);
  }
  return Child(pid);
}

Child Child::Exec(const std::vector<std::string>& argv, const std::string& stdin_path,
                  const std::string& output_path, const EnvVars& env,
                  const std::vector<std::string>& unset) {
  std::vector<std::string> args = argv;
  std::vector<std::string> envs = BuildEnv(env, unset);
  std::vector<char*> cargs = CStrings(args);
  std::vector<char*> cenv = CStrings(envs);
  std::string in_path = stdin_path.empty() ? "/dev/null" : stdin_path;
  pid_t parent = ::getpid();
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid != 0) return Child(pid);
  // Child: only async-signal-safe calls from here on.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(126);  // the parent died before prctl
  int in = ::open(in_path.c_str(), O_RDONLY);
  int out = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (in < 0 || out < 0) ::_exit(126);
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(out, 2);
  ::close(in);
  ::close(out);
  // Signals blocked or ignored by the test runner must not leak into the child.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  ::execvpe(cargs[0], cargs.data(), cenv.data());
  ::_exit(127);
}

std::optional<int> Child::Wait(std::chrono::milliseconds timeout) {
  if (!running()) return std::nullopt;
  auto deadline = Clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return status;
    }
    if (r < 0 && errno != EINTR) {
      pid_ = -1;
      return std::nullopt;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);  // polling a deadline, not synchronizing
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

void Child::Signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

int Child::Kill() {
  if (!running()) return -1;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return status;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return "wait status " + std::to_string(status);
}

bool ExitedWith(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }
bool KilledBy(int status, int sig) { return WIFSIGNALED(status) && WTERMSIG(status) == sig; }

Pipe::Pipe() {
  if (::pipe(fds_) != 0) throw std::runtime_error("pipe failed");
}

Pipe::~Pipe() {
  CloseRead();
  CloseWrite();
}

void Pipe::CloseRead() {
  if (fds_[0] >= 0) ::close(fds_[0]);
  fds_[0] = -1;
}

void Pipe::CloseWrite() {
  if (fds_[1] >= 0) ::close(fds_[1]);
  fds_[1] = -1;
}

bool Pipe::Send(uint64_t value) {
  // 8 bytes < PIPE_BUF: written atomically or not at all.
  ssize_t n;
  do {
    n = ::write(fds_[1], &value, sizeof value);
  } while (n < 0 && errno == EINTR);
  return n == sizeof value;
}

Pipe::ReadStatus Pipe::Receive(uint64_t* value, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  uint8_t buf[sizeof(uint64_t)];
  size_t got = 0;
  while (got < sizeof buf) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return ReadStatus::kTimeout;
    pollfd p{fds_[0], POLLIN, 0};
    int r = ::poll(&p, 1, int(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ReadStatus::kError;
    if (r == 0) return ReadStatus::kTimeout;
    ssize_t n = ::read(fds_[0], buf + got, sizeof buf - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ReadStatus::kError;
    if (n == 0) return got == 0 ? ReadStatus::kEof : ReadStatus::kError;
    got += size_t(n);
  }
  std::memcpy(value, buf, sizeof buf);
  return ReadStatus::kValue;
}

}  // namespace walship::testing
