// Two ways to compute one CRC: slicing-by-8 tables, and, on x86-64 CPUs with
// PCLMULQDQ, folding 64 bytes at a time with carry-less multiplication.
//
// Folding (after Intel's "Fast CRC Computation for Generic Polynomials Using
// PCLMULQDQ"). The CRC register after a message M is M·x^64 mod P, so only M
// mod P matters, and a 16-byte block A followed by 16n more bytes B is worth
// (A·x^128n mod P) + B. In the bit-reflected layout (the first byte's low bit
// is the highest power), A = Q0·x^64 + Q1 with Q0 its first 8 bytes, so
// A·x^k ≡ Q0·(x^(k+64) mod P) + Q1·(x^k mod P): two 64x64-bit carry-less
// products, each under 128 bits, XORed into the block k bits later. A
// reflected product comes out one bit short (it represents a·b·x), so the
// constants are x^(k+63) and x^(k-1) mod P. Four 16-byte lanes fold 512 bits
// at a time; they are folded into one, and the tables finish the last 16
// bytes and the tail (folding leaves a block congruent to everything before
// it, which the tables reduce like any message). The register's initial value
// is XORed into the first 8 bytes, which is what the tables would do.
#include "base/crc64.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace walship {
namespace {

constexpr uint64_t kIsoReflected = 0xD800000000000000ULL;

// Slicing-by-8 tables: kTables[0] is the classic byte table.
struct Tables {
  std::array<std::array<uint64_t, 256>, 8> t{};
  constexpr Tables() {
    for (uint64_t i = 0; i < 256; i++) {
      uint64_t crc = i;
      for (int j = 0; j < 8; j++) crc = (crc & 1) ? (crc >> 1) ^ kIsoReflected : crc >> 1;
      t[0][i] = crc;
    }
    for (int k = 1; k < 8; k++)
      for (int i = 0; i < 256; i++) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  }
};
constexpr Tables kTables;

// The register (not inverted) after `data`, by table.
uint64_t TableUpdate(uint64_t crc, const uint8_t* p, size_t n) {
  const auto& t = kTables.t;
  while (n >= 8) {
    uint64_t v = crc ^ (uint64_t(p[0]) | uint64_t(p[1]) << 8 | uint64_t(p[2]) << 16 |
                        uint64_t(p[3]) << 24 | uint64_t(p[4]) << 32 | uint64_t(p[5]) << 40 |
                        uint64_t(p[6]) << 48 | uint64_t(p[7]) << 56);
    crc = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^
          t[4][(v >> 24) & 0xff] ^ t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^
          t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)

// x^n mod P, bit-reflected: multiplying by x is one step of the bitwise CRC.
constexpr uint64_t XPowModP(int n) {
  uint64_t v = uint64_t(1) << 63;  // x^0
  for (int i = 0; i < n; i++) v = (v >> 1) ^ ((v & 1) ? kIsoReflected : 0);
  return v;
}
constexpr uint64_t kFold512Hi = XPowModP(512 + 63), kFold512Lo = XPowModP(512 - 1);
constexpr uint64_t kFold128Hi = XPowModP(128 + 63), kFold128Lo = XPowModP(128 - 1);

__attribute__((target("pclmul,sse4.1"))) __m128i Fold(__m128i x, __m128i k, __m128i next) {
  return _mm_xor_si128(
      _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), next);
}

__attribute__((target("pclmul,sse4.1"))) __m128i Load(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// The register after `n` bytes (n >= 64), by folding.
__attribute__((target("pclmul,sse4.1"))) uint64_t FoldUpdate(uint64_t crc, const uint8_t* p,
                                                             size_t n) {
  __m128i x0 = _mm_xor_si128(Load(p), _mm_cvtsi64_si128(int64_t(crc)));
  __m128i x1 = Load(p + 16), x2 = Load(p + 32), x3 = Load(p + 48);
  p += 64;
  n -= 64;
  const __m128i k512 = _mm_set_epi64x(int64_t(kFold512Lo), int64_t(kFold512Hi));
  for (; n >= 64; p += 64, n -= 64) {
    x0 = Fold(x0, k512, Load(p));
    x1 = Fold(x1, k512, Load(p + 16));
    x2 = Fold(x2, k512, Load(p + 32));
    x3 = Fold(x3, k512, Load(p + 48));
  }
  const __m128i k128 = _mm_set_epi64x(int64_t(kFold128Lo), int64_t(kFold128Hi));
  __m128i x = Fold(Fold(Fold(x0, k128, x1), k128, x2), k128, x3);
  for (; n >= 16; p += 16, n -= 16) x = Fold(x, k128, Load(p));
  uint8_t last[16];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(last), x);
  return TableUpdate(TableUpdate(0, last, sizeof last), p, n);
}

bool HasClmul() {
  static const bool has = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  return has;
}

#endif

}  // namespace

uint64_t Crc64UpdateByTable(uint64_t crc, std::span<const uint8_t> data) {
  return ~TableUpdate(~crc, data.data(), data.size());
}

uint64_t Crc64Update(uint64_t crc, std::span<const uint8_t> data) {
#if defined(__x86_64__)
  if (data.size() >= 64 && HasClmul()) return ~FoldUpdate(~crc, data.data(), data.size());
#endif
  return Crc64UpdateByTable(crc, data);
}

}  // namespace walship
