// The SQLite write-ahead log (-wal) file format (sqlite.org/fileformat2.html §4
// and walformat.html): a 32-byte header, then frames of a 24-byte frame header
// plus one page. All integers are big-endian; the checksums are computed over
// 32-bit words whose byte order the header magic selects.
//
// Checksums chain: the header checksum covers header bytes 0..23 starting from
// {0, 0}; each frame's checksum continues from the previous frame's (or the
// header's) over frame-header bytes 0..7 and then the page. A frame is valid
// only if its salts equal the header's, its page number is nonzero and its
// checksum matches; recovery keeps frames up to the last valid commit frame.
//
// Pure functions are thread-safe. ScanWal reads through the File it is given
// (positional reads only) and is safe to call concurrently, but its result is
// a consistent picture only if no one writes the WAL during the scan.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "env/env.h"

namespace walship::sqlite {

inline constexpr size_t kWalHeaderSize = 32;
inline constexpr size_t kWalFrameHeaderSize = 24;
// Header magic; bit 0 set means checksums use big-endian words.
inline constexpr uint32_t kWalMagicLittleEndian = 0x377f0682;
inline constexpr uint32_t kWalMagicBigEndian = 0x377f0683;
// The only WAL format version SQLite has ever written (3.7.0).
inline constexpr uint32_t kWalVersion = 3007000;

struct WalHeader {
  uint32_t magic = 0;
  uint32_t version = 0;
  uint32_t page_size = 0;       // stored literally; 65536 is 65536 here
  uint32_t checkpoint_seq = 0;  // incremented each time the WAL restarts
  uint32_t salt1 = 0;           // incremented by one at each restart
  uint32_t salt2 = 0;           // random at each restart
  uint32_t checksum1 = 0;
  uint32_t checksum2 = 0;

  bool big_endian_checksum() const { return (magic & 1) != 0; }
};

struct WalFrameHeader {
  uint32_t pgno = 0;
  uint32_t commit = 0;  // database size in pages after commit; 0 if not a commit frame
  uint32_t salt1 = 0;
  uint32_t salt2 = 0;
  uint32_t checksum1 = 0;
  uint32_t checksum2 = 0;

  bool is_commit() const { return commit != 0; }
};

// Extends the running checksum s[0], s[1] over `data` the way SQLite does:
// for each pair of 32-bit words (x, y), s0 += x + s1; s1 += y + s0 (mod 2^32).
// Words are read big-endian if `big_endian`, else little-endian.
// REQUIRES: data.size() is a multiple of 8.
void WalChecksum(bool big_endian, std::span<const uint8_t> data, uint32_t s[2]);

// Parses and validates a WAL header as SQLite's recovery does: magic, page
// size (power of two 512..65536), header checksum, then version. Corruption
// names the first check that failed.
Result<WalHeader> ParseWalHeader(std::span<const uint8_t> first32);

// Encodes `h` into 32 bytes, computing checksum1/2 over bytes 0..23 with the
// byte order h.magic selects (h.checksum1/2 are ignored).
std::array<uint8_t, kWalHeaderSize> EncodeWalHeader(const WalHeader& h);

// Decodes the six big-endian fields of a frame header. No validation.
// REQUIRES: frame_header.size() >= kWalFrameHeaderSize.
WalFrameHeader ParseWalFrameHeader(std::span<const uint8_t> frame_header);

// Checks one frame exactly as SQLite's walDecodeFrame: salts equal the
// header's, pgno != 0, and the checksum continued from `cksum` over
// frame_header[0..8) and `page` equals the frame's. On success advances
// `cksum` to the frame's checksum and returns true; otherwise leaves it.
// REQUIRES: frame_header.size() >= 24, page.size() == hdr.page_size.
bool VerifyWalFrame(const WalHeader& hdr, std::span<const uint8_t> frame_header,
                    std::span<const uint8_t> page, uint32_t cksum[2]);

// Encodes a frame header for `page` continuing the running checksum `cksum`
// (advanced in place), with the salts of `hdr`.
// REQUIRES: out.size() >= 24, page.size() == hdr.page_size.
void EncodeWalFrameHeader(const WalHeader& hdr, uint32_t pgno, uint32_t commit,
                          std::span<const uint8_t> page, uint32_t cksum[2],
                          std::span<uint8_t> out);

// Byte offset of the frame header of 0-based frame `frame_index`.
constexpr uint64_t WalFrameOffset(uint32_t page_size, uint64_t frame_index) {
  return kWalHeaderSize + frame_index * (uint64_t(page_size) + kWalFrameHeaderSize);
}

struct WalFrameRef {
  uint64_t offset = 0;  // of the frame header; the page follows at offset + 24
  uint32_t pgno = 0;
  uint32_t commit = 0;
};

struct WalScan {
  WalHeader header;
  bool header_valid = false;
  // Frames of fully committed transactions, in file order (a page may appear
  // more than once; the last occurrence is the newest).
  std::vector<WalFrameRef> frames;
  // Byte offset just after the last committed frame; 32 if the header is
  // valid but no transaction committed; 0 if there is no valid header.
  uint64_t committed_end = 0;
  uint64_t file_size = 0;
  // Database size in pages after the last commit (0 if none).
  uint32_t db_pages = 0;
  // Running checksum after the last committed frame (the header checksum when
  // there is none): what the wal-index calls aFrameCksum.
  std::array<uint32_t, 2> checksum = {0, 0};
};

// Reads a WAL file and finds its committed frames the way SQLite's WAL
// recovery does: an invalid header (short file, bad magic, page size or
// checksum) means an empty WAL (header_valid false); frames are read while
// complete, stopping at the first invalid one; frames after the last commit
// frame are dropped. A valid header with an unknown version is Corruption
// (SQLite refuses to open it). I/O errors are returned.
Result<WalScan> ScanWal(env::File* wal);

}  // namespace walship::sqlite
