// FenceKeeper: a child process that holds SQLite's WAL write lock when the
// write fence says so, even while walship itself cannot act (DESIGN.md §2.4,
// docs/architecture.md, "Fencing a WAL SQLite writes directly").
//
// With FUSE passthrough applications write their WAL without walship, so a
// walship that is paused (SIGSTOP, a stalled VM) or dead cannot refuse a
// commit. The keeper is forked for that: walship hands it a descriptor of
// each database's -shm (opened through the mount) and tells it the fence's
// deadline whenever it moves. From `lock_ahead` before the last deadline it
// heard of, and at once when walship goes away (the socket between them
// closes), it holds byte 120 of each -shm, SQLite's WAL write lock, with an
// open-file-description lock; it lets go when told of a later deadline.
// Once walship is gone it holds the locks until it is killed: the next
// walship on this data directory ends it (EndLeftoverKeeper) after recovery.
//
// The child runs between fork and _exit with only system calls and fixed
// arrays (no allocation, no logging: the parent's threads may hold the
// allocator's locks at the fork), with every descriptor but its socket
// closed (the /dev/fuse connection and the data directory lock among them).
//
// Thread-safety: the methods may be called from one thread at a time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace walship::store {

class FenceKeeper {
 public:
  // Forks the keeper and writes its pid to `pid_file`.
  static Result<std::unique_ptr<FenceKeeper>> Spawn(std::chrono::milliseconds lock_ahead,
                                                    const std::string& pid_file);
  // Tells the keeper to let every lock go and exit, and waits for it.
  ~FenceKeeper();
  FenceKeeper(const FenceKeeper&) = delete;
  FenceKeeper& operator=(const FenceKeeper&) = delete;

  // The fence stands until `deadline` (steady clock; min: closed).
  Status SetDeadline(std::chrono::steady_clock::time_point deadline);
  // The keeper guards database `id` through its own copy of `shm_fd` (the
  // caller keeps and closes its own).
  Status Guard(uint64_t id, int shm_fd);
  // The keeper closes its descriptor of database `id` (dropping its lock);
  // returns once it has (at most 1 s).
  Status Unguard(uint64_t id);
  // Has the keeper hold every lock now (as for a closed fence) and waits, at
  // most `timeout`, until it does (a write transaction under way finishes).
  Status HoldNow(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }
  // Whether the keeper has exited (killed: it never exits on its own while
  // walship runs).
  bool Exited();

  // Ends the keeper a walship that crashed left running (its pid in
  // `pid_file`, checked by name), so its locks go. Call after recovery.
  static void EndLeftover(const std::string& pid_file);

 private:
  FenceKeeper(int socket, pid_t pid, std::string pid_file);
  Status Send(uint32_t type, uint64_t id, int64_t value, int fd);
  // Reads the keeper's one-byte answers until `want` (IOError on timeout).
  Status AwaitAnswer(char want, std::chrono::milliseconds timeout);

  int socket_;
  pid_t pid_;
  bool reaped_ = false;
  std::string pid_file_;
};

}  // namespace walship::store
