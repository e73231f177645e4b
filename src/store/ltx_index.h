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
  // Lists `dir` and verifies every LTX file in full (ltx::Verify, streaming:
  // bounded memory), logging progress and the total. A file that fails, or
  // whose header disagrees with its name, is moved to `aside_dir` with an
  // error naming it: the chain then has a gap there, and a replica that needs
  // it gets a snapshot. The file at `verified_path` (if any) was verified
  // by the caller already; only its trailer is read.
  Status Load(env::Env* env, const std::string& dir, const std::string& aside_dir,
              const std::string& verified_path = "");
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
  static Status SetAside(env::Env* env, const std::string& path, const std::string& aside_dir,
                         const std::string& name, const Status& why);

  std::map<uint64_t, LtxFileInfo> files_;  // by max_txid
};

}  // namespace walship::store
