// WritebackAhead: starts the kernel's writeback of a file's bytes as they are
// written, a step at a time, without waiting for it (sync_file_range with
// SYNC_FILE_RANGE_WRITE), so the fsync that must come later finds little left
// to write.
//
// Why: SQLite syncs its WAL before every checkpoint (and walship the LTX log
// with it, DESIGN.md §2.1); with nothing written back before, that sync writes
// a whole WAL's worth of frames and the log's entries at once while the
// application waits (about 8 ms of a checkpoint here, against 4 ms for native
// SQLite's own WAL; docs/benchmarks.md). Durability never depends on this:
// only the fsync does.
//
// Not thread-safe: its owner's mutex guards it.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

namespace walship::store {

class WritebackAhead {
 public:
  static constexpr uint64_t kStepBytes = 1 << 20;
  static constexpr uint64_t kPageBytes = 4096;

  // The bytes of the file `fd` before offset `end` were written: starts the
  // writeback of those not started yet once they make a step, up to the
  // page boundary below `end` (the page holding `end` is likely written
  // again). An `end` below the last one means the file was rewritten from
  // its start (a WAL restart, an emptied log): it starts over from 0.
  // Returns the range [from, to) started, if one was; a failure to start it
  // is ignored (the fsync writes it anyway).
  std::optional<std::pair<uint64_t, uint64_t>> Written(int fd, uint64_t end);

 private:
  uint64_t started_to_ = 0;  // writeback started for [0, started_to_)
};

}  // namespace walship::store
