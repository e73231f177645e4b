// Retention: a background task that deletes LTX files older than
// `data.retention` (by modification time) every `data.retention-monitor-interval`,
// never the newest file of a database — the position must stay provable, and
// replicas further behind get a snapshot instead (DESIGN.md §1.3). With an
// archive floor set (continuous backup), a file holding any TXID above the
// highest archived one is never deleted, however old.
//
// Thread-safety: Start/Stop from one thread; RunOnce may be called directly
// (tests) while the task is stopped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "store/store.h"

namespace walship::store {

class Retention {
 public:
  // `store` must outlive this object.
  Retention(Store* store, std::chrono::milliseconds retention,
            std::chrono::milliseconds interval);
  ~Retention();

  // The highest archived TXID of a database: files holding a TXID above it
  // are kept. REQUIRES: called before Start(); `floor` must be thread-safe.
  using ArchiveFloor = std::function<uint64_t(const std::string& db)>;
  void SetArchiveFloor(ArchiveFloor floor) { floor_ = std::move(floor); }

  void Start();
  void Stop();
  // One pass over every database; returns the number of files deleted.
  size_t RunOnce();

 private:
  size_t EnforceOn(Db* db);

  Store* store_;
  std::chrono::milliseconds retention_;
  std::chrono::milliseconds interval_;
  ArchiveFloor floor_;
  std::jthread thread_;
};

}  // namespace walship::store
