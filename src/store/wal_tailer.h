// WalTailer: finds the commits in -wal files that SQLite writes without
// walship seeing the writes (FUSE passthrough, DESIGN.md §2.1).
//
// It watches the data directory of each database it follows (inotify,
// IN_MODIFY) and, when its `wal` file was written, has the Db read the WAL
// back and record every transaction committed since (Db::CaptureWal): one
// wake-up, usually within a few tens of microseconds of the commit, covers
// every write the kernel queued meanwhile. The moments where SQLite could
// overwrite frames not yet captured (a checkpoint, the WAL's sync,
// truncation or removal) reach walship as requests, and the Db captures
// there first, synchronously; the tailer only keeps the lag short.
//
// Thread-safety: all methods are thread-safe. Followed Dbs must outlive the
// tailer (the Store keeps every Db until it is destroyed).
#pragma once

#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "base/status.h"
#include "store/db.h"

namespace walship::store {

class WalTailer {
 public:
  WalTailer() = default;
  ~WalTailer();
  WalTailer(const WalTailer&) = delete;
  WalTailer& operator=(const WalTailer&) = delete;

  Status Start();
  void Stop();
  // Captures `db`'s commits whenever its WAL is written. Idempotent.
  Status Follow(Db* db);

 private:
  void Run(std::stop_token stop);
  void CaptureFrom(int wd);

  int inotify_fd_ = -1;
  int wake_fd_ = -1;  // an eventfd: Stop wakes the thread through it
  std::mutex mu_;
  std::unordered_map<int, Db*> followed_;            // watch descriptor -> Db; guarded by mu_
  std::unordered_map<Db*, std::string> last_error_;  // logged once until it changes
  std::jthread thread_;
};

}  // namespace walship::store
