#include "store/apply_lock.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <thread>

#include "sqlite/locks.h"
#include "sqlite/wal_index.h"
#include "store/ofd_lock.h"

namespace walship::store {
namespace {

// The -shm bytes an apply holds: read locks 0..4.
constexpr uint64_t kShmFirst = sqlite::ShmReadLock(0);
constexpr uint64_t kShmCount = sqlite::kShmReadLockCount;

}  // namespace

ApplyLock::ApplyLock(std::string db, int db_fd, int shm_fd, bool wal)
    : db_(std::move(db)), db_fd_(db_fd), shm_fd_(shm_fd), wal_(wal) {}

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

Result<bool> ApplyLock::TakeNextLock(std::chrono::steady_clock::duration waited) {
  if (!pending_) {
    WALSHIP_ASSIGN_OR_RETURN(pending_, TryWriteLock(db_fd_, sqlite::kPendingByte, 1));
    if (!pending_) return false;
  }
  if (shm_fd_ >= 0 && !shm_held_) {
    WALSHIP_ASSIGN_OR_RETURN(shm_held_, TryWriteLock(shm_fd_, kShmFirst, kShmCount));
    if (!shm_held_) return false;
  }
  if (wal_) return true;
  WALSHIP_ASSIGN_OR_RETURN(bool exclusive,
                           TryWriteLock(db_fd_, sqlite::kSharedFirst, sqlite::kSharedSize));
  if (exclusive) return true;
  if (waited > kStaleWait) {
    if (int pid = Holder(shm_fd_, sqlite::kShmDmsLock, 1)) {
      spdlog::warn(
          "database {}: connections still in WAL mode (pid {}) hold the database; "
          "applying without waiting for them (they must be reopened)",
          db_, pid);
      return true;
    }
  }
  return false;
}

Status ApplyLock::Acquire() {
  using std::chrono::steady_clock;
  const auto start = steady_clock::now();
  auto last_log = start;
  while (true) {
    const auto now = steady_clock::now();
    WALSHIP_ASSIGN_OR_RETURN(bool out, TakeNextLock(now - start));
    if (out) return Status::OK();
    if (now - last_log > std::chrono::seconds(5)) {
      const int pid = pending_ && !shm_held_ && shm_fd_ >= 0
                          ? Holder(shm_fd_, kShmFirst, kShmCount)
                          : Holder(db_fd_, sqlite::kPendingByte, sqlite::kSharedSize + 2);
      spdlog::warn(
          "database {}: waiting for readers to finish before applying (pid {} holds a "
          "lock)",
          db_, pid);
      last_log = now;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

Status ApplyLock::TellWalReaders(uint32_t db_pages, uint32_t change) {
  if (!shm_held_) return Status::OK();
  std::array<uint8_t, sqlite::kWalIndexHeaderSize> shm{};
  const ssize_t n = ::pread(shm_fd_, shm.data(), shm.size(), 0);
  if (n < 0) return Status::FromErrno("database " + db_ + ": reading the -shm header", errno);
  if (size_t(n) < shm.size()) return Status::OK();  // no connection maps it yet
  sqlite::ResetForChangedDatabase(shm, db_pages, change);
  // As SQLite writes it: the second copy first; readers compare the two.
  constexpr size_t kCopy2 = sqlite::kWalIndexHdrCopy2Offset;
  constexpr size_t kEnd = sqlite::kWalIndexHeaderSize;
  if (::pwrite(shm_fd_, shm.data() + kCopy2, kEnd - kCopy2, off_t(kCopy2)) !=
          ssize_t(kEnd - kCopy2) ||
      ::pwrite(shm_fd_, shm.data(), kCopy2, 0) != ssize_t(kCopy2)) {
    return Status::FromErrno("database " + db_ + ": writing the -shm header", errno);
  }
  return Status::OK();
}

void ApplyLock::Release() {
  if (shm_held_ && !SetOfdLock(shm_fd_, F_UNLCK, kShmFirst, kShmCount)) {
    spdlog::error("database {}: releasing the apply lock on the -shm: {}", db_,
                  std::strerror(errno));
  }
  shm_held_ = false;
  if (pending_ && !SetOfdLock(db_fd_, F_UNLCK, sqlite::kPendingByte, sqlite::kSharedSize + 2)) {
    spdlog::error("database {}: releasing the apply lock: {}", db_, std::strerror(errno));
  }
  pending_ = false;
}

}  // namespace walship::store
