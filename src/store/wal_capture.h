// WalCapture: follows the writes SQLite makes to a database's -wal file on the
// primary and says which frames each committed transaction wrote
// (DESIGN.md §2.1).
//
// What is committed is decided by the rule SQLite's own WAL recovery and every
// reader use: a transaction is the run of frames, from the end of the last
// captured one, whose salts equal the header's and whose cumulative checksums
// verify, up to a frame with a nonzero "db size" field. Writes only say when
// to look: after each write the frames past the verified prefix are read back
// from the file and checked, so a frame counts once all its bytes are there,
// however the kernel split the writes (it splits at 4 KiB file offsets, even
// inside a 24-byte frame header).
//
// The cases this covers without special rules:
// - a rolled-back transaction leaves valid frames but no commit frame; the
//   next transaction overwrites them from the same offset, and a write below
//   the verified prefix shortens it to the frame written;
// - a transaction that spilled pages may rewrite a page in a frame it already
//   wrote; SQLite then writes later frame headers with zero salts and fills in
//   the checksums after the commit frame (wal.c, walRewriteChecksums): the
//   commit verifies only once the last header is rewritten;
// - a crashed writer's half-written frames never verify.
// Rewrites of frames already captured are ignored.
// Not thread-safe: the owning Db's mutex guards it.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "env/env.h"
#include "sqlite/wal.h"
#include "store/tx_spec.h"

namespace walship::store {

class WalCapture {
 public:
  // Observes a write of `data` at `offset` of the WAL file at wall-clock time
  // `now_ms` (a transaction's commit time is that of the write completing it).
  void OnWrite(uint64_t offset, std::span<const uint8_t> data, int64_t now_ms = 0);
  // The WAL may have changed without walship seeing the writes (FUSE
  // passthrough: SQLite writes the backing file directly). Reads the header
  // back (a new salt starts a new generation: a restart, which SQLite makes
  // only after a checkpoint walship saw) and forgets what was verified past
  // the captured frames, so the next TakeNextCommitted verifies them afresh:
  // a rollback or a spilled page may have rewritten them in place. Commits
  // found are stamped `now_ms`.
  Status Rescan(env::File* wal, int64_t now_ms);
  // The WAL file was truncated to `size` bytes or removed (size 0).
  void OnTruncate(uint64_t size);
  // Each page's committed frames in the current WAL: their offsets, oldest first.
  using FrameIndex = std::unordered_map<uint32_t, std::vector<uint64_t>>;
  // Adopts an existing WAL (start-up): frames before `captured_end` are already
  // in LTX files; `index` holds their offsets by page.
  void Restore(const sqlite::WalHeader& header, uint64_t captured_end, FrameIndex index);

  // The oldest committed transaction not yet taken, if any, reading frames
  // back from `wal`; its frames are marked captured. Call until it returns
  // nothing: one LTX per transaction SQLite committed. `admit`, if given, is
  // asked after the transaction's frames were read and before they are
  // marked: an error from it is returned and leaves them uncaptured (the
  // write fence: a commit read back after the fence closed may have been
  // made after it).
  Result<std::optional<TxSpec>> TakeNextCommitted(env::File* wal,
                                                  const std::function<Status()>& admit = nullptr);

  bool has_header() const { return header_.has_value(); }
  uint32_t page_size() const { return header_ ? header_->page_size : 0; }
  // Offset of the committed frame holding `pgno`'s latest image, if the page is
  // in the current WAL (its bytes start 24 bytes after the offset).
  std::optional<uint64_t> FindPage(uint32_t pgno) const;
  // Offsets of every committed frame of `pgno` in the current WAL, oldest
  // first: the versions a checkpoint may copy (it copies the newest in its
  // snapshot, which later commits may have outdated).
  std::span<const uint64_t> CommittedFrames(uint32_t pgno) const;
  // Every page with a committed frame in the current WAL, ascending.
  std::vector<uint32_t> IndexedPages() const;
  // The `size` bytes at `offset` of the WAL as the last look read them back,
  // if it did (a captured frame's page, read once to verify it); else empty.
  // Valid until the next call that is not const.
  std::span<const uint8_t> ReadBack(uint64_t offset, size_t size) const;
  // Where the committed (captured) frames of the current WAL end: every
  // frame before this offset belongs to a committed transaction.
  uint64_t captured_end() const { return header_ ? captured_end_ : sqlite::kWalHeaderSize; }

 private:
  struct VerifiedFrame {
    uint32_t pgno;
    uint32_t commit;
    std::array<uint32_t, 2> checksum;  // running checksum after this frame
  };
  uint64_t FrameSize() const { return uint64_t(header_->page_size) + sqlite::kWalFrameHeaderSize; }
  uint64_t VerifiedEnd() const { return captured_end_ + verified_.size() * FrameSize(); }
  void StartGeneration(std::optional<sqlite::WalHeader> header, uint64_t captured_end);
  // Forgets verified frames at or after `offset`.
  void Unverify(uint64_t offset);
  // Reads the header and the running checksum at captured_end_ if unknown.
  Status LoadChain(env::File* wal);
  // The frame at `offset`, from the read-back buffer or, when it is not
  // there, by reading the buffer anew from `offset` (many frames in one
  // read); empty when the file ends before the frame does.
  Result<std::span<const uint8_t>> FrameAt(env::File* wal, uint64_t offset);
  // Forgets what was read back: the file may have changed since.
  void DropReadBack() { read_length_ = 0, read_short_ = false; }
  // Verifies frames past the prefix until one fails or a commit frame passes;
  // returns whether a commit frame is now in the prefix.
  Result<bool> ExtendVerified(env::File* wal);
  TxSpec TakeTransaction(size_t commit_index);

  std::optional<sqlite::WalHeader> header_;         // none: no valid header seen
  bool header_unread_ = false;                      // a split header write: read it from the file
  uint64_t captured_end_ = sqlite::kWalHeaderSize;  // frames before are in LTX files
  // The running checksum after the frame before captured_end_ (or the header's).
  std::optional<std::array<uint32_t, 2>> chain_;
  std::vector<VerifiedFrame> verified_;  // frames from captured_end_ that verify
  // WAL bytes read back from read_at_: read_length_ of them are valid. A
  // short read (read_short_) found the end of the file, so nothing past it
  // is read again until the file is written (DropReadBack).
  std::vector<uint8_t> read_;
  uint64_t read_at_ = 0;
  size_t read_length_ = 0;
  bool read_short_ = false;
  bool dirty_ = false;  // written since the last look
  int64_t last_write_ms_ = 0;
  FrameIndex index_;
};

}  // namespace walship::store
