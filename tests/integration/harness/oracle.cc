#include "harness/oracle.h"

#include <fstream>
#include <iterator>
#include <vector>

namespace walship::testing::oracle {
namespace {

uint64_t Crc64IsoUpdate(uint64_t crc, std::span<const uint8_t> data) {
  constexpr uint64_t kReflectedPoly = 0xd800000000000000ULL;
  for (uint8_t byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; bit++) crc = (crc & 1) ? (crc >> 1) ^ kReflectedPoly : crc >> 1;
  }
  return crc;
}

}  // namespace

uint64_t Crc64Iso(std::span<const uint8_t> data) { return ~Crc64IsoUpdate(~0ULL, data); }

Result<uint64_t> DatabaseChecksum(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("oracle: cannot open " + path);
  const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
  if (bytes.size() < 100) return Status::Corruption("oracle: " + path + " has no SQLite header");
  const uint32_t raw = uint32_t(bytes[16]) << 8 | bytes[17];
  const uint64_t page_size = raw == 1 ? 65536 : raw;
  if (page_size < 512 || (page_size & (page_size - 1)) != 0 || bytes.size() % page_size != 0) {
    return Status::Corruption("oracle: " + path + ": page size " + std::to_string(page_size) +
                              " and size " + std::to_string(bytes.size()));
  }
  const uint64_t lock_pgno = 0x40000000ULL / page_size + 1;
  uint64_t sum = 0;
  for (uint64_t pgno = 1; pgno <= bytes.size() / page_size; pgno++) {
    if (pgno == lock_pgno) continue;
    const uint8_t be[4] = {uint8_t(pgno >> 24), uint8_t(pgno >> 16), uint8_t(pgno >> 8),
                           uint8_t(pgno)};
    uint64_t crc = Crc64IsoUpdate(~0ULL, be);
    crc = Crc64IsoUpdate(crc, std::span(bytes).subspan((pgno - 1) * page_size, page_size));
    sum ^= ~crc;
  }
  return sum | (1ULL << 63);
}

}  // namespace walship::testing::oracle
