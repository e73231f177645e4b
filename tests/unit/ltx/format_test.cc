#include "ltx/format.h"

#include <gtest/gtest.h>

#include "ltx/checksum.h"
#include "ltx_test_util.h"

namespace walship::ltx {
namespace {

using testing::MakeHeader;

TEST(LtxHeader, PutThenParseRoundTrips) {
  Header h = MakeHeader(4096, 77, 5, 9);
  h.flags = 0;
  h.wal_offset = 32;
  h.wal_size = 4128;
  h.wal_salt1 = 0xdeadbeef;
  h.wal_salt2 = 0x01020304;
  h.timestamp_ms = -5;  // before the epoch still round-trips
  uint8_t buf[kHeaderSize];
  PutHeader(h, buf);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), 4), "LTX1");
  for (size_t i = 80; i < kHeaderSize; i++) EXPECT_EQ(buf[i], 0) << "reserved byte " << i;
  Result<Header> parsed = ParseHeader(buf);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, h);
}

TEST(LtxHeader, FieldsAreBigEndianAtDocumentedOffsets) {
  Header h = MakeHeader(512, 0x01020304, 0x1112131415161718ULL, 0x2122232425262728ULL);
  uint8_t buf[kHeaderSize];
  PutHeader(h, buf);
  EXPECT_EQ(buf[8], 0x00);
  EXPECT_EQ(buf[10], 0x02);  // page size 512 = 0x00000200
  EXPECT_EQ(buf[12], 0x01);
  EXPECT_EQ(buf[15], 0x04);
  EXPECT_EQ(buf[16], 0x11);
  EXPECT_EQ(buf[23], 0x18);
  EXPECT_EQ(buf[24], 0x21);
  EXPECT_EQ(buf[72], 0x11);  // node id 0x1122334455667788
  EXPECT_EQ(buf[79], 0x88);
}

TEST(LtxHeader, ParseRejectsBadMagicAndShortInput) {
  uint8_t buf[kHeaderSize];
  PutHeader(MakeHeader(4096, 1, 1, 1), buf);
  buf[0] = 'X';
  buf[3] = 0x01;
  Result<Header> bad = ParseHeader(buf);
  ASSERT_TRUE(bad.status().IsCorruption());
  EXPECT_EQ(bad.status().message(), "ltx: bad magic \"XTX\\x01\" at offset 0");
  EXPECT_TRUE(ParseHeader(std::span<const uint8_t>(buf, 99)).status().IsCorruption());
}

TEST(LtxHeader, ValidAcceptsSnapshotAndIncrement) {
  EXPECT_TRUE(MakeHeader(4096, 10, 1, 1).Validate().ok());
  EXPECT_TRUE(MakeHeader(4096, 10, 1, 7).Validate().ok());
  EXPECT_TRUE(MakeHeader(65536, 0, 3, 3).Validate().ok());
  Header no_checksum = MakeHeader(512, 10, 4, 4);
  no_checksum.flags = kHeaderFlagNoChecksum;
  no_checksum.pre_apply_checksum = 0;
  EXPECT_TRUE(no_checksum.Validate().ok());
}

TEST(LtxHeader, ValidateRejectsEachBrokenRule) {
  auto rejects = [](Header h, const char* why) {
    Status s = h.Validate();
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << why;
  };
  Header h = MakeHeader(4096, 10, 2, 2);
  Header x = h;
  x.flags = 1;
  rejects(x, "unknown flag");
  for (uint32_t size : {0u, 256u, 1000u, 131072u}) {
    x = h;
    x.page_size = size;
    rejects(x, "page size");
  }
  x = h;
  x.min_txid = 0;
  rejects(x, "min txid 0");
  x = h;
  x.max_txid = 1;
  rejects(x, "min > max");
  x = MakeHeader(4096, 10, 1, 1);
  x.pre_apply_checksum = kChecksumFlag;
  rejects(x, "snapshot with pre-apply");
  x = h;
  x.pre_apply_checksum = 0;
  rejects(x, "missing pre-apply");
  x = h;
  x.pre_apply_checksum = 5;
  rejects(x, "pre-apply without flag");
  x = h;
  x.wal_salt1 = 1;
  rejects(x, "salt without offset");
  x = h;
  x.wal_size = 100;
  rejects(x, "size without offset");
  x = h;
  x.wal_offset = 1ULL << 63;
  rejects(x, "offset beyond int64");
}

TEST(LtxTrailer, ValidateNeedsFlaggedChecksums) {
  Header h = MakeHeader(4096, 1, 2, 2);
  EXPECT_TRUE((Trailer{kChecksumFlag | 7, kChecksumFlag | 9}).Validate(h).ok());
  EXPECT_FALSE((Trailer{7, kChecksumFlag | 9}).Validate(h).ok());
  EXPECT_FALSE((Trailer{kChecksumFlag | 7, 9}).Validate(h).ok());
  h.flags = kHeaderFlagNoChecksum;
  EXPECT_TRUE((Trailer{0, kChecksumFlag | 9}).Validate(h).ok());
  EXPECT_FALSE((Trailer{kChecksumFlag, kChecksumFlag | 9}).Validate(h).ok());
}

TEST(LtxFileName, FormatsAndParses) {
  EXPECT_EQ(FileName(1, 0x3e8), "0000000000000001-00000000000003e8.ltx");
  EXPECT_EQ(FileName(~0ULL, ~0ULL), "ffffffffffffffff-ffffffffffffffff.ltx");
  uint64_t lo = 0, hi = 0;
  ASSERT_TRUE(ParseFileName("0000000000000001-00000000000003e8.ltx", &lo, &hi));
  EXPECT_EQ(lo, 1u);
  EXPECT_EQ(hi, 0x3e8u);
  ASSERT_TRUE(ParseFileName(FileName(0xabcdef0123456789ULL, ~0ULL), &lo, &hi));
  EXPECT_EQ(lo, 0xabcdef0123456789ULL);
  EXPECT_EQ(hi, ~0ULL);
}

TEST(LtxFileName, RejectsAnythingElse) {
  uint64_t lo = 42, hi = 43;
  for (const char* bad :
       {"", "0000000000000001.ltx", "000000000000000z-00000000000003e8.ltx",
        "0000000000000001-00000000000003E8.ltx", "0000000000000001-00000000000003e8.zzz",
        "0000000000000001_00000000000003e8.ltx", "0000000000000001-00000000000003e8.ltx.tmp",
        "00000000000000001-0000000000003e8.ltx"}) {
    EXPECT_FALSE(ParseFileName(bad, &lo, &hi)) << bad;
  }
  EXPECT_EQ(lo, 42u);
  EXPECT_EQ(hi, 43u);
}

TEST(LtxFormat, PageSizesAndLockPage) {
  for (uint32_t s = 512; s <= 65536; s *= 2) EXPECT_TRUE(IsValidPageSize(s)) << s;
  for (uint32_t s : {0u, 1u, 511u, 513u, 3000u, 131072u}) EXPECT_FALSE(IsValidPageSize(s)) << s;
  EXPECT_EQ(LockPgno(512), 2097153u);
  EXPECT_EQ(LockPgno(4096), 262145u);
  EXPECT_EQ(LockPgno(65536), 16385u);
}

}  // namespace
}  // namespace walship::ltx
