#include "sqlite/wal.h"

#include <cassert>
#include <string>

#include "base/coding.h"
#include "sqlite/wal_internal.h"

namespace walship::sqlite {
namespace {

inline uint32_t GetLE32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

bool ValidWalPageSize(uint32_t size) {
  return size >= 512 && size <= 65536 && (size & (size - 1)) == 0;
}

}  // namespace

WalHeader DecodeWalHeader(const uint8_t* p) {
  WalHeader h;
  h.magic = GetBE32(p);
  h.version = GetBE32(p + 4);
  h.page_size = GetBE32(p + 8);
  h.checkpoint_seq = GetBE32(p + 12);
  h.salt1 = GetBE32(p + 16);
  h.salt2 = GetBE32(p + 20);
  h.checksum1 = GetBE32(p + 24);
  h.checksum2 = GetBE32(p + 28);
  return h;
}

// Checks in the order SQLite's recovery does: the first three failures make
// SQLite treat the WAL as empty; a bad version makes it refuse to open.
HeaderState CheckWalHeader(const WalHeader& h, const uint8_t* raw) {
  if ((h.magic & ~1u) != kWalMagicLittleEndian) return HeaderState::kBadMagic;
  if (!ValidWalPageSize(h.page_size)) return HeaderState::kBadPageSize;
  uint32_t s[2] = {0, 0};
  WalChecksum(h.big_endian_checksum(), std::span<const uint8_t>(raw, 24), s);
  if (s[0] != h.checksum1 || s[1] != h.checksum2) return HeaderState::kBadChecksum;
  if (h.version != kWalVersion) return HeaderState::kBadVersion;
  return HeaderState::kValid;
}

void WalChecksum(bool big_endian, std::span<const uint8_t> data, uint32_t s[2]) {
  assert(data.size() % 8 == 0);
  uint32_t s0 = s[0];
  uint32_t s1 = s[1];
  const uint8_t* p = data.data();
  const uint8_t* end = p + data.size();
  if (big_endian) {
    for (; p < end; p += 8) {
      s0 += GetBE32(p) + s1;
      s1 += GetBE32(p + 4) + s0;
    }
  } else {
    for (; p < end; p += 8) {
      s0 += GetLE32(p) + s1;
      s1 += GetLE32(p + 4) + s0;
    }
  }
  s[0] = s0;
  s[1] = s1;
}

Result<WalHeader> ParseWalHeader(std::span<const uint8_t> first32) {
  if (first32.size() < kWalHeaderSize) {
    return Status::Corruption("WAL header: truncated (" + std::to_string(first32.size()) +
                              " of 32 bytes)");
  }
  WalHeader h = DecodeWalHeader(first32.data());
  switch (CheckWalHeader(h, first32.data())) {
    case HeaderState::kBadMagic:
      return Status::Corruption("WAL header: bad magic");
    case HeaderState::kBadPageSize:
      return Status::Corruption("WAL header: invalid page size " + std::to_string(h.page_size));
    case HeaderState::kBadChecksum:
      return Status::Corruption("WAL header: checksum mismatch");
    case HeaderState::kBadVersion:
      return Status::Corruption("WAL header: unsupported version " + std::to_string(h.version));
    case HeaderState::kValid:
      break;
  }
  return h;
}

std::array<uint8_t, kWalHeaderSize> EncodeWalHeader(const WalHeader& h) {
  std::array<uint8_t, kWalHeaderSize> out{};
  PutBE32(&out[0], h.magic);
  PutBE32(&out[4], h.version);
  PutBE32(&out[8], h.page_size);
  PutBE32(&out[12], h.checkpoint_seq);
  PutBE32(&out[16], h.salt1);
  PutBE32(&out[20], h.salt2);
  uint32_t s[2] = {0, 0};
  WalChecksum(h.big_endian_checksum(), std::span<const uint8_t>(out).first(24), s);
  PutBE32(&out[24], s[0]);
  PutBE32(&out[28], s[1]);
  return out;
}

WalFrameHeader ParseWalFrameHeader(std::span<const uint8_t> frame_header) {
  assert(frame_header.size() >= kWalFrameHeaderSize);
  const uint8_t* p = frame_header.data();
  WalFrameHeader f;
  f.pgno = GetBE32(p);
  f.commit = GetBE32(p + 4);
  f.salt1 = GetBE32(p + 8);
  f.salt2 = GetBE32(p + 12);
  f.checksum1 = GetBE32(p + 16);
  f.checksum2 = GetBE32(p + 20);
  return f;
}

bool VerifyWalFrame(const WalHeader& hdr, std::span<const uint8_t> frame_header,
                    std::span<const uint8_t> page, uint32_t cksum[2]) {
  assert(page.size() == hdr.page_size);
  WalFrameHeader f = ParseWalFrameHeader(frame_header);
  if (f.salt1 != hdr.salt1 || f.salt2 != hdr.salt2) return false;
  if (f.pgno == 0) return false;
  uint32_t s[2] = {cksum[0], cksum[1]};
  WalChecksum(hdr.big_endian_checksum(), frame_header.first(8), s);
  WalChecksum(hdr.big_endian_checksum(), page, s);
  if (s[0] != f.checksum1 || s[1] != f.checksum2) return false;
  cksum[0] = s[0];
  cksum[1] = s[1];
  return true;
}

void EncodeWalFrameHeader(const WalHeader& hdr, uint32_t pgno, uint32_t commit,
                          std::span<const uint8_t> page, uint32_t cksum[2],
                          std::span<uint8_t> out) {
  assert(out.size() >= kWalFrameHeaderSize);
  assert(page.size() == hdr.page_size);
  uint8_t* p = out.data();
  PutBE32(p, pgno);
  PutBE32(p + 4, commit);
  PutBE32(p + 8, hdr.salt1);
  PutBE32(p + 12, hdr.salt2);
  WalChecksum(hdr.big_endian_checksum(), std::span<const uint8_t>(p, 8), cksum);
  WalChecksum(hdr.big_endian_checksum(), page, cksum);
  PutBE32(p + 16, cksum[0]);
  PutBE32(p + 20, cksum[1]);
}

}  // namespace walship::sqlite
