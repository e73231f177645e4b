// ReconnectBackoff: how long a replica waits before reconnecting to the
// primary (docs/protocol.md, "Reconnecting"). The first wait is the
// configured delay (lease.reconnect-delay, at least kMinDelay so a zero delay
// cannot spin); each failed attempt doubles it up to the cap (5 s), or keeps
// it when the configured delay is already above the cap; a connection that
// delivered at least one frame (an LTX file, ready, a heartbeat) starts over.
//
// Thread-safety: none; owned by the replica's stream thread.
#pragma once

#include <algorithm>
#include <chrono>

namespace walship::repl {

class ReconnectBackoff {
 public:
  static constexpr std::chrono::milliseconds kMinDelay{10};

  ReconnectBackoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap)
      : initial_(std::max(initial, kMinDelay)), cap_(std::max(cap, initial_)), next_(initial_) {}

  // The wait before the next attempt, after a connection that `delivered` a
  // frame or not.
  std::chrono::milliseconds Next(bool delivered) {
    if (delivered) next_ = initial_;
    const std::chrono::milliseconds wait = next_;
    next_ = std::min(next_ * 2, cap_);
    return wait;
  }

 private:
  const std::chrono::milliseconds initial_;
  const std::chrono::milliseconds cap_;
  std::chrono::milliseconds next_;
};

}  // namespace walship::repl
