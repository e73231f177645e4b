// LockTable: POSIX byte-range advisory locks (fcntl F_SETLK/F_GETLK semantics)
// for one file, held by walship instead of the kernel.
//
// SQLite coordinates through these locks (DESIGN.md §2.1); keeping them here
// lets the store see when a writer ends a transaction (the WAL write lock or
// the database RESERVED lock being released) and lets it exclude readers while
// applying a transaction on a replica. Locks never block: a conflicting request
// fails and SQLite's busy handler retries, as with F_SETLK.
//
// Owners are the kernel's lock-owner ids (one per process file table); a
// lock held by one owner never conflicts with itself, and re-locking a range
// converts it, as POSIX requires. Not thread-safe: the owning Db's mutex guards it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace walship::store {

enum class LockType { kRead, kWrite, kUnlock };

struct LockRange {
  uint64_t start = 0;
  uint64_t end = 0;  // inclusive; UINT64_MAX means "to end of file and beyond"
  LockType type = LockType::kRead;
  uint64_t owner = 0;
  uint32_t pid = 0;
};

class LockTable {
 public:
  // Sets, converts or releases [start, end] for `owner`. Returns false (no
  // change at all) when another owner holds a conflicting lock.
  bool Set(uint64_t owner, uint32_t pid, LockType type, uint64_t start, uint64_t end);
  // The first lock of another owner that conflicts with the request, if any.
  std::optional<LockRange> FindConflict(uint64_t owner, LockType type, uint64_t start,
                                        uint64_t end) const;
  // Releases every lock of `owner` (close of a file descriptor, process exit).
  void ReleaseOwner(uint64_t owner);
  // True if anyone holds a lock overlapping [start, end] of the given type
  // (kWrite: only write locks count; kRead: any lock counts).
  bool IsLocked(LockType type, uint64_t start, uint64_t end) const;
  // True if `owner` holds a write lock overlapping [start, end].
  bool HoldsWrite(uint64_t owner, uint64_t start, uint64_t end) const;
  bool empty() const { return locks_.empty(); }
  size_t size() const { return locks_.size(); }
  // Drops every lock of every owner (a primary stepping down).
  void Clear() { locks_.clear(); }

 private:
  // Removes [start, end] from `owner`'s locks, splitting ranges as needed.
  void Carve(uint64_t owner, uint64_t start, uint64_t end);

  std::vector<LockRange> locks_;  // small: SQLite holds a handful per process
};

}  // namespace walship::store
