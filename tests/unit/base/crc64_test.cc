#include "base/crc64.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace walship {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Crc64, CheckValueMatchesGoIso) {
  EXPECT_EQ(Crc64(Bytes("123456789")), 0xb90956c775a41001ULL);
}

TEST(Crc64, EmptyIsZero) { EXPECT_EQ(Crc64({}), 0u); }

TEST(Crc64, UpdateInPiecesEqualsWhole) {
  std::string data;
  for (int i = 0; i < 5000; i++) data.push_back(char(i * 7 + 3));
  uint64_t whole = Crc64(Bytes(data));
  for (size_t split : {size_t(1), size_t(7), size_t(8), size_t(4095), data.size() - 1}) {
    uint64_t a = Crc64Update(0, Bytes(data.substr(0, split)));
    EXPECT_EQ(Crc64Update(a, Bytes(data.substr(split))), whole) << "split at " << split;
  }
}

TEST(Crc64, FoldingEqualsTablesForEveryLengthAndStart) {
  // Lengths around every path of the folding: 64-byte rounds, 16-byte
  // rounds, the table tail; a page and a page with its number.
  std::string data;
  uint64_t seed = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < 70000; i++) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    data.push_back(char(seed >> 56));
  }
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 300; n++) lengths.push_back(n);
  for (size_t n : {1023, 1024, 4096, 4100, 65536, 65540, 69999}) lengths.push_back(n);
  for (size_t n : lengths) {
    for (uint64_t start : {uint64_t(0), uint64_t(0xb90956c775a41001ULL), ~uint64_t(0)}) {
      const auto bytes = Bytes(data).subspan(7, n);  // unaligned on purpose
      ASSERT_EQ(Crc64Update(start, bytes), Crc64UpdateByTable(start, bytes))
          << "length " << n << ", start " << start;
    }
  }
}

}  // namespace
}  // namespace walship
