#include "store/apply_lock.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "sqlite/locks.h"
#include "store/ofd_lock.h"

namespace walship::store {

ApplyLock::ApplyLock(std::string db, int db_fd, int shm_fd)
    : db_(std::move(db)), db_fd_(db_fd), shm_fd_(shm_fd) {}

ApplyLock::~ApplyLock() { Release(); }

Result<bool> ApplyLock::TryWriteLock(int fd, uint64_t start, uint64_t len) {
  if (SetOfdLock(fd, F_WRLCK, start, len)) return true;
  if (errno == EAGAIN || errno == EACCES) return false;
  return Status::FromErrno("database " + db_ + ": lock for apply", errno);
}

int ApplyLock::Holder(int fd, uint64_t start, uint64_t len) const {
  if (fd < 0) return 0;
  struct flock lock = OfdLockOf(F_WRLCK, start, len);
  if (::fcntl(fd, F_OFD_GETLK, &lock) != 0 || lock.l_type == F_UNLCK) return 0;
  return lock.l_pid == 0 ? -1 : lock.l_pid;
}

Status ApplyLock::Acquire() {
  using std::chrono::steady_clock;
  const auto start = steady_clock::now();
  auto last_log = start;
  bool pending = false;
  while (true) {
    if (!pending) {
      WALSHIP_ASSIGN_OR_RETURN(pending, TryWriteLock(db_fd_, sqlite::kPendingByte, 1));
      held_ = pending;
    }
    if (pending) {
      WALSHIP_ASSIGN_OR_RETURN(bool exclusive,
                               TryWriteLock(db_fd_, sqlite::kSharedFirst, sqlite::kSharedSize));
      if (exclusive) return Status::OK();
    }
    const auto now = steady_clock::now();
    if (pending && now - start > kStaleWait) {
      if (int pid = Holder(shm_fd_, sqlite::kShmDmsLock, 1)) {
        spdlog::warn("database {}: connections opened while this node was the primary (pid {}) "
                     "still hold the database; applying without waiting for them (they must be "
                     "reopened)", db_, pid);
        return Status::OK();
      }
    }
    if (now - last_log > std::chrono::seconds(5)) {
      spdlog::warn("database {}: waiting for readers to finish before applying (pid {} holds a "
                   "lock)", db_, Holder(db_fd_, sqlite::kPendingByte, sqlite::kSharedSize + 2));
      last_log = now;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

void ApplyLock::Release() {
  if (!held_) return;
  if (!SetOfdLock(db_fd_, F_UNLCK, sqlite::kPendingByte, sqlite::kSharedSize + 2)) {
    spdlog::error("database {}: releasing the apply lock: {}", db_, std::strerror(errno));
  }
  held_ = false;
}

}  // namespace walship::store
