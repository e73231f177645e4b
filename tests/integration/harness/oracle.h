// Independent oracles: database checksums computed from the LTX format's
// description (docs/ltx.md) with code that shares nothing with src/ — a
// bitwise CRC-64/ISO, no tables, no combining. Slow and obviously right; a bug
// in walship's fast CRC or its combiner cannot hide behind a matching bug
// here.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"

namespace walship::testing::oracle {

// CRC-64 with the ISO polynomial, reflected, all-ones in and out (Go's
// hash/crc64 with crc64.ISO). "123456789" gives 0xb90956c775a41001.
uint64_t Crc64Iso(std::span<const uint8_t> data);

// The LTX database checksum of the SQLite database file at `path`: bit 63 set
// on the XOR, over every page but the lock page, of CRC-64(be32(pgno) || page).
// The page size comes from the file's header (bytes 16-17; 1 means 65536).
Result<uint64_t> DatabaseChecksum(const std::string& path);

}  // namespace walship::testing::oracle
