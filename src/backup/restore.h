// Restore: rebuilds a database file from the archive at a chosen point —
// the newest state, a TXID, or the last transaction committed at or before a
// moment (docs/backup.md, "Restore").
//
// The plan: the newest snapshot at or before the point, then from its TXID
// onward, at each step the object that reaches furthest without passing the
// point (a compacted level when one starts exactly there, else the L0 batch
// that holds the next TXID, applied file by file). Every LTX file is decoded
// and checked completely, its pre-apply checksum must equal the running
// database checksum and its post-apply checksum the one computed while
// applying it; the finished file's checksum is recomputed from its bytes.
// The output is written to FILE.tmp, fsynced and renamed over FILE.
//
// A missing or damaged object fails the restore with Corruption or NotFound
// naming the object and the TXID range it breaks. Thread-compatible: one
// restore per object.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "backup/envelope.h"
#include "backup/target.h"
#include "base/status.h"

namespace walship::backup {

struct RestorePoint {
  enum class Kind { kLatest, kTxid, kTimestamp };
  Kind kind = Kind::kLatest;
  uint64_t txid = 0;          // kTxid
  int64_t timestamp_ms = 0;   // kTimestamp: Unix ms, inclusive
};

struct RestoreProgress {
  uint64_t txid = 0;           // reached so far
  uint64_t objects = 0;        // downloaded so far
  uint64_t bytes = 0;          // downloaded so far
  uint64_t target_txid = 0;    // best estimate of where it ends
};

struct RestoreResult {
  uint64_t txid = 0;
  uint64_t checksum = 0;
  int64_t timestamp_ms = 0;  // of the last transaction applied
  uint32_t page_size = 0;
  uint32_t page_count = 0;
  uint64_t objects = 0;
  uint64_t bytes = 0;
};

struct RestoreOptions {
  std::string db;
  RestorePoint point;
  std::string output_path;
  bool overwrite = false;  // refuse an existing output file unless set
  // Called after every object applied.
  std::function<void(const RestoreProgress&)> progress;
};

// `target` and `codec` are borrowed for the call.
Result<RestoreResult> Restore(ArchiveTarget* target, const ObjectCodec& codec,
                              const RestoreOptions& options);

}  // namespace walship::backup
