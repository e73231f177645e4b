#include "store/write_fence.h"

namespace walship::store {

std::chrono::milliseconds WriteFence::Remaining() const {
  const int64_t deadline = deadline_.load();
  if (deadline == INT64_MAX) return std::chrono::milliseconds::max();
  if (deadline == INT64_MIN) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      Clock::duration(deadline) - Clock::now().time_since_epoch());
}

void WriteFence::Drain() const {
  std::function<void()> drain;
  {
    std::lock_guard lock(drain_mu_);
    drain = drain_;
  }
  if (drain) drain();
}

void WriteFence::SetDrain(std::function<void()> drain) {
  std::lock_guard lock(drain_mu_);
  drain_ = std::move(drain);
}

}  // namespace walship::store
