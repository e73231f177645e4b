// Command-line options of walship-bench and their parser.
//
// Plain data; parsing has no side effects other than writing to the given
// error string. Not shared between threads after parsing (workers copy what
// they need).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace walship::bench {

// The workloads of the LiteFS comparison (DESIGN.md §5), in the order "all" runs them.
inline const std::vector<std::string> kAllWorkloads = {"read", "insert", "mixed", "concurrent"};

struct Options {
  std::string dir;                     // where the database files go (any directory)
  std::vector<std::string> workloads;  // subset of kAllWorkloads
  double duration_s = 10;              // measured period per workload
  double warmup_s = 1;                 // unmeasured period before it
  int64_t max_ops = 0;                 // stop after this many measured ops (0: no limit)
  int64_t rows = 100000;               // prefill for read and mixed
  std::string journal_mode = "wal";    // PRAGMA journal_mode
  std::string synchronous = "normal";  // PRAGMA synchronous
  int threads = 10;                    // writer threads of "concurrent"
  int value_size = 100;                // bytes of each row's random blob
  uint64_t seed = 20240601;            // base seed; thread i uses seed + i
  int busy_timeout_ms = 5000;          // PRAGMA busy_timeout for every connection
  std::string name_prefix = "bench";   // database file is DIR/<prefix>_<workload>.db
  bool keep = false;                   // leave the database files behind
  // Read DIR/<prefix>_read.db as it is (a replica's): opened read-only, no
  // setup, no journal-mode change, nothing removed. The read workload only.
  bool read_only = false;
};

// Fills *out from argv. Returns false and sets *error on bad input; returns
// false with an empty *error when --help was asked (usage already printed).
bool ParseOptions(int argc, char** argv, Options* out, std::string* error);

// The usage text, one option a line.
std::string Usage();

}  // namespace walship::bench
