// ApplyLock: SQLite's locks, taken by walship on a replica while it applies
// transactions, so readers see the state before or after, never a mix
// (DESIGN.md §2.1, §2.2).
//
// Readers lock the same bytes with fcntl through the mount and the kernel
// keeps those locks, so walship takes them as SQLite would, with
// open-file-description locks (F_OFD_SETLK) on descriptors opened through
// the mount: they conflict with SQLite's POSIX locks, and closing some other
// descriptor of the same file in this process does not drop them.
//
//   PENDING on the database file, always: a connection that is not reading
//   yet cannot take SHARED, so it cannot start (SQLITE_BUSY, retried under
//   its busy timeout).
//   WAL mode (page 1 says so: readers keep a -shm and read through it): the
//   -shm's checkpoint, recover and five read locks (bytes 121..127). A
//   connection in WAL mode keeps SHARED on the database file for as long as
//   it is open, but each read transaction holds a read lock: once these are
//   held no reader is in a transaction, and one that begins retries inside
//   SQLite (about 10 s) until they go. The write lock (120) is left alone:
//   no reader on a replica takes it (its -wal is read-only there), and after
//   a step-down the fence keeper may hold it. Release rewrites the -shm
//   header first (ResetForChangedDatabase), so readers drop their caches.
//   Rollback mode: EXCLUSIVE (the whole SHARED range) once the readers in
//   progress finish. A connection still in WAL mode (the primary changed
//   journal mode) never lets SHARED go; when someone holds the -shm and
//   readers do not leave within kStaleWait, apply goes on under PENDING and
//   logs that those connections must be reopened.
//
// Not thread-safe: one apply at a time. Descriptors are borrowed.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace walship::store {

class ApplyLock {
 public:
  static constexpr std::chrono::milliseconds kStaleWait{1000};

  // `db_fd`: the database file opened through the mount; `shm_fd`: its -shm
  // opened likewise, or -1 when it has none. `wal`: readers see a WAL-mode
  // database (REQUIRES shm_fd >= 0). `db` names it in messages.
  ApplyLock(std::string db, int db_fd, int shm_fd, bool wal);
  ~ApplyLock();
  ApplyLock(const ApplyLock&) = delete;
  ApplyLock& operator=(const ApplyLock&) = delete;

  // Blocks until readers are out (see above). IOError if fcntl fails.
  Status Acquire();
  // In WAL mode, rewrites the -shm header for a database of `db_pages`
  // pages (a no-op while the header is not valid). REQUIRES: acquired.
  Status TellWalReaders(uint32_t db_pages);
  // Drops every lock. Idempotent; also done by the destructor.
  void Release();

 private:
  // F_OFD_SETLK of a write lock on [start, start + len); false when another
  // holds a conflicting one.
  Result<bool> TryWriteLock(int fd, uint64_t start, uint64_t len);
  // The next lock Acquire still needs; true once readers are out.
  Result<bool> TakeNextLock(std::chrono::steady_clock::duration waited);
  // The pid of a process holding a lock that conflicts with a write lock on
  // [start, start + len) of `fd`, or 0 when none does.
  int Holder(int fd, uint64_t start, uint64_t len) const;

  std::string db_;
  int db_fd_;
  int shm_fd_;
  bool wal_;
  bool pending_ = false;   // PENDING held
  bool shm_held_ = false;  // the -shm's bytes held
};

}  // namespace walship::store
