// CrcCombiner joins CRC-64 values (base/crc64.h) without rereading data: given
// CRC(A) and CRC(B) for a B of a fixed length, it returns CRC(A || B). The
// encoder and decoder use it so each page is hashed once and that one CRC
// serves both the page checksum (CRC(pgno || page)) and the running file
// checksum. Internal to walship_ltx.
//
// Immutable after construction: thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace walship::ltx {

class CrcCombiner {
 public:
  // For a second part of exactly `len` bytes. Cost: O(64 * 64 * log len),
  // and 16 KiB of tables.
  explicit CrcCombiner(size_t len);

  // CRC(A || B) from crc_a = CRC(A) and crc_b = CRC(B), |B| == len.
  uint64_t Combine(uint64_t crc_a, uint64_t crc_b) const;

 private:
  // A linear map over GF(2)^64: column i is the image of bit i.
  using Matrix = std::array<uint64_t, 64>;

  static uint64_t Apply(const Matrix& m, uint64_t v);
  static Matrix Compose(const Matrix& outer, const Matrix& inner);

  // The map that advances a CRC register over `len` zero bytes, by byte:
  // shift_[k][b] is the image of b << 8k, so a register is advanced with
  // eight lookups (the decoder does it twice per page).
  std::array<std::array<uint64_t, 256>, 8> shift_;
};

// The combiner for pages of `page_size` bytes (a valid SQLite page size),
// built once per process and shared.
const CrcCombiner& PageCombiner(uint32_t page_size);

}  // namespace walship::ltx
