// Database checksums of the LTX design. A page's checksum is the CRC-64 (ISO,
// as Go's hash/crc64) of its big-endian page number followed by its bytes. A
// database's checksum is the XOR of the checksums of all its pages except the
// SQLite lock page, with kChecksumFlag (bit 63) set; because XOR is its own
// inverse it can be kept up to date in O(pages changed):
//
//   db = ChecksumXor(db, PageChecksum(pgno, old_bytes));   // page leaves
//   db = ChecksumXor(db, PageChecksum(pgno, new_bytes));   // page enters
//
// A database that has never had a transaction (TXID 0) has checksum 0; one with
// zero pages after a commit has checksum kChecksumFlag.
//
// Pure functions, except DatabaseChecksum, which reads a file through the Env
// seam; all are thread-safe.
#pragma once

#include <cstdint>
#include <span>

#include "base/status.h"
#include "env/env.h"
#include "ltx/format.h"

namespace walship::ltx {

// CRC64(be32(pgno) || page). Bit 63 is whatever the CRC gives; the database
// checksum forces it on.
uint64_t PageChecksum(uint32_t pgno, std::span<const uint8_t> page);

// The page holding byte offset 0x40000000 (SQLite's PENDING_BYTE); it is never
// written to an LTX file nor counted in a checksum.
// REQUIRES: IsValidPageSize(page_size).
inline uint32_t LockPgno(uint32_t page_size) { return uint32_t(0x40000000u / page_size) + 1; }

// Adds or removes one page checksum to or from a database checksum (the same
// operation); the result always has kChecksumFlag set.
constexpr uint64_t ChecksumXor(uint64_t db_checksum, uint64_t page_checksum) {
  return kChecksumFlag | (db_checksum ^ page_checksum);
}

// The checksum of the first `page_count` pages of a database file (skipping
// the lock page). IOError from the file; Corruption if it is shorter than
// page_count pages. Returns kChecksumFlag when page_count is 0.
Result<uint64_t> DatabaseChecksum(env::File* db, uint32_t page_size, uint32_t page_count);

}  // namespace walship::ltx
