// The 100-byte header at the start of every SQLite database file (page 1), as
// described in sqlite.org/fileformat2.html §1.3. All fields are big-endian.
//
// ParseDbHeader validates what SQLite itself checks before it trusts a file
// (magic string, page size encoding, payload fractions, usable size, read
// version) and reports anything else as Corruption with a message naming the
// field. Pure functions on caller-owned bytes: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/status.h"

namespace walship::sqlite {

inline constexpr size_t kDbHeaderSize = 100;
// "SQLite format 3" followed by a NUL: the first 16 bytes of every database.
inline constexpr char kDbMagic[] = "SQLite format 3";  // sizeof == 16, with the NUL

// Byte offsets of header fields the store reads or rewrites directly.
inline constexpr size_t kDbPageSizeOffset = 16;       // u16; 1 means 65536
inline constexpr size_t kDbWriteVersionOffset = 18;   // u8; 1 legacy, 2 WAL
inline constexpr size_t kDbReadVersionOffset = 19;    // u8; 1 legacy, 2 WAL
inline constexpr size_t kDbReservedSpaceOffset = 20;  // u8; bytes unused at the end of each page
inline constexpr size_t kDbChangeCounterOffset = 24;  // u32
inline constexpr size_t kDbPageCountOffset = 28;      // u32; "in-header database size"
inline constexpr size_t kDbFreelistTrunkOffset = 32;  // u32
inline constexpr size_t kDbFreelistCountOffset = 36;  // u32
inline constexpr size_t kDbSchemaCookieOffset = 40;   // u32
inline constexpr size_t kDbSchemaFormatOffset = 44;   // u32; 1..4
inline constexpr size_t kDbTextEncodingOffset = 56;   // u32; 1 UTF-8, 2 UTF-16le, 3 UTF-16be
inline constexpr size_t kDbUserVersionOffset = 60;    // u32
inline constexpr size_t kDbApplicationIdOffset = 68;  // u32
inline constexpr size_t kDbVersionValidForOffset = 92;  // u32; change counter when 96 was written
inline constexpr size_t kDbSqliteVersionOffset = 96;    // u32; SQLITE_VERSION_NUMBER of last writer

struct DbHeader {
  uint32_t page_size = 0;  // decoded: 512..65536
  uint8_t write_version = 0;
  uint8_t read_version = 0;
  uint8_t reserved_space = 0;
  uint32_t change_counter = 0;
  uint32_t page_count = 0;  // in-header size; trust only if PageCountValid()
  uint32_t freelist_trunk = 0;
  uint32_t freelist_count = 0;
  uint32_t schema_cookie = 0;
  uint32_t schema_format = 0;
  uint32_t text_encoding = 0;
  uint32_t user_version = 0;
  uint32_t application_id = 0;
  uint32_t version_valid_for = 0;
  uint32_t sqlite_version = 0;
};

// Decodes the page-size field (offset 16): 1 means 65536. Returns 0 if the
// value is not a power of two in 512..65536.
uint32_t DecodePageSize(uint16_t raw);

// Parses the first kDbHeaderSize bytes of a database file. Corruption when
// `first100` is shorter than 100 bytes, the magic is wrong, or a field has a
// value SQLite would refuse.
Result<DbHeader> ParseDbHeader(std::span<const uint8_t> first100);

// True when the database is in WAL mode (write and read versions both 2).
bool IsWalMode(const DbHeader& h);

// True when the in-header page count may be trusted (SQLite 3.7.0+ rule: it is
// nonzero and the change counter equals version-valid-for). Otherwise the page
// count is the file size divided by the page size.
bool PageCountValid(const DbHeader& h);

}  // namespace walship::sqlite
