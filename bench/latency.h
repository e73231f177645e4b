// Per-operation latency samples and their percentiles.
//
// One recorder per thread while measuring; merged afterwards by one thread.
// Samples are kept exactly (8 bytes each): a 10 s run of a few hundred
// thousand operations per second stays within tens of megabytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace walship::bench {

class LatencyRecorder {
 public:
  void Record(int64_t nanos) { samples_.push_back(nanos); }
  void Merge(const LatencyRecorder& other);
  size_t count() const { return samples_.size(); }
  // The q-quantile (0 < q < 1) in microseconds; 0 when empty. Reorders samples.
  double PercentileMicros(double q);
  // The largest sample in microseconds; 0 when empty.
  double MaxMicros() const;

 private:
  std::vector<int64_t> samples_;
};

}  // namespace walship::bench
