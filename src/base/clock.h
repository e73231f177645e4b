// Clock seam: wall time for timestamps and monotonic time for intervals, so
// lease and lag logic can be tested with a fake. Implementations are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace walship {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowUnixMs() const = 0;
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;

  // The process-wide real clock; never null, lives forever.
  static Clock* Real();
};

}  // namespace walship
