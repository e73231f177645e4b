#include "store/fence_keeper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "env/env.h"
#include "sqlite/locks.h"
#include "store/ofd_lock.h"

namespace walship::store {
namespace {

constexpr char kName[] = "walship-fence";  // its /proc/PID/comm
constexpr int kMaxGuarded = 4096;

enum : uint32_t { kDeadline = 1, kGuard = 2, kUnguard = 3, kExit = 4 };
struct Message {
  uint32_t type;
  uint32_t unused;
  uint64_t id;    // kDeadline: 1 asks for kHeld once every lock is held
  int64_t value;  // kDeadline: steady-clock nanoseconds (INT64_MIN: closed)
};
// What the keeper answers (one byte).
constexpr char kUnguarded = 'u';
constexpr char kHeld = 'h';

// --- The child: system calls and fixed arrays only (see the header). ---

int64_t MonotonicNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);  // std::chrono::steady_clock's clock
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool LockWalWrite(int fd, short type) { return SetOfdLock(fd, type, sqlite::kShmWriteLock, 1); }

struct Guarded {
  uint64_t id;
  int fd;
  bool locked;
};
Guarded guarded[kMaxGuarded];  // the child's copy; the parent never uses it

// Reads one message; false when walship has gone (the socket closed).
bool Receive(int sock, Message* m, int* fd) {
  *fd = -1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov {
    m, sizeof *m
  };
  struct msghdr h {};
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  h.msg_control = control;
  h.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(sock, &h, MSG_CMSG_CLOEXEC);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      std::memcpy(fd, CMSG_DATA(c), sizeof(int));
    }
  }
  if (n != sizeof *m) m->type = 0;
  return true;
}

[[noreturn]] void KeeperMain(int sock, int64_t lock_ahead_ns) {
  ::prctl(PR_SET_NAME, kName);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) ::sigaction(sig, &ignore, nullptr);
  // Nothing of walship's stays open here: not the FUSE connection, not the
  // data directory lock, not a test runner's output pipe.
  ::dup2(sock, 3);
  const int null = ::open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; fd++) ::dup2(null, fd);
  ::close_range(4, ~0U, 0);
  sock = 3;
  int count = 0;
  int64_t deadline = INT64_MIN;
  bool walship_gone = false;
  bool answer_held = false;
  while (true) {
    const int64_t now = MonotonicNs();
    const bool hold = walship_gone || deadline == INT64_MIN || deadline - lock_ahead_ns <= now;
    bool waiting = false;
    for (int i = 0; i < count; i++) {
      Guarded& g = guarded[i];
      if (hold && !g.locked) {
        g.locked = LockWalWrite(g.fd, F_WRLCK);
        waiting = waiting || !g.locked;  // a transaction is under way: try again soon
      } else if (!hold && g.locked) {
        LockWalWrite(g.fd, F_UNLCK);
        g.locked = false;
      }
    }
    if (answer_held && hold && !waiting) {
      ::send(sock, &kHeld, 1, MSG_NOSIGNAL);
      answer_held = false;
    }
    int timeout_ms = 1000;
    if (waiting) {
      timeout_ms = 1;
    } else if (!hold && deadline != INT64_MAX) {
      const int64_t until = (deadline - lock_ahead_ns - now) / 1000000 + 1;
      timeout_ms = int(until < 1 ? 1 : until > 1000 ? 1000 : until);
    }
    if (walship_gone) {
      ::poll(nullptr, 0, timeout_ms);
      continue;
    }
    struct pollfd p {
      sock, POLLIN, 0
    };
    if (::poll(&p, 1, timeout_ms) <= 0) continue;
    Message m{};
    int fd = -1;
    if (!Receive(sock, &m, &fd)) {
      walship_gone = true;
      continue;
    }
    switch (m.type) {
      case kDeadline:
        deadline = m.value;
        answer_held = m.id == 1;
        break;
      case kGuard:
        if (fd >= 0 && count < kMaxGuarded) {
          guarded[count++] = {m.id, fd, false};
          fd = -1;
        }
        break;
      case kUnguard:
        for (int i = 0; i < count; i++) {
          if (guarded[i].id != m.id) continue;
          ::close(guarded[i].fd);  // which drops its lock
          guarded[i] = guarded[--count];
          break;
        }
        ::send(sock, &kUnguarded, 1, MSG_NOSIGNAL);  // Unguard waits for this
        break;
      case kExit:
        ::_exit(0);
    }
    if (fd >= 0) ::close(fd);
  }
}

}  // namespace

// --- walship's side. ---

