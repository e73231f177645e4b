// POSIX byte-range locks (fcntl F_GETLK/F_SETLK/F_SETLKW), held in the Db's
// lock tables rather than the kernel's (DESIGN.md §2.1).
#include <fcntl.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "fuse/errno.h"
#include "fuse/file_system.h"

namespace walship::fuse {
namespace {

store::LockType LockTypeOf(short type) {
  if (type == F_RDLCK) return store::LockType::kRead;
  if (type == F_WRLCK) return store::LockType::kWrite;
  return store::LockType::kUnlock;
}

// [start, end] of a struct flock whose l_start is already absolute (the kernel
// resolves SEEK_CUR/SEEK_END before asking).
bool RangeOf(const struct flock& lock, uint64_t* start, uint64_t* end) {
  if (lock.l_start < 0) return false;
  *start = uint64_t(lock.l_start);
  if (lock.l_len == 0) {
    *end = UINT64_MAX;
  } else if (lock.l_len > 0) {
    *end = *start + uint64_t(lock.l_len) - 1;
  } else {
    if (-lock.l_len > lock.l_start) return false;
    *end = *start - 1;
    *start -= uint64_t(-lock.l_len);
  }
  return true;
}

}  // namespace

int FileSystem::DoGetlk(fuse_ino_t ino, uint64_t owner, struct flock* lock) {
  auto node = NodeOf(ino);
  if (!node || !IsSqliteFile(node->kind)) return ENOLCK;
  store::Db* db = DbOf(*node);
  uint64_t start = 0, end = 0;
  if (!db) return ENOENT;
  if (!RangeOf(*lock, &start, &end)) return EINVAL;
  auto conflict = db->GetLock(FileKindOf(node->kind), owner, LockTypeOf(lock->l_type), start, end);
  if (!conflict) {
    lock->l_type = F_UNLCK;
    return 0;
  }
  lock->l_type = conflict->type == store::LockType::kWrite ? F_WRLCK : F_RDLCK;
  lock->l_whence = SEEK_SET;
  lock->l_start = off_t(conflict->start);
  lock->l_len = conflict->end == UINT64_MAX ? 0 : off_t(conflict->end - conflict->start + 1);
  lock->l_pid = pid_t(conflict->pid);
  return 0;
}

int FileSystem::DoSetlk(fuse_ino_t ino, uint64_t owner, const struct flock* lock, bool sleep,
                        fuse_req_t req) {
  auto node = NodeOf(ino);
  if (!node || !IsSqliteFile(node->kind)) return ENOLCK;
  store::Db* db = DbOf(*node);
  uint64_t start = 0, end = 0;
  if (!db) return ENOENT;
  if (!RangeOf(*lock, &start, &end)) return EINVAL;
  // SQLite only uses F_SETLK; F_SETLKW from other programs polls until the
  // lock is free or the caller is interrupted. A conflict with walship's own
  // apply on a replica always waits: it lasts only for the write itself, and
  // readers should not see SQLITE_BUSY because a transaction arrived.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    auto result = db->SetLock(FileKindOf(node->kind), owner, uint32_t(lock->l_pid),
                              LockTypeOf(lock->l_type), start, end);
    if (!result.ok()) return Log(ToErrno(result.status()), "lock", *node, result.status());
    if (*result == store::LockResult::kGranted) return 0;
    bool wait = sleep || (*result == store::LockResult::kBusyApplying &&
                          std::chrono::steady_clock::now() < deadline);
    if (!wait) return EAGAIN;
    if (fuse_req_interrupted(req)) return EINTR;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace walship::fuse
