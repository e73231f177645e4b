// Retention: a background task that deletes LTX files older than
// `data.retention` (by modification time) every `data.retention-monitor-interval`,
// never the newest file of a database — the position must stay provable, and
// replicas further behind get a snapshot instead (DESIGN.md §1.3).
//
// Thread-safety: Start/Stop from one thread; RunOnce may be called directly
// (tests) while the task is stopped.
#pragma once

#include <chrono>
#include <condition_variable>
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

  void Start();
  void Stop();
  // One pass over every database; returns the number of files deleted.
  size_t RunOnce();

 private:
  size_t EnforceOn(Db* db);

  Store* store_;
  std::chrono::milliseconds retention_;
  std::chrono::milliseconds interval_;
  std::jthread thread_;
};

}  // namespace walship::store
