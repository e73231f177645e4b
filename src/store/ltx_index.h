// LtxIndex: a database's LTX files in `ltx/`, in memory — the TXID range,
// path and post-apply checksum of each — so that committing, streaming and
// catching a replica up never list the directory or open a file to learn a
// checksum (DESIGN.md §2.1). Loaded once when the database opens; Db is the
// only code that adds files to or removes files from `ltx/`, and it updates
// the index as it does.
//
// Besides the files, it holds the newest transactions themselves, one LTX
// each, in memory ("recent": those in the LTX log, and the latest sealed
// ones up to a budget), so a replica or the archiver a few transactions
// behind gets each on its own, from memory, even after the log was sealed
// into one multi-TXID file.
//
// Not thread-safe: the owning Db's mutex guards it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "env/env.h"
#include "store/position.h"

namespace walship::store {

// An LTX file of a database on disk.
struct LtxFileInfo {
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  std::string path;
  uint64_t post_checksum = 0;  // the database checksum after applying it
  // The whole file, when held in memory (a recent transaction); `path` is
  // then empty.
  std::shared_ptr<const std::string> bytes;
};

class LtxIndex {
 public:
  // Lists `dir` and verifies every LTX file in full (ltx::Verify, streaming:
  // bounded memory), logging progress and the total. A file that fails, or
  // whose header disagrees with its name, is moved to `aside_dir` with an
  // error naming it: the chain then has a gap there, and a replica that needs
  // it gets a snapshot. The file at `verified_path` (if any) was verified
  // by the caller already; only its trailer is read.
  Status Load(env::Env* env, const std::string& dir, const std::string& aside_dir,
              const std::string& verified_path = "");
  // A file on disk. Replaces any file with the same last TXID.
  void Add(LtxFileInfo file);
  void Remove(uint64_t max_txid);
  // A recent transaction held in memory (`bytes` set, one TXID).
  void AddRecent(LtxFileInfo transaction);
  // Drops the recent transactions after `txid`.
  void RemoveRecentAfter(uint64_t txid);
  // Drops the oldest recent transactions up to `sealed_through` while they
  // hold more than `budget` bytes.
  void TrimRecent(uint64_t sealed_through, uint64_t budget);
  void Clear();

  // Every file on disk, ascending by TXID.
  std::vector<LtxFileInfo> All() const;
  // The chain after `txid`, ascending, at most `limit` entries: each next
  // one a recent transaction when memory holds it, else the file on disk
  // with the next greater last TXID (which may start before: callers check).
  std::vector<LtxFileInfo> After(uint64_t txid, size_t limit) const;
  // The recent transactions txid+1, txid+2, ... as far as memory holds
  // them without a gap; valid until the index changes.
  std::vector<const LtxFileInfo*> RecentRun(uint64_t txid) const;
  // The last TXID and post-apply checksum of the newest `limit` files and
  // recent transactions, newest first.
  std::vector<Position> Newest(size_t limit) const;
  // The recent transaction or file whose last TXID is `txid`.
  std::optional<LtxFileInfo> EndingAt(uint64_t txid) const;
  // The file on disk whose last TXID is `txid`.
  std::optional<LtxFileInfo> FileEndingAt(uint64_t txid) const;
  // The last TXID of the newest file on disk; 0 when there is none.
  uint64_t LastFileTxid() const { return files_.empty() ? 0 : files_.rbegin()->first; }
  size_t size() const { return files_.size(); }

 private:
  static Status SetAside(env::Env* env, const std::string& path, const std::string& aside_dir,
                         const std::string& name, const Status& why);

  std::map<uint64_t, LtxFileInfo> files_;   // by max_txid
  std::map<uint64_t, LtxFileInfo> recent_;  // by TXID
  uint64_t recent_bytes_ = 0;
};

}  // namespace walship::store
