// Independent checks of what walship reports: the DB-pos file, the LTX files
// in DATA/dbs/NAME/ltx/ (each verified by walship's own decoder, then checked
// as a chain), and the database checksum recomputed from the bytes of the
// database file. These only read files; none of them talks to walship.
// Thread-safe (no shared state).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "ltx/format.h"

namespace walship::testing {

struct Pos {
  uint64_t txid = 0;
  uint64_t checksum = 0;
  bool operator==(const Pos&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Pos& pos);

// Reads MNT/DB-pos; Corruption unless it matches ^[0-9a-f]{16}/[0-9a-f]{16}\n$.
Result<Pos> ReadPos(const std::string& mount_dir, const std::string& db);
// The same check for a text already read.
Result<Pos> ParsePos(const std::string& text);

struct LtxFile {
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  std::string path;
};

// The LTX files of database `db` under `data_dir`, sorted by min TXID; names
// that are not LTX file names (e.g. *.tmp) are left out.
Result<std::vector<LtxFile>> ListLtx(const std::string& data_dir, const std::string& db);

// The whole entries of the LTX log at `path` (a big-endian u64 length, then
// one LTX file, repeated up to a zero length, the end mark;
// docs/operations.md), not verified; an incomplete last entry is left out
// (walship cuts it off at start). None when absent.
Result<std::vector<std::string>> ReadLtxLog(const std::string& path);
// DATA/dbs/DB/ltx.log
std::string LtxLogPath(const std::string& data_dir, const std::string& db);

struct LtxChain {
  size_t files = 0;
  uint64_t transactions = 0;  // TXIDs in the files and the LTX log
  uint64_t last_txid = 0;
  uint64_t last_checksum = 0;  // post-apply checksum of the newest file
  uint32_t page_size = 0;      // of the newest file
  uint32_t commit = 0;         // database size in pages after the newest file
};

// Verifies every LTX file of `db` with ltx::Verify, then the entries of its
// LTX log (DATA/dbs/DB/ltx.log) after them, and checks the chain: the first
// starts at TXID 1 with pre-apply checksum 0; each next file or entry has
// min = previous max + 1 and pre-apply checksum = previous post-apply
// checksum; a file's name matches its header. Corruption names the file.
Result<LtxChain> VerifyLtxChain(const std::string& data_dir, const std::string& db);

struct FileChecksum {
  uint64_t checksum = 0;
  uint32_t page_size = 0;
  uint32_t page_count = 0;
};

// The LTX database checksum of a SQLite database file computed from its bytes
// (page size from its header, page count from its size, or the first
// `page_count` pages when nonzero) with ltx::DatabaseChecksum. In WAL mode
// only meaningful after a full checkpoint.
Result<FileChecksum> DatabaseFileChecksum(const std::string& path, uint32_t page_count = 0);

// The full consistency proof for database `db` of a node with no writer
// active: opens a connection through the mount, checkpoints (TRUNCATE) if the
// database is in WAL mode, requires `PRAGMA integrity_check` to say "ok",
// verifies the LTX chain, and requires -pos == (newest TXID, its post-apply
// checksum) == the checksum recomputed from the database file read through
// the mount and from DATA/dbs/DB/database, with the newest LTX's page count.
// On success fills `pos_out` (optional).
::testing::AssertionResult CheckConsistent(const std::string& mount_dir,
                                           const std::string& data_dir, const std::string& db,
                                           Pos* pos_out = nullptr);

}  // namespace walship::testing
