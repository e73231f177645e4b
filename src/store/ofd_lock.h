// Open-file-description byte-range locks (F_OFD_SETLK, F_OFD_GETLK) on
// SQLite's lock bytes, taken through walship's own mount: the kernel checks
// them against the POSIX locks SQLite's connections hold (DESIGN.md §2.1).
// Used by ApplyLock (a replica's apply) and the fence keeper (a primary's WAL
// write lock). Only system calls: safe in the keeper's forked child.
#pragma once

#include <fcntl.h>

#include <cstdint>

namespace walship::store {

// A lock request of `type` (F_WRLCK, F_RDLCK or F_UNLCK) on [start, start + len).
inline struct flock OfdLockOf(short type, uint64_t start, uint64_t len) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = off_t(start);
  lock.l_len = off_t(len);
  return lock;  // l_pid stays 0, as F_OFD_* requires
}

// Sets (or, with F_UNLCK, releases) the lock without waiting; false with
// errno set when another holds a conflicting one (EAGAIN, EACCES) or it fails.
inline bool SetOfdLock(int fd, short type, uint64_t start, uint64_t len) {
  struct flock lock = OfdLockOf(type, start, len);
  return ::fcntl(fd, F_OFD_SETLK, &lock) == 0;
}

}  // namespace walship::store
