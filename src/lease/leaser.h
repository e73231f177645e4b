// Leaser: who is primary. One implementation per lease type (DESIGN.md §2.4):
// static (configured, no service) and etcd (elected, with failover). The node
// starts the Leaser with a callback and changes its role whenever the lease
// state changes; the store never sees the Leaser.
//
// Thread-safety: implementations are thread-safe. The callback runs on the
// Leaser's own thread (or inside Start) and must only hand work off.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/status.h"

namespace walship::lease {

// What a lease says about the primary node (the lease value).
struct PrimaryInfo {
  std::string hostname;
  std::string advertise_url;  // its node API, e.g. http://node1:20202
  std::string node_id;        // 16 hex digits; empty under the static lease
  bool operator==(const PrimaryInfo&) const = default;
};

struct LeaseState {
  bool primary = false;                // this node holds the lease
  std::optional<PrimaryInfo> current;  // the primary; nullopt while none is known
  bool operator==(const LeaseState&) const = default;
};

using LeaseCallback = std::function<void(const LeaseState&)>;

class Leaser {
 public:
  virtual ~Leaser() = default;
  // "static" or "etcd".
  virtual const char* type() const = 0;
  // Starts following the lease. `on_change` gets the initial state before
  // Start returns, then every change.
  virtual Status Start(LeaseCallback on_change) = 0;
  // Stops following; a primary releases the lease so failover is immediate.
  virtual void Stop() = 0;
  virtual LeaseState state() const = 0;
  // Moves the lease from this primary to `to`. The write fence is closed
  // first; `caught_up` must return OK once `to` has every transaction (any
  // error cancels the handoff and reopens the fence).
  virtual Status HandOff(const PrimaryInfo& to, const std::function<Status()>& caught_up) = 0;
};

}  // namespace walship::lease
