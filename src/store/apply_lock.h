// ApplyLock: SQLite's database-file locks, taken by walship on a replica while
// it applies a transaction (DESIGN.md §2.2).
//
// Readers lock the same bytes with fcntl through the mount and the kernel keeps
// those locks, so walship takes them as a SQLite writer would: PENDING first,
// so no new reader starts, then EXCLUSIVE (the whole SHARED range) once the
// readers in progress finish. A reader that starts meanwhile gets SQLITE_BUSY
// and retries under its busy timeout. The locks are open-file-description
// locks (F_OFD_SETLK) on a descriptor opened through the mount: they conflict
// with SQLite's POSIX locks, and closing some other descriptor of the same
// file in this process does not drop them.
//
// A connection opened in WAL mode while this node was the primary keeps its
// SHARED lock for as long as it stays open, which would hold every apply off
// forever. Such a connection also holds the -shm's DMS lock, which no reader
// on a replica takes (page 1 reads as a rollback-journal database there). So
// when someone holds the -shm and readers do not leave within kStaleWait,
// apply goes on under PENDING alone and logs that those connections must be
// reopened.
//
// Not thread-safe: one apply at a time. Descriptors are borrowed.
#pragma once

#include <chrono>
#include <string>

#include "base/status.h"

namespace walship::store {

class ApplyLock {
 public:
  static constexpr std::chrono::milliseconds kStaleWait{1000};

  // `db_fd`: the database file opened through the mount; `shm_fd`: its -shm
  // opened likewise, or -1 when it has none. `db` names it in messages.
  ApplyLock(std::string db, int db_fd, int shm_fd);
  ~ApplyLock();
  ApplyLock(const ApplyLock&) = delete;
  ApplyLock& operator=(const ApplyLock&) = delete;

  // Blocks until readers are out (see above). IOError if fcntl fails.
  Status Acquire();
  // Drops both locks. Idempotent; also done by the destructor.
  void Release();

 private:
  // F_OFD_SETLK of a write lock on [start, start + len); false when another
  // holds a conflicting lock.
  Result<bool> TryWriteLock(int fd, uint64_t start, uint64_t len);
  // The pid of a process holding a lock that conflicts with a write lock on
  // [start, start + len) of `fd`, or 0 when none does.
  int Holder(int fd, uint64_t start, uint64_t len) const;

  std::string db_;
  int db_fd_;
  int shm_fd_;
  bool held_ = false;
};

}  // namespace walship::store
