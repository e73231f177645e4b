// Object keys of the archive (docs/backup.md), relative to the target's root:
//
//   NAME/L0/%016x-%016x.ltx        a batch of consecutive transactions (a bundle)
//   NAME/L1/..., L2/..., L3/...    one merged LTX covering min..max
//   NAME/snapshots/%016x.ltx       a snapshot (TXID 1..N) at TXID N
//
// Database names never contain '/', so listing the prefix "NAME/" finds one
// database's objects and nothing else. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backup/target.h"
#include "base/status.h"

namespace walship::backup {

inline constexpr int kSnapshotLevel = -1;
inline constexpr int kMaxLevel = 3;

struct ArchivedObject {
  std::string key;
  int level = 0;  // 0..kMaxLevel, or kSnapshotLevel
  uint64_t min_txid = 0;  // 1 for a snapshot
  uint64_t max_txid = 0;
  uint64_t size = 0;
  int64_t modified_ms = 0;

  bool snapshot() const { return level == kSnapshotLevel; }
  // "db/L0/...ltx (TXID 5-9)"
  std::string Describe() const;
};

std::string LevelKey(const std::string& db, int level, uint64_t min_txid, uint64_t max_txid);
std::string SnapshotKey(const std::string& db, uint64_t txid);
// Parses a key of database `db`; false for keys that are not archive objects
// (left-over temporary files, foreign objects).
bool ParseKey(const std::string& db, const ObjectInfo& info, ArchivedObject* out);

// Every object of `db` in the target, sorted by level then min TXID.
Result<std::vector<ArchivedObject>> ListDbObjects(ArchiveTarget* target, const std::string& db);

}  // namespace walship::backup
