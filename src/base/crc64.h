// CRC-64 with the ISO polynomial, bit-reflected, as Go's hash/crc64 computes it
// (crc64.MakeTable(crc64.ISO)): initial value 0, input and output inverted.
// Check value of "123456789" is 0xb90956c775a41001. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace walship {

// Extends `crc` (0 to start) with `data`. On x86-64 CPUs with PCLMULQDQ,
// spans of 64 bytes or more are folded with carry-less multiplication
// (about ten times faster than the tables); the result is the same.
uint64_t Crc64Update(uint64_t crc, std::span<const uint8_t> data);
// The same CRC by slicing-by-8 tables only: the reference Crc64Update is
// tested against.
uint64_t Crc64UpdateByTable(uint64_t crc, std::span<const uint8_t> data);
inline uint64_t Crc64(std::span<const uint8_t> data) { return Crc64Update(0, data); }

}  // namespace walship
