// LtxLog: the LTX files of a database's newest transactions, back to back in
// one append-only file, DATA/dbs/NAME/ltx.log, so that a commit appends a few
// hundred bytes to an open file instead of creating, writing and renaming one
// (DESIGN.md §1.5, §2.1). Each entry is a big-endian u64 length and one whole
// single-transaction LTX file; a zero length (the end mark) follows the last.
// Db seals the entries into one multi-TXID LTX file in ltx/ now and then and
// empties the log (Db::SealLog).
//
// Emptying keeps the file's blocks: the end mark goes back to offset 0 and
// new entries overwrite the old ones, which only a crash that lost the end
// mark's write can bring back into view, and every one of those was sealed
// into a durable file first (Db::LoadLog skips transactions it already has).
// Freeing the blocks instead cost 5-7 ms a seal here (ext4 with `discard`
// discards them synchronously), with the database's mutex held. When the
// history itself is replaced (a snapshot), Reset truncates the file.
//
// A full disk: the log keeps kReserveBytes of disk allocated past its end
// (fallocate, size unchanged), so the append of a commit whose WAL frames or
// database pages SQLite could still write does not fail for want of space.
//
// Append only buffers: Flush writes every buffered entry in one write, so a
// batch of commits costs one system call; StartWriteback then has the kernel
// write them back a MiB at a time (WritebackAhead), so Sync has little left. The owner flushes
// before anything can take the transactions' frames out of the WAL (Db::CommitWal ends with a
// Flush; Sync and the seal flush or replace the buffer).
//
// Crash safety: an entry stands once all its bytes are in the file (kill -9
// keeps the page cache); Sync makes the entries durable, no later than SQLite's
// own sync of its WAL or journal. Open reads back every whole, verified entry
// and cuts a torn or corrupt tail off, which only an entry that was never
// made durable can have (its transaction is still in the WAL, or the journal
// rolls it back).
//
// Not thread-safe: the owning Db's mutex guards it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "env/env.h"
#include "store/received_ltx.h"
#include "store/writeback_ahead.h"

namespace walship::store {

class LtxLog {
 public:
  static constexpr const char* kFileName = "ltx.log";
  static constexpr uint64_t kReserveBytes = 1 << 20;

  // Opens (creating) the log at `path` and returns its whole, verified entries
  // in file order; `db` names the database in messages.
  Result<std::vector<ReceivedLtx>> Open(env::Env* env, const std::string& path,
                                        const std::string& db);
  // Appends one LTX file to the buffer.
  void Append(std::string_view ltx);
  // Writes the buffered entries (not synced).
  Status Flush();
  // Starts the writeback of the entries written, a MiB at a time
  // (WritebackAhead), so that Sync has little left to write.
  void StartWriteback();
  // Makes every appended entry durable (a no-op when nothing changed).
  Status Sync();
  // Empties the log, once its entries are sealed into a durable LTX file,
  // keeping its blocks (see above).
  Status Clear();
  // Empties the log and truncates the file: for a history that replaces the
  // one the entries belong to (no stale entry may stay behind).
  Status Reset();
  // Drops the entries after the first `entries`, which end at byte `size`
  // (bytes() and entries() before they were appended): they could not be
  // made durable, and nothing may follow them.
  Status Rewind(uint64_t size, size_t entries);

  size_t entries() const { return entries_; }
  uint64_t bytes() const { return size_; }

 private:
  // Keeps kReserveBytes allocated past the end (a failure is logged once
  // and tried again at the next append).
  void Reserve();

  env::Env* env_ = nullptr;
  std::unique_ptr<env::File> file_;
  uint64_t size_ = 0;    // with the buffer
  std::string pending_;  // appended, not written yet: the last bytes of size_
  size_t entries_ = 0;
  uint64_t reserved_to_ = 0;   // disk allocated up to this offset
  bool reserve_warned_ = false;
  bool dirty_ = false;
  WritebackAhead writeback_;  // for StartWriteback
  bool dir_synced_ = false;
};

}  // namespace walship::store
