// LTX transaction file format: constants, the 100-byte header, the 16-byte
// trailer and the file-name convention. An LTX file carries the pages one or
// more SQLite transactions changed (format version 3 of the LTX design; the
// byte layout is in docs/ltx.md). Encoding and decoding of whole files live in
// encoder.h and decoder.h; the checksum rules in checksum.h.
//
// Everything here is a plain value or a pure function: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace walship::ltx {

inline constexpr char kMagic[] = "LTX1";
inline constexpr size_t kHeaderSize = 100;
inline constexpr size_t kPageHeaderSize = 6;  // u32 pgno, u16 flags
inline constexpr size_t kPageSizeFieldSize = 4;
inline constexpr size_t kFrameHeaderSize = kPageHeaderSize + kPageSizeFieldSize;
inline constexpr size_t kIndexSizeFieldSize = 8;  // u64 after the page index
inline constexpr size_t kTrailerSize = 16;
inline constexpr uint32_t kMinPageSize = 512;
inline constexpr uint32_t kMaxPageSize = 65536;

// Header flag: the file tracks no database checksums (pre- and post-apply
// checksums are zero). The only header flag defined by format version 3.
inline constexpr uint32_t kHeaderFlagNoChecksum = 1u << 1;
inline constexpr uint32_t kHeaderFlagMask = kHeaderFlagNoChecksum;
// Page-frame flag: a 4-byte compressed size follows the page header and the
// payload is one LZ4 block. walship writes and accepts only this encoding.
inline constexpr uint16_t kPageFlagSize = 1u << 0;

// Set on every database checksum so a real checksum is never zero.
inline constexpr uint64_t kChecksumFlag = 1ULL << 63;

// True for the SQLite page sizes: powers of two from 512 to 65536.
bool IsValidPageSize(uint32_t page_size);

struct Header {
  uint32_t flags = 0;
  uint32_t page_size = 0;
  uint32_t commit = 0;  // database size in pages after applying the file
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  int64_t timestamp_ms = 0;  // milliseconds since the Unix epoch
  uint64_t pre_apply_checksum = 0;
  uint64_t wal_offset = 0;  // zero when the pages came from a rollback journal
  uint64_t wal_size = 0;
  uint32_t wal_salt1 = 0;
  uint32_t wal_salt2 = 0;
  uint64_t node_id = 0;  // zero if unset

  // A snapshot starts at TXID 1 and so holds every page 1..commit except the
  // lock page.
  bool IsSnapshot() const { return min_txid == 1; }
  bool NoChecksum() const { return (flags & kHeaderFlagNoChecksum) != 0; }
  // InvalidArgument naming the first field that breaks the format's rules.
  Status Validate() const;

  bool operator==(const Header&) const = default;
};

struct Trailer {
  uint64_t post_apply_checksum = 0;
  uint64_t file_checksum = 0;

  // InvalidArgument when a checksum is missing or lacks kChecksumFlag.
  Status Validate(const Header& header) const;

  bool operator==(const Trailer&) const = default;
};

// Where one page frame sits in a file, as the page index records it.
struct PageIndexEntry {
  uint32_t pgno = 0;
  uint64_t offset = 0;  // of the frame's page header, from the start of the file
  uint64_t size = 0;    // of the whole frame: header, size field and payload

  bool operator==(const PageIndexEntry&) const = default;
};

// Serializes `header` (with the magic and zeroed reserved bytes) into `out`.
void PutHeader(const Header& header, std::span<uint8_t, kHeaderSize> out);
// Parses the first kHeaderSize bytes of `in`. Corruption on a short buffer or a
// bad magic; does not Validate() the fields.
Result<Header> ParseHeader(std::span<const uint8_t> in);

void PutTrailer(const Trailer& trailer, std::span<uint8_t, kTrailerSize> out);
Trailer ParseTrailer(std::span<const uint8_t, kTrailerSize> in);

// "%016x-%016x.ltx" of the TXID range, lowercase hex.
std::string FileName(uint64_t min_txid, uint64_t max_txid);
// Accepts exactly the names FileName produces; false (outputs untouched) for
// anything else.
bool ParseFileName(std::string_view name, uint64_t* min_txid, uint64_t* max_txid);

}  // namespace walship::ltx
