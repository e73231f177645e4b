// ApplyQueue: what a replica's stream delivered, applied in order on a thread
// of its own, so that receiving the next files overlaps applying the last
// ones, and the LTX files that arrived meanwhile are applied together as one
// batch (Db::ApplyBatch: one sync of ltx/, one of the database). Anything
// else the stream carries (a divergence, the primary's "ready") is handed to
// a callback on the same thread, in its place in the order.
//
// The receiving thread Stages what it decoded and Submits once it has taken
// everything one read from the stream brought: the applying thread then
// wakes once for the lot, not once per file (and applies it as one batch,
// one sync). Submit blocks while the queue holds more than kMaxQueuedBytes.
// When applying fails, `on_failure` runs (it should stop the receiver) and
// the error is returned by the next Submit and by Finish.
//
// Thread-safety: Stage, Submit, Drain, Finish and Abort from one receiving
// thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "base/status.h"
#include "store/db.h"
#include "store/mount_access.h"
#include "store/received_ltx.h"

namespace walship::repl {

struct Received {
  enum class Kind { kLtx, kDiverged, kDeleted, kReady };
  Kind kind = Kind::kLtx;
  store::Db* db = nullptr;   // kLtx, kDiverged, kDeleted
  store::ReceivedLtx ltx;    // kLtx
  uint64_t common_txid = 0;  // kDiverged: the last TXID both histories share
};

class ApplyQueue {
 public:
  static constexpr size_t kMaxQueuedBytes = 64 << 20;
  static constexpr size_t kMaxBatchFiles = 1024;
  static constexpr size_t kMaxStagedFiles = 256;
  static constexpr size_t kMaxStagedBytes = 4 << 20;

  using OtherHandler = std::function<Status(const Received&)>;
  // `mount` (may be null) must outlive the queue.
  ApplyQueue(store::MountAccess* mount, OtherHandler other, std::function<void()> on_failure);
  ~ApplyQueue();  // Abort()
  ApplyQueue(const ApplyQueue&) = delete;
  ApplyQueue& operator=(const ApplyQueue&) = delete;

  // Holds `item` back until Submit (or until kMaxStagedFiles or
  // kMaxStagedBytes are staged: then it submits them, and may block as
  // Submit does).
  Status Stage(Received item);
  // Queues the staged items and wakes the applying thread.
  Status Submit();
  // Submits, then waits until everything so far is applied; the first error.
  Status Drain();
  // Submits and applies everything, stops the thread and returns the first
  // error.
  Status Finish();
  // Stops the thread; what is still queued is dropped.
  void Abort();

 private:
  void Run();
  // Applies `items` in order, LTX files of one database in batches.
  Status ApplyInOrder(std::vector<Received>& items);

  store::MountAccess* mount_;
  OtherHandler other_;
  std::function<void()> on_failure_;
  // The receiving thread's own (not guarded): what Stage holds back.
  std::vector<Received> staged_;
  size_t staged_bytes_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Received> items_;  // guarded by mu_
  size_t queued_bytes_ = 0;     // guarded by mu_
  uint64_t pushed_ = 0;         // guarded by mu_: items pushed
  uint64_t applied_ = 0;        // guarded by mu_: items applied
  bool finishing_ = false;      // guarded by mu_: no more items come
  bool aborted_ = false;        // guarded by mu_
  Status failed_;               // guarded by mu_
  std::thread thread_;
};

}  // namespace walship::repl
