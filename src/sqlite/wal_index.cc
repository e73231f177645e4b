#include "sqlite/wal_index.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

#include "base/coding.h"
#include "sqlite/wal.h"

namespace walship::sqlite {
namespace {

uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

void StoreU32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, sizeof(v)); }

uint16_t LoadU16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

void StoreU16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, sizeof(v)); }

// The header checksum reads host-order words ("native" in wal.c).
void HeaderChecksum(const uint8_t* hdr, uint32_t out[2]) {
  out[0] = out[1] = 0;
  WalChecksum(std::endian::native == std::endian::big,
              std::span<const uint8_t>(hdr, kWihCksumOffset), out);
}

uint16_t EncodeShmPageSize(uint32_t size) { return uint16_t((size & 0xff00) | (size >> 16)); }
uint32_t DecodeShmPageSize(uint16_t v) { return (v & 0xfe00u) + (uint32_t(v & 1) << 16); }

}  // namespace

Result<WalIndexHeader> ParseWalIndexHeader(std::span<const uint8_t> hdr48) {
  if (hdr48.size() < kWalIndexHdrSize) {
    return Status::Corruption("wal-index header: truncated");
  }
  const uint8_t* p = hdr48.data();
  WalIndexHeader h;
  h.version = LoadU32(p + kWihVersionOffset);
  h.change = LoadU32(p + kWihChangeOffset);
  h.is_init = p[kWihIsInitOffset];
  h.big_endian_checksum = p[kWihBigEndCksumOffset];
  h.page_size = DecodeShmPageSize(LoadU16(p + kWihPageSizeOffset));
  h.max_frame = LoadU32(p + kWihMaxFrameOffset);
  h.db_pages = LoadU32(p + kWihDbPagesOffset);
  h.frame_checksum = {LoadU32(p + kWihFrameCksumOffset), LoadU32(p + kWihFrameCksumOffset + 4)};
  h.salt1 = GetBE32(p + kWihSaltOffset);
  h.salt2 = GetBE32(p + kWihSaltOffset + 4);
  h.checksum = {LoadU32(p + kWihCksumOffset), LoadU32(p + kWihCksumOffset + 4)};
  if (h.is_init == 0) return Status::Corruption("wal-index header: not initialized");
  uint32_t want[2];
  HeaderChecksum(p, want);
  if (want[0] != h.checksum[0] || want[1] != h.checksum[1]) {
    return Status::Corruption("wal-index header: checksum mismatch");
  }
  return h;
}

void EncodeWalIndexHeader(const WalIndexHeader& h, std::span<uint8_t> out) {
  assert(out.size() >= kWalIndexHdrSize);
  uint8_t* p = out.data();
  std::memset(p, 0, kWalIndexHdrSize);
  StoreU32(p + kWihVersionOffset, h.version);
  StoreU32(p + kWihChangeOffset, h.change);
  p[kWihIsInitOffset] = h.is_init;
  p[kWihBigEndCksumOffset] = h.big_endian_checksum;
  StoreU16(p + kWihPageSizeOffset, EncodeShmPageSize(h.page_size));
  StoreU32(p + kWihMaxFrameOffset, h.max_frame);
  StoreU32(p + kWihDbPagesOffset, h.db_pages);
  StoreU32(p + kWihFrameCksumOffset, h.frame_checksum[0]);
  StoreU32(p + kWihFrameCksumOffset + 4, h.frame_checksum[1]);
  PutBE32(p + kWihSaltOffset, h.salt1);
  PutBE32(p + kWihSaltOffset + 4, h.salt2);
  uint32_t sum[2];
  HeaderChecksum(p, sum);
  StoreU32(p + kWihCksumOffset, sum[0]);
  StoreU32(p + kWihCksumOffset + 4, sum[1]);
}

WalCkptInfo ParseWalCkptInfo(std::span<const uint8_t> shm) {
  assert(shm.size() >= kWalIndexHeaderSize);
  const uint8_t* p = shm.data();
  WalCkptInfo info;
  info.backfill = LoadU32(p + kCkptBackfillOffset);
  for (int i = 0; i < kWalReadMarks; i++) {
    info.read_marks[i] = LoadU32(p + kCkptReadMarkOffset + 4 * i);
  }
  info.backfill_attempted = LoadU32(p + kCkptBackfillAttemptedOffset);
  return info;
}

void EncodeWalCkptInfo(const WalCkptInfo& info, std::span<uint8_t> shm) {
  assert(shm.size() >= kWalIndexHeaderSize);
  uint8_t* p = shm.data();
  StoreU32(p + kCkptBackfillOffset, info.backfill);
  for (int i = 0; i < kWalReadMarks; i++) {
    StoreU32(p + kCkptReadMarkOffset + 4 * i, info.read_marks[i]);
  }
  StoreU32(p + kCkptBackfillAttemptedOffset, info.backfill_attempted);
}

bool ResetForChangedDatabase(std::span<uint8_t> shm, uint32_t db_pages, uint32_t change) {
  assert(shm.size() >= kWalIndexHeaderSize);
  const std::span<const uint8_t> copy1 = shm.subspan(kWalIndexHdrCopy1Offset, kWalIndexHdrSize);
  const std::span<const uint8_t> copy2 = shm.subspan(kWalIndexHdrCopy2Offset, kWalIndexHdrSize);
  Result<WalIndexHeader> header = ParseWalIndexHeader(copy1);
  const bool valid = header.ok() && std::equal(copy1.begin(), copy1.end(), copy2.begin());
  WalIndexHeader h;
  if (valid) h = *header;
  h.version = kWalIndexVersion;
  h.is_init = 1;
  h.change = change;
  h.max_frame = 0;
  h.db_pages = db_pages;
  EncodeWalIndexHeader(h, shm.subspan(kWalIndexHdrCopy1Offset, kWalIndexHdrSize));
  EncodeWalIndexHeader(h, shm.subspan(kWalIndexHdrCopy2Offset, kWalIndexHdrSize));
  WalCkptInfo info;
  info.read_marks = {0, kReadMarkNotUsed, kReadMarkNotUsed, kReadMarkNotUsed, kReadMarkNotUsed};
  EncodeWalCkptInfo(info, shm);
  return valid;
}

}  // namespace walship::sqlite
