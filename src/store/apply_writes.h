// ApplyWrites: the writes a run of LTX files makes to a replica's database
// file, coalesced. Files are decoded in order; each page they carry is held
// (the last version of each page wins) and written when the run ends or the
// held pages pass a budget; each file's commit size is noted, and the file
// is cut and sized once. The file ends exactly as if each LTX had been
// written page by page and truncated to its commit size in turn.
//
// Why: a replica applies what has arrived in batches, and a run of small
// transactions rewrites the same few pages (the table's last leaf, its
// parents) in every one: one pwrite per page per batch instead of one per
// page per transaction, and one size check per batch instead of an fstat
// per transaction (docs/benchmarks.md).
//
// Readers must not see the file meanwhile (Db::ApplyBatch holds ApplyLock);
// a crash in between is repaired from the LTX log like any interrupted apply.
//
// Not thread-safe: one applier at a time, under its Db's mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "env/env.h"

namespace walship::store {

class ApplyWrites {
 public:
  struct ByteRange {
    uint64_t offset;
    uint64_t length;
  };
  static constexpr size_t kHeldBytes = 4 << 20;

  // `database` is `size` bytes long now. `held_bytes` bounds the pages held
  // before they are written out.
  ApplyWrites(env::File* database, uint64_t size, size_t held_bytes = kHeldBytes);

  // Page `pgno` of page.size() bytes, as the current LTX file has it (copied).
  Status Page(uint32_t pgno, std::span<const uint8_t> page);
  // The current LTX file ends: the database is `size` bytes.
  Status Resize(uint64_t size);
  // Writes what is held and gives the file its size.
  Status Finish();

  // Where the database file changed so far, sorted, touching ranges joined:
  // the pages written and what a shrink cut off.
  std::vector<ByteRange> Changed() const;

 private:
  // Writes the held pages, after cutting the file where a shrink since the
  // last flush left it.
  Status Flush();

  env::File* database_;
  size_t held_limit_;
  uint64_t size_;               // as the files so far leave it
  uint64_t written_size_;       // as the file is on disk
  static constexpr uint64_t kNoCut = UINT64_MAX;
  uint64_t cut_to_ = kNoCut;    // the smallest size a shrink left since the last flush
  uint32_t page_size_ = 0;      // of the held pages
  std::map<uint32_t, std::string> held_;  // pgno -> page bytes
  std::vector<ByteRange> changed_;
};

}  // namespace walship::store
