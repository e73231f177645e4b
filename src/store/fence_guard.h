// FenceGuard: the write fence for WALs that SQLite writes directly (FUSE
// passthrough under an expiring lease; DESIGN.md §2.4, docs/failover.md).
//
// On the request path the fence refuses the WAL write itself. With
// passthrough walship sees a commit only after it happened, so the fence
// keeps the next one from starting instead: from `lock_ahead` before the
// fence closes until a renewal opens it again, SQLite's WAL write lock (byte
// 120 of the -shm) is held on every database of this primary whose WAL is
// written directly. A writer then waits under its busy timeout, or gets
// SQLITE_BUSY, as behind another writer. The FenceKeeper process holds the
// locks, so they hold while walship is paused or dead too; this thread tells
// it the fence's deadline and hands it each such database's -shm, opened
// through the mount.
//
// While the fence nears its end the guard has each Db record what was
// committed (Db::CaptureWal admits a commit only if the fence still stands
// after reading it back: one read after the fence closed stays in the WAL and
// is set aside at the step-down). When the fence opens again it records what
// was held back: the renewal proves the lease never lapsed.
//
// Thread-safety: Start and Stop from one thread; one background thread does
// the rest. The Store, its fence and the mount must outlive Stop.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "base/status.h"
#include "store/fence_keeper.h"
#include "store/mount_access.h"
#include "store/store.h"

namespace walship::store {

struct FenceGuardOptions {
  Store* store = nullptr;
  MountAccess* mount = nullptr;
  // How long before the fence closes the locks are taken: shorter than the
  // time a renewal normally leaves (ttl - margin - ttl/3), longer than a
  // write transaction usually holds the lock.
  std::chrono::milliseconds lock_ahead{300};
  // Where the keeper's pid is kept (DATA/fence-keeper.pid).
  std::string keeper_pid_file;
};

class FenceGuard {
 public:
  explicit FenceGuard(FenceGuardOptions options);
  ~FenceGuard();
  FenceGuard(const FenceGuard&) = delete;
  FenceGuard& operator=(const FenceGuard&) = delete;

  // Starts the keeper process, then the thread.
  Status Start();
  // Stops the thread, then the keeper (which lets every lock go).
  void Stop();

 private:
  void Run(std::stop_token stop);
  // Starts a keeper (anew: the last one was killed), which guards nothing yet.
  Status SpawnKeeper();
  // Tells the keeper of the deadline if it moved, and of databases that
  // came to need guarding or stopped needing it.
  void UpdateKeeper(std::unique_lock<std::mutex>& lock);
  // Has every guarded Db record the commits in its WAL (see above).
  void CaptureAll();
  // Store's hooks: a -shm is handed to the keeper as its first application
  // opens it, and the keeper closes its descriptor before it is removed.
  void AfterShmOpened(Db* db, bool wait);
  void BeforeShmRemoved(Db* db);
  // The fence's drain hook (WriteFence::Drain).
  void Drain();

  FenceGuardOptions options_;
  WriteFence* fence_;
  std::unique_ptr<FenceKeeper> keeper_;
  std::chrono::steady_clock::time_point told_deadline_{};  // the keeper's
  bool told_ = false;
  // Drain told the keeper to hold at this deadline: kept so until then.
  std::chrono::steady_clock::time_point drained_deadline_{};
  std::chrono::steady_clock::time_point drained_until_{};
  bool closing_ = false;  // within lock_ahead of the deadline; the thread's
  // Held by the thread while it works (not while it sleeps, nor while it
  // opens a -shm through the mount) and by the hooks.
  std::mutex mu_;
  std::unordered_set<Db*> guarded_;  // handed to the keeper; guarded by mu_
  // How many times each database's -shm was removed: a descriptor opened
  // across a removal is not handed over. Guarded by mu_.
  std::unordered_map<Db*, uint64_t> removals_;
  std::atomic<bool> poked_{false};  // AfterShmOpened wants a look now
  std::condition_variable_any wake_;
  std::condition_variable handed_over_;  // the thread looked at the databases
  std::jthread thread_;
};

}  // namespace walship::store
