// The wal-index (-shm) header: the first 136 bytes of the shared-memory file
// SQLite maps in WAL mode (sqlite.org/walformat.html §2, wal.c WalIndexHdr and
// WalCkptInfo). Replicas rewrite it after applying transactions so that open
// connections notice the change and discard their page cache.
//
// Layout (native byte order of the host; walship targets little-endian hosts,
// and so does every -shm it will ever see, since the file never leaves one):
//   0   WalIndexHdr copy 1 (48 bytes)
//   48  WalIndexHdr copy 2 (48 bytes)
//   96  WalCkptInfo (40 bytes): nBackfill, aReadMark[5], aLock[8] (the SHM lock
//       bytes 120..127, never read or written), nBackfillAttempted, unused
//   136 frame page-number array and hash tables (not described here)
// WalIndexHdr fields are u32 in host order except isInit/bigEndCksum (u8),
// szPage (u16, 65536 stored as 1) and the salts, which are the WAL header's
// 8 salt bytes copied verbatim (big-endian). aCksum is the WAL checksum with
// host-order words over the first 40 bytes.
//
// A writer stores copy 2 first, then copy 1; a reader reads copy 1 then copy
// 2 and trusts them only if equal, initialized and the checksum matches; any
// difference from its cached copy makes it drop its page cache.
//
// Pure functions on caller-owned bytes: thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/status.h"

namespace walship::sqlite {

inline constexpr uint32_t kWalIndexVersion = 3007000;  // WALINDEX_MAX_VERSION
inline constexpr size_t kWalIndexHdrSize = 48;          // one WalIndexHdr
inline constexpr size_t kWalIndexHdrCopy1Offset = 0;
inline constexpr size_t kWalIndexHdrCopy2Offset = 48;
inline constexpr size_t kWalCkptInfoOffset = 96;
inline constexpr size_t kWalCkptInfoSize = 40;
inline constexpr size_t kWalIndexHeaderSize = 136;      // WALINDEX_HDR_SIZE
inline constexpr size_t kWalIndexLockOffset = 120;      // == kShmLockBase
inline constexpr size_t kWalIndexPageSize = 32768;      // WALINDEX_PGSZ: mapping unit

// Field offsets inside one WalIndexHdr copy.
inline constexpr size_t kWihVersionOffset = 0;
inline constexpr size_t kWihUnusedOffset = 4;
inline constexpr size_t kWihChangeOffset = 8;        // iChange: bumped by each commit
inline constexpr size_t kWihIsInitOffset = 12;
inline constexpr size_t kWihBigEndCksumOffset = 13;
inline constexpr size_t kWihPageSizeOffset = 14;     // u16
inline constexpr size_t kWihMaxFrameOffset = 16;     // mxFrame: last committed frame (1-based)
inline constexpr size_t kWihDbPagesOffset = 20;      // nPage
inline constexpr size_t kWihFrameCksumOffset = 24;   // aFrameCksum[2]
inline constexpr size_t kWihSaltOffset = 32;         // aSalt[2], WAL header bytes 16..23
inline constexpr size_t kWihCksumOffset = 40;        // aCksum[2] over bytes 0..39

// Absolute offsets of WalCkptInfo fields.
inline constexpr size_t kCkptBackfillOffset = 96;
inline constexpr size_t kCkptReadMarkOffset = 100;   // 5 x u32
inline constexpr size_t kCkptBackfillAttemptedOffset = 128;
inline constexpr int kWalReadMarks = 5;
inline constexpr uint32_t kReadMarkNotUsed = 0xffffffff;

struct WalIndexHeader {
  uint32_t version = kWalIndexVersion;
  uint32_t change = 0;
  uint8_t is_init = 0;
  uint8_t big_endian_checksum = 0;
  uint32_t page_size = 0;  // decoded
  uint32_t max_frame = 0;
  uint32_t db_pages = 0;
  std::array<uint32_t, 2> frame_checksum = {0, 0};
  uint32_t salt1 = 0;  // as in WalHeader
  uint32_t salt2 = 0;
  std::array<uint32_t, 2> checksum = {0, 0};
};

struct WalCkptInfo {
  uint32_t backfill = 0;
  std::array<uint32_t, kWalReadMarks> read_marks = {0, 0, 0, 0, 0};
  uint32_t backfill_attempted = 0;
};

// Decodes one 48-byte WalIndexHdr. Corruption when short, not initialized, or
// its checksum does not match.
Result<WalIndexHeader> ParseWalIndexHeader(std::span<const uint8_t> hdr48);

// Encodes `h` into out[0..48), computing the checksum (h.checksum ignored).
// REQUIRES: out.size() >= kWalIndexHdrSize.
void EncodeWalIndexHeader(const WalIndexHeader& h, std::span<uint8_t> out);

// Decodes WalCkptInfo from the first 136 bytes of a -shm file.
// REQUIRES: shm.size() >= kWalIndexHeaderSize.
WalCkptInfo ParseWalCkptInfo(std::span<const uint8_t> shm);

// Stores `info` into the first 136 bytes of a -shm image, leaving the lock
// bytes 120..127 untouched. REQUIRES: shm.size() >= kWalIndexHeaderSize.
void EncodeWalCkptInfo(const WalCkptInfo& info, std::span<uint8_t> shm);

// The wal-index of an empty WAL over a database file that changed behind the
// connections' backs (a replica applied transactions): rewrites both header
// copies and the checkpoint information of `shm` (its first 136 bytes; the
// lock bytes 120..127 are left as they are) so that iChange is `change`
// (a connection whose cached header differs drops its page cache), mxFrame,
// nBackfill and nBackfillAttempted are 0 (pages come from the database
// file), nPage is `db_pages` (no file-size check per read), read mark 0 is 0
// and the others unused. A valid header keeps its other fields (page size,
// salts); an invalid one gets them as SQLite's recovery of an empty WAL
// does (zero), so no connection needs to rebuild it. Returns whether the
// header was valid. REQUIRES: shm.size() >= kWalIndexHeaderSize.
bool ResetForChangedDatabase(std::span<uint8_t> shm, uint32_t db_pages, uint32_t change);

}  // namespace walship::sqlite
