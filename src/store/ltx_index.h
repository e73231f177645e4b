// LtxIndex: a database's LTX files in `ltx/`, in memory — the TXID range,
// path and post-apply checksum of each — so that committing, streaming and
// catching a replica up never list the directory or open a file to learn a
// checksum (DESIGN.md §2.1). Loaded once when the database opens; Db is the
// only code that adds files to or removes files from `ltx/`, and it updates
// the index as it does.
//
// Not thread-safe: the owning Db's mutex guards it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "env/env.h"

namespace walship::store {

// An LTX file of a database on disk.
struct LtxFileInfo {
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  std::string path;
  uint64_t post_checksum = 0;  // the database checksum after applying it
};

class LtxIndex {
 public:
  // Lists `dir` and reads each LTX file's trailer. A file whose trailer
  // cannot be read is left out with a warning naming it: the chain then has
  // a gap there, and a replica that needs it gets a snapshot.
  Status Load(env::Env* env, const std::string& dir);
  // Replaces any file with the same last TXID.
  void Add(LtxFileInfo file);
  void Remove(uint64_t max_txid);
  void Clear() { files_.clear(); }

  // Every file, ascending by TXID.
  std::vector<LtxFileInfo> All() const;
  // The files after `txid` (those whose last TXID is greater), ascending, at
  // most `limit` of them.
  std::vector<LtxFileInfo> After(uint64_t txid, size_t limit) const;
  // The file whose last TXID is `txid`.
  std::optional<LtxFileInfo> EndingAt(uint64_t txid) const;
  size_t size() const { return files_.size(); }

 private:
  std::map<uint64_t, LtxFileInfo> files_;  // by max_txid
};

}  // namespace walship::store
