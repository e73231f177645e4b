// SQLite's lock bytes: where in the database file and in the -shm file SQLite's
// unix VFS places its POSIX advisory locks. walship's FUSE layer keeps its own
// lock table keyed by these offsets so it can tell when a transaction ends.
//
// Database file (rollback and WAL mode). A lock is an fcntl() record lock on:
//   SHARED    read lock on [kSharedFirst, kSharedFirst + kSharedSize)
//   RESERVED  write lock on kReservedByte (one writer intends to write)
//   PENDING   write lock on kPendingByte (a writer waits for readers to leave);
//             a reader takes a transient read lock on it while acquiring SHARED
//   EXCLUSIVE write lock on the whole SHARED range (the writer may write the db)
// The page that holds kPendingByte is never used by SQLite (LockPgno()).
//
// -shm file (WAL mode only). SHM lock slot i (0..kShmNLock-1) is one byte at
// kShmLockBase + i; the "dead man switch" byte kShmDmsLock follows them. A
// read lock on DMS is held by every connection that maps the -shm; the first
// opener takes it exclusively and reinitializes the file.
//
// Pure constants and a pure function: thread-safe.
#pragma once

#include <cstdint>

namespace walship::sqlite {

// Database file lock bytes (os_unix.c / os.h; identical on every platform).
inline constexpr uint64_t kPendingByte = 0x40000000;
inline constexpr uint64_t kReservedByte = kPendingByte + 1;
inline constexpr uint64_t kSharedFirst = kPendingByte + 2;
inline constexpr uint64_t kSharedSize = 510;

// -shm lock bytes. SQLITE_SHM_NLOCK is 8; the base is (22 + 8) * 4 = 120,
// which is also where WalCkptInfo.aLock lives inside the wal-index header.
inline constexpr int kShmNLock = 8;
inline constexpr uint64_t kShmLockBase = 120;
inline constexpr uint64_t kShmWriteLock = kShmLockBase + 0;       // WAL_WRITE_LOCK
inline constexpr uint64_t kShmCheckpointLock = kShmLockBase + 1;  // WAL_CKPT_LOCK
inline constexpr uint64_t kShmRecoverLock = kShmLockBase + 2;     // WAL_RECOVER_LOCK
inline constexpr uint64_t kShmReadLock0 = kShmLockBase + 3;       // WAL_READ_LOCK(0)
inline constexpr int kShmReadLockCount = kShmNLock - 3;           // WAL_NREADER = 5
inline constexpr uint64_t kShmDmsLock = kShmLockBase + kShmNLock; // 128

// Byte offset in the -shm of SHM lock slot `slot` (0 = write, 1 = checkpoint,
// 2 = recover, 3..7 = read locks 0..4).
constexpr uint64_t ShmLockByte(int slot) { return kShmLockBase + uint64_t(slot); }
// Byte offset of WAL read lock `i` (0..4).
constexpr uint64_t ShmReadLock(int i) { return kShmReadLock0 + uint64_t(i); }

// The page number (1-based) of the page containing kPendingByte: SQLite never
// stores data there, and LTX files exclude it. 262145 for 4096-byte pages.
// REQUIRES: page_size is a valid SQLite page size (power of two 512..65536).
constexpr uint32_t LockPgno(uint32_t page_size) {
  return uint32_t(kPendingByte / page_size) + 1;
}

}  // namespace walship::sqlite
