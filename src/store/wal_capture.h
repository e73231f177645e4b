// WalCapture: follows the writes SQLite makes to a database's -wal file on the
// primary and says, at the end of a write transaction, which frames it
// committed (DESIGN.md §2.1).
//
// Frame headers are parsed from the write buffers as they pass through; a write
// that splits a frame header (never done by SQLite's unix VFS, possible with
// other writers) marks the state so the headers are reread from the file at
// commit. Frames stay pending until a commit frame (nonzero "db size") ends a
// transaction; frames after the last commit frame when the writer releases the
// WAL write lock belong to a rolled-back transaction and are dropped. SQLite
// writes a frame's header and its page in two writes, and another process (a
// checkpointer) may sync the WAL in between: a frame counts only once the
// writes of this WAL generation reach its last byte (SQLite writes frames front
// to back; later rewrites of a header do not make a frame incomplete again).
// Not thread-safe: the owning Db's mutex guards it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "env/env.h"
#include "store/tx_spec.h"

namespace walship::store {

class WalCapture {
 public:
  // Observes a write of `data` at `offset` of the WAL file at wall-clock time
  // `now_ms` (a transaction's commit time is its commit frame's).
  void OnWrite(uint64_t offset, std::span<const uint8_t> data, int64_t now_ms = 0);
  // The WAL file was truncated to `size` bytes or removed (size 0).
  void OnTruncate(uint64_t size);
  // Adopts an existing WAL (start-up): frames before `captured_end` are already
  // in LTX files; `index` maps each page to its last committed frame offset.
  void Restore(uint32_t page_size, uint32_t salt1, uint32_t salt2, uint64_t captured_end,
               std::unordered_map<uint32_t, uint64_t> index);

  // The transaction ended by the last pending commit frame, if any, among the
  // frames written completely; frames up to it are marked captured. With
  // `end_of_write` (the WAL write lock was released) frames after it are
  // dropped too. Reads frame headers from `wal` only when a write split one.
  Result<std::optional<TxSpec>> TakeCommitted(env::File* wal, bool end_of_write);

  // Start-up: a committed frame found in the WAL after `captured_end`.
  void OnRecoveredFrame(uint64_t offset, uint32_t pgno, uint32_t commit);
  // The first pending transaction (up to the first commit frame), if any; one
  // LTX per transaction SQLite committed.
  std::optional<TxSpec> TakeFirstCommitted();

  bool has_header() const { return page_size_ != 0; }
  uint32_t page_size() const { return page_size_; }
  // Offset of the committed frame holding `pgno`'s latest image, if the page is
  // in the current WAL (its bytes start 24 bytes after the offset).
  std::optional<uint64_t> FindPage(uint32_t pgno) const;
  // Every page with a committed frame in the current WAL, ascending.
  std::vector<uint32_t> IndexedPages() const;

 private:
  struct Frame {
    uint32_t pgno = 0;
    uint32_t commit = 0;
    int64_t written_ms = 0;  // 0: unknown (read back from the file)
  };
  uint64_t FrameSize() const { return uint64_t(page_size_) + 24; }
  void OnHeaderWrite(std::span<const uint8_t> data);
  Status RereadPending(env::File* wal);
  TxSpec BuildSpec(uint64_t commit_offset, uint32_t commit);

  uint32_t page_size_ = 0;  // 0: no valid WAL header seen
  uint32_t salt1_ = 0;
  uint32_t salt2_ = 0;
  uint64_t captured_end_ = 32;            // frames before this are in LTX files
  uint64_t written_end_ = 32;             // highest byte written in this WAL generation
  std::map<uint64_t, Frame> pending_;     // frame offset -> header, offsets >= captured_end_
  bool needs_reread_ = false;
  std::unordered_map<uint32_t, uint64_t> index_;  // pgno -> last committed frame offset
};

}  // namespace walship::store
