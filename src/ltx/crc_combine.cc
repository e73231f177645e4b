#include "ltx/crc_combine.h"

namespace walship::ltx {
namespace {

// The bit-reflected ISO polynomial, as base/crc64.cc uses it.
constexpr uint64_t kIsoReflected = 0xD800000000000000ULL;

}  // namespace

uint64_t CrcCombiner::Apply(const Matrix& m, uint64_t v) {
  uint64_t out = 0;
  for (int i = 0; v != 0; i++, v >>= 1) {
    if (v & 1) out ^= m[i];
  }
  return out;
}

CrcCombiner::Matrix CrcCombiner::Compose(const Matrix& outer, const Matrix& inner) {
  Matrix m;
  for (int i = 0; i < 64; i++) m[i] = Apply(outer, inner[i]);
  return m;
}

// With the register inverted before and after (as hash/crc64 does), the
// inversions cancel between the two parts, so CRC(A || B) is CRC(A) run
// through |B| zero bytes of the bare register, XOR CRC(B) (zlib's
// crc32_combine argument, for 64 bits).
CrcCombiner::CrcCombiner(size_t len) {
  Matrix bit;  // one zero bit: shift right, fold the polynomial in on carry
  bit[0] = kIsoReflected;
  for (int i = 1; i < 64; i++) bit[i] = uint64_t(1) << (i - 1);
  Matrix step = Compose(bit, bit);  // 2 bits
  step = Compose(step, step);       // 4 bits
  step = Compose(step, step);       // 8 bits: one zero byte
  Matrix shift;
  for (int i = 0; i < 64; i++) shift[i] = uint64_t(1) << i;  // identity
  for (size_t n = len; n != 0; n >>= 1) {
    if (n & 1) shift = Compose(step, shift);
    if (n > 1) step = Compose(step, step);
  }
  for (int k = 0; k < 8; k++) {
    for (uint64_t b = 0; b < 256; b++) shift_[k][b] = Apply(shift, b << (8 * k));
  }
}

const CrcCombiner& PageCombiner(uint32_t page_size) {
  // One per page size 512 << i, i = 0..7.
  static const std::array<CrcCombiner, 8> combiners = [] {
    return std::array<CrcCombiner, 8>{CrcCombiner(512),   CrcCombiner(1024), CrcCombiner(2048),
                                      CrcCombiner(4096),  CrcCombiner(8192), CrcCombiner(16384),
                                      CrcCombiner(32768), CrcCombiner(65536)};
  }();
  size_t i = 0;
  while (i < 7 && (512u << i) != page_size) i++;
  return combiners[i];
}

uint64_t CrcCombiner::Combine(uint64_t crc_a, uint64_t crc_b) const {
  uint64_t shifted = 0;
  for (int k = 0; k < 8; k++) shifted ^= shift_[k][(crc_a >> (8 * k)) & 0xff];
  return shifted ^ crc_b;
}

}  // namespace walship::ltx
