// The four workloads of the LiteFS comparison (DESIGN.md §5):
//   read        point SELECTs by random key on a prefilled table (1 thread)
//   insert      single-row INSERT transactions (1 thread)
//   mixed       70% point SELECTs / 30% single-row INSERT transactions (1 thread)
//   concurrent  N writer threads, each its own connection, single-row INSERT transactions
//
// RunWorkload blocks for about warmup + duration seconds (plus setup), runs
// its worker threads itself, and joins them before returning.
#pragma once

#include <cstdint>
#include <string>

#include "bench_options.h"

namespace walship::bench {

struct WorkloadResult {
  std::string workload;
  int64_t ops = 0;     // successful operations in the measured period
  double seconds = 0;  // length of the measured period
  int64_t errors = 0;  // failed operations, warm-up included, plus setup failures
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;        // the slowest operation: shows stalls that p99 hides
  std::string first_error;  // empty when errors == 0
};

// Creates a fresh database DIR/<prefix>_<workload>.db, runs WORKLOAD on it
// and, unless options.keep, removes the database files again.
WorkloadResult RunWorkload(const Options& options, const std::string& workload);

// The result as one line of JSON (no trailing newline).
std::string ToJson(const WorkloadResult& result);

}  // namespace walship::bench
