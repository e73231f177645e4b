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
//   The -shm's five read locks (bytes 123..127), whenever there is a -shm:
//   a connection in WAL mode keeps SHARED on the database file for as long
//   as it is open, but each read transaction holds a read lock, so once
//   these are held no reader in WAL mode is in a transaction, and one that
//   begins retries inside SQLite (about 10 s) until they go. The write lock
//   (120) walship holds for as long as it is a replica, when it can
//   (Db::OpenMountFiles), so no connection rebuilds the header or writes
//   the WAL. TellWalReaders rewrites the header before the locks go
//   (ResetForChangedDatabase), so readers drop their caches.
//   Rollback mode (page 1 says so): also EXCLUSIVE (the whole SHARED range)
//   once the readers in progress finish. A connection still in WAL mode (the
//   primary changed journal mode) never lets SHARED go; when someone holds
//   the -shm and readers do not leave within kStaleWait, apply goes on
//   without it and logs that those connections must be reopened.
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
  // opened likewise, or -1 when it has none. `wal`: page 1 says WAL mode.
  // `db` names it in messages.
  ApplyLock(std::string db, int db_fd, int shm_fd, bool wal);
  ~ApplyLock();
  ApplyLock(const ApplyLock&) = delete;
  ApplyLock& operator=(const ApplyLock&) = delete;

  // Blocks until readers are out (see above). IOError if fcntl fails.
  Status Acquire();
  // Rewrites the -shm header for a database of `db_pages` pages, with
  // iChange `change` (it must differ from the last one: the low bits of the
  // TXID). A no-op without a -shm, or one too short to hold a header.
  // REQUIRES: acquired.
  Status TellWalReaders(uint32_t db_pages, uint32_t change);
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
