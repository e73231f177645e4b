// WalCapture: follows the writes SQLite makes to a database's -wal file on the
// primary and says which frames each committed transaction wrote
// (DESIGN.md §2.1).
//
// The commit point is in the data itself: a frame with a nonzero "db size"
// field ends a transaction once its bytes have all arrived. Frame headers are
// parsed from the write buffers as they pass through; a write that splits a
// frame header (never done by SQLite's unix VFS, possible with other writers)
// marks the state so the headers are reread from the file. SQLite writes a
// frame's header and its page in separate writes, and the kernel may split the
// page again, so each pending frame tracks how far its bytes have arrived: a
// write of its header (re)starts it, later writes extend it. A transaction is
// complete when every frame from the end of the last captured transaction up
// to its commit frame is. Frames of a rolled-back transaction never see a
// commit frame; the next transaction overwrites them in place, from the same
// offset. Rewrites of frames already captured (SQLite recomputing checksums
// after the commit frame) are ignored.
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

  // The oldest transaction whose frames have all arrived, if any; its frames
  // are marked captured. Call until it returns nothing: one LTX per
  // transaction SQLite committed. Reads frame headers from `wal` only when a
  // write split one (`wal` may be null when none did).
  Result<std::optional<TxSpec>> TakeNextCommitted(env::File* wal);

  // Start-up: a whole frame found in the WAL after `captured_end`.
  void OnRecoveredFrame(uint64_t offset, uint32_t pgno, uint32_t commit);

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
    uint64_t arrived = 0;    // bytes from the frame's start written since its header
  };
  uint64_t FrameSize() const { return uint64_t(page_size_) + 24; }
  bool Complete(const Frame& frame) const { return frame.arrived >= FrameSize(); }
  void OnHeaderWrite(std::span<const uint8_t> data);
  // A write covering the header of the frame at `offset`.
  void OnFrameHeader(uint64_t offset, std::span<const uint8_t> header, uint64_t arrived,
                     int64_t now_ms);
  // A write of [offset, end) that starts inside the frame at `frame_offset`.
  void OnFrameBody(uint64_t frame_offset, uint64_t offset, uint64_t end);
  Status RereadPending(env::File* wal);
  TxSpec BuildSpec(uint64_t commit_offset, uint32_t commit);

  uint32_t page_size_ = 0;  // 0: no valid WAL header seen
  uint32_t salt1_ = 0;
  uint32_t salt2_ = 0;
  uint64_t captured_end_ = 32;            // frames before this are in LTX files
  std::map<uint64_t, Frame> pending_;     // frame offset -> header, offsets >= captured_end_
  bool needs_reread_ = false;
  std::unordered_map<uint32_t, uint64_t> index_;  // pgno -> last committed frame offset
};

}  // namespace walship::store
