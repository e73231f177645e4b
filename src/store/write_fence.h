// WriteFence: whether this node may accept a commit right now (DESIGN.md §2.4).
//
// With a lease that expires (etcd), the primary may commit only until a
// deadline it computes from its last successful renewal, so it stops before
// the lease can have expired at etcd and another node can be elected. The
// lease moves the deadline forward on every renewal and closes the fence when
// it loses the lease or hands it off; Db checks Permits() around every write
// that could make a transaction durable (docs/failover.md).
//
// The default fence is open forever (the static lease never expires).
// Thread-safety: all methods are thread-safe (Permits: one atomic).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

namespace walship::store {

class WriteFence {
 public:
  using Clock = std::chrono::steady_clock;

  bool Permits() const { return Clock::now().time_since_epoch().count() < deadline_.load(); }
  // Commits are accepted until `until` (replaces any earlier deadline).
  void OpenUntil(Clock::time_point until) { deadline_.store(until.time_since_epoch().count()); }
  void OpenForever() { deadline_.store(INT64_MAX); }
  void Close() { deadline_.store(INT64_MIN); }
  // Before a planned close (a handoff, a stop): stops writers that do not
  // ask the fence and records what they committed, while it still stands
  // (FenceGuard, with FUSE passthrough). A no-op without a drain hook.
  void Drain() const;
  void SetDrain(std::function<void()> drain);
  // When commits stop being accepted (min when closed, max when open forever).
  Clock::time_point deadline() const {
    return Clock::time_point(Clock::duration(deadline_.load()));
  }
  // How long commits remain accepted (zero or negative when closed).
  std::chrono::milliseconds Remaining() const;

 private:
  std::atomic<int64_t> deadline_{INT64_MAX};
  mutable std::mutex drain_mu_;
  std::function<void()> drain_;  // guarded by drain_mu_
};

}  // namespace walship::store
