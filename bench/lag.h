// walship-lag: replication lag from commit on a primary to visible on a replica.
//
// A writer thread commits one row (a sequence number) to the primary's
// database at a fixed rate; a reader thread keeps one read-only connection to
// the replica's copy open and polls `SELECT max(seq)`. For every row the lag
// is the time from its COMMIT returning on the primary to the first poll that
// saw it. Both threads run inside RunLag, which joins them before returning.
#pragma once

#include <cstdint>
#include <string>

namespace walship::bench {

struct LagOptions {
  std::string primary;          // database path on the primary's mount (created)
  std::string replica;          // the same database on a replica's mount
  double rate = 200;            // committed transactions per second
  double duration_s = 5;        // measured period
  double warmup_s = 0.5;        // unmeasured writes before it
  int poll_us = 100;            // pause between two polls of the replica
  double settle_s = 10;         // how long to wait for the last rows after writing
  double setup_timeout_s = 20;  // for the table to reach the replica
};

struct LagResult {
  int64_t writes = 0;        // measured rows committed on the primary
  int64_t seen = 0;          // of them, seen on the replica before settle_s ran out
  double write_seconds = 0;  // how long the measured writes took
  double p50_ms = 0, p99_ms = 0, max_ms = 0;    // commit -> visible, over `seen`
  double commit_p50_ms = 0, commit_p99_ms = 0;  // the INSERT transactions themselves
  int64_t errors = 0;
  std::string first_error;
};

// Parses argv into *out; false with *error set on bad input, false with an
// empty *error after printing the usage for --help.
bool ParseLagOptions(int argc, char** argv, LagOptions* out, std::string* error);
std::string LagUsage();

// Runs the measurement; blocks for about warmup + duration (+ settle) seconds.
LagResult RunLag(const LagOptions& options);

// The result as one JSON line (no trailing newline).
std::string LagToJson(const LagOptions& options, const LagResult& result);

}  // namespace walship::bench