Result<std::unique_ptr<FenceKeeper>> FenceKeeper::Spawn(std::chrono::milliseconds lock_ahead,
                                                        const std::string& pid_file) {
  int sockets[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0) {
    return Status::FromErrno("fence keeper: socketpair", errno);
  }
  const int64_t lock_ahead_ns = std::chrono::nanoseconds(lock_ahead).count();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(sockets[0]);
    ::close(sockets[1]);
    return Status::FromErrno("fence keeper: fork", err);
  }
  if (pid == 0) KeeperMain(sockets[1], lock_ahead_ns);
  ::close(sockets[1]);
  const std::string text = std::to_string(pid) + "\n";
  Status saved = env::Env::Posix()->WriteFileAtomic(
      pid_file, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, /*sync=*/false);
  std::unique_ptr<FenceKeeper> keeper(new FenceKeeper(sockets[0], pid, pid_file));
  if (!saved.ok()) return saved.WithContext("fence keeper: its pid file");
  spdlog::info("fence: keeper process {} holds SQLite's WAL write lock when the lease ends", pid);
  return keeper;
}

FenceKeeper::FenceKeeper(int socket, pid_t pid, std::string pid_file)
    : socket_(socket), pid_(pid), pid_file_(std::move(pid_file)) {}

FenceKeeper::~FenceKeeper() {
  (void)Send(kExit, 0, 0, -1);
  ::close(socket_);
  int status = 0;
  while (!reaped_ && ::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  (void)env::Env::Posix()->Remove(pid_file_);
}

bool FenceKeeper::Exited() {
  int status = 0;
  if (!reaped_ && ::waitpid(pid_, &status, WNOHANG) == pid_) reaped_ = true;
  return reaped_;
}

Status FenceKeeper::Send(uint32_t type, uint64_t id, int64_t value, int fd) {
  Message m{type, 0, id, value};
  struct iovec iov {
    &m, sizeof m
  };
  struct msghdr h {};
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    h.msg_control = control;
    h.msg_controllen = sizeof control;
    struct cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  if (::sendmsg(socket_, &h, MSG_NOSIGNAL) != ssize_t(sizeof m)) {
    return Status::FromErrno("fence keeper (pid " + std::to_string(pid_) + ")", errno);
  }
  return Status::OK();
}

Status FenceKeeper::SetDeadline(std::chrono::steady_clock::time_point deadline) {
  return Send(kDeadline, 0, std::chrono::nanoseconds(deadline.time_since_epoch()).count(), -1);
}

Status FenceKeeper::Guard(uint64_t id, int shm_fd) { return Send(kGuard, id, 0, shm_fd); }

Status FenceKeeper::Unguard(uint64_t id) {
  WALSHIP_RETURN_IF_ERROR(Send(kUnguard, id, 0, -1));
  return AwaitAnswer(kUnguarded, std::chrono::seconds(1));  // the descriptor is closed
}

Status FenceKeeper::HoldNow(std::chrono::milliseconds timeout) {
  WALSHIP_RETURN_IF_ERROR(Send(kDeadline, 1, INT64_MIN, -1));
  return AwaitAnswer(kHeld, timeout);
}

Status FenceKeeper::AwaitAnswer(char want, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    struct pollfd p {
      socket_, POLLIN, 0
    };
    if (left.count() <= 0 || ::poll(&p, 1, int(left.count())) != 1) break;
    char answer = 0;
    if (::recv(socket_, &answer, 1, 0) != 1) break;
    if (answer == want) return Status::OK();  // else a late answer to an earlier request
  }
  return Status::IOError("fence keeper (pid " + std::to_string(pid_) + ") did not answer within " +
                         std::to_string(timeout.count()) + " ms");
}

void FenceKeeper::EndLeftover(const std::string& pid_file) {
  auto text = env::Env::Posix()->ReadFile(pid_file);
  if (!text.ok()) return;
  const pid_t pid = pid_t(std::atol(text->c_str()));
  const std::string proc = "/proc/" + std::to_string(pid);
  auto alive = [&] {
    std::ifstream stat(proc + "/stat");
    std::string pid_field, comm, state;
    if (!(stat >> pid_field >> comm >> state)) return false;
    return comm == std::string("(") + kName + ")" && state != "Z";
  };
  if (pid > 0 && alive()) {
    spdlog::info("fence: ending the keeper process {} a crashed walship left holding locks", pid);
    ::kill(pid, SIGKILL);
    for (int i = 0; i < 200 && alive(); i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // bounded: 2 s
    }
  }
  (void)env::Env::Posix()->Remove(pid_file);
}

}  // namespace walship::store
