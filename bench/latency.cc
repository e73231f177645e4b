#include "latency.h"

#include <algorithm>
#include <cmath>

namespace walship::bench {

void LatencyRecorder::Merge(const LatencyRecorder& other) {
  samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
}

double LatencyRecorder::PercentileMicros(double q) {
  if (samples_.empty()) return 0;
  // Nearest-rank: the smallest sample with at least q of all samples at or below it.
  double position = std::ceil(q * static_cast<double>(samples_.size()));
  size_t rank = position < 1 ? 0 : static_cast<size_t>(position) - 1;
  rank = std::min(rank, samples_.size() - 1);
  std::nth_element(samples_.begin(), samples_.begin() + rank, samples_.end());
  return static_cast<double>(samples_[rank]) / 1000.0;
}

double LatencyRecorder::MaxMicros() const {
  if (samples_.empty()) return 0;
  return static_cast<double>(*std::max_element(samples_.begin(), samples_.end())) / 1000.0;
}

}  // namespace walship::bench
