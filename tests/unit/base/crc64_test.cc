#include "base/crc64.h"

#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace walship
