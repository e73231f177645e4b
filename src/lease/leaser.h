// Leaser: who is primary. One implementation per lease type (DESIGN.md §2.4):
// static (configured, no service) and, later, etcd. The node asks the Leaser
// for the current primary and reacts to changes; the store never sees it.
//
// Thread-safety: implementations are thread-safe.
#pragma once

#include <optional>
#include <string>

#include "base/status.h"

namespace walship::lease {

// What a lease says about the primary node (the lease value).
struct PrimaryInfo {
  std::string hostname;
  std::string advertise_url;  // its node API, e.g. http://node1:20202
  bool operator==(const PrimaryInfo&) const = default;
};

class Leaser {
 public:
  virtual ~Leaser() = default;
  // "static" or "etcd".
  virtual const char* type() const = 0;
  // Tries to become (or confirms being) the primary. OK when this node holds
  // the lease; NotPrimary when another node does or this node cannot lead.
  virtual Status Acquire() = 0;
  // The current primary as far as this node knows; nullopt when none is known.
  virtual std::optional<PrimaryInfo> Primary() const = 0;
};

}  // namespace walship::lease
