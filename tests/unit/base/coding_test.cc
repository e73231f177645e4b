#include "base/coding.h"

#include <gtest/gtest.h>

namespace walship {
namespace {

TEST(Coding, BigEndianRoundTrip) {
  uint8_t b[8];
  PutBE32(b, 0x01020304);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[3], 4);
  EXPECT_EQ(GetBE32(b), 0x01020304u);
  PutBE64(b, 0x0102030405060708ULL);
  EXPECT_EQ(GetBE64(b), 0x0102030405060708ULL);
  PutBE16(b, 0xbeef);
  EXPECT_EQ(GetBE16(b), 0xbeef);
}

TEST(Coding, UvarintRoundTrip) {
  for (uint64_t v : {0ULL, 1ULL, 127ULL, 128ULL, 300ULL, 1ULL << 35, ~0ULL}) {
    std::string s;
    AppendUvarint(&s, v);
    uint64_t got = 0;
    auto n = GetUvarint({reinterpret_cast<const uint8_t*>(s.data()), s.size()}, &got);
    EXPECT_EQ(n, s.size());
    EXPECT_EQ(got, v);
  }
}

TEST(Coding, VarintRoundTripNegative) {
  for (int64_t v : {int64_t(0), int64_t(-1), int64_t(63), int64_t(-64), int64_t(-1000000), INT64_MIN, INT64_MAX}) {
    std::string s;
    AppendVarint(&s, v);
    int64_t got = 0;
    EXPECT_EQ(GetVarint({reinterpret_cast<const uint8_t*>(s.data()), s.size()}, &got), s.size());
    EXPECT_EQ(got, v);
  }
}

TEST(Coding, TruncatedUvarintIsRejected) {
  const uint8_t b[] = {0x80, 0x80};
  uint64_t v;
  EXPECT_EQ(GetUvarint(b, &v), 0u);
}

TEST(Coding, Hex16) { EXPECT_EQ(Hex16(0xabc), "0000000000000abc"); }

}  // namespace
}  // namespace walship
