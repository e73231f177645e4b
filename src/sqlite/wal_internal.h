// Internals shared by wal.cc and wal_scan.cc; not part of the module's API.
// Pure functions: thread-safe.
#pragma once

#include <cstdint>

#include "sqlite/wal.h"

namespace walship::sqlite {

enum class HeaderState { kValid, kBadMagic, kBadPageSize, kBadChecksum, kBadVersion };

// Decodes the eight big-endian header fields. REQUIRES: 32 readable bytes at p.
WalHeader DecodeWalHeader(const uint8_t* p);
// Validates a decoded header against its raw bytes (for the checksum).
HeaderState CheckWalHeader(const WalHeader& h, const uint8_t* raw);

}  // namespace walship::sqlite
