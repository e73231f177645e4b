#include "ltx/format.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <limits>

#include "base/coding.h"

namespace walship::ltx {
namespace {

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%016" PRIx64, v);
  return buf;
}

Status Invalid(const std::string& what) { return Status::InvalidArgument("ltx header: " + what); }

// WAL offset and size are signed 64-bit values in the reference design.
constexpr uint64_t kMaxWalValue = uint64_t(std::numeric_limits<int64_t>::max());

Status ValidateWal(const Header& h) {
  if (h.wal_offset > kMaxWalValue) return Invalid("wal offset too large: " + Hex(h.wal_offset));
  if (h.wal_size > kMaxWalValue) return Invalid("wal size too large: " + Hex(h.wal_size));
  if ((h.wal_salt1 != 0 || h.wal_salt2 != 0) && h.wal_offset == 0) {
    return Invalid("wal salt set without a wal offset");
  }
  if (h.wal_size != 0 && h.wal_offset == 0) return Invalid("wal size set without a wal offset");
  return Status::OK();
}

Status ValidatePreApply(const Header& h) {
  if (h.IsSnapshot()) {
    if (h.pre_apply_checksum != 0) return Invalid("snapshot has a nonzero pre-apply checksum");
  } else if (h.NoChecksum()) {
    if (h.pre_apply_checksum != 0) return Invalid("pre-apply checksum set with no-checksum flag");
  } else if (h.pre_apply_checksum == 0) {
    return Invalid("pre-apply checksum required on a non-snapshot file");
  } else if ((h.pre_apply_checksum & kChecksumFlag) == 0) {
    return Invalid("pre-apply checksum " + Hex(h.pre_apply_checksum) + " lacks the checksum flag");
  }
  return Status::OK();
}

}  // namespace

bool IsValidPageSize(uint32_t page_size) {
  return page_size >= kMinPageSize && page_size <= kMaxPageSize &&
         (page_size & (page_size - 1)) == 0;
}

Status Header::Validate() const {
  if ((flags & ~kHeaderFlagMask) != 0) {
    char buf[48];
    std::snprintf(buf, sizeof(buf), "unknown flags 0x%08" PRIx32, flags);
    return Invalid(buf);
  }
  if (!IsValidPageSize(page_size)) return Invalid("invalid page size " + std::to_string(page_size));
  if (min_txid == 0) return Invalid("minimum TXID is zero");
  if (max_txid == 0) return Invalid("maximum TXID is zero");
  if (min_txid > max_txid) {
    return Invalid("TXIDs out of order: min " + Hex(min_txid) + " > max " + Hex(max_txid));
  }
  WALSHIP_RETURN_IF_ERROR(ValidateWal(*this));
  return ValidatePreApply(*this);
}

Status Trailer::Validate(const Header& header) const {
  if (header.NoChecksum()) {
    if (post_apply_checksum != 0) {
      return Status::InvalidArgument("ltx trailer: post-apply checksum set with no-checksum flag");
    }
  } else if ((post_apply_checksum & kChecksumFlag) == 0) {
    return Status::InvalidArgument("ltx trailer: post-apply checksum " + Hex(post_apply_checksum) +
                                   " lacks the checksum flag");
  }
  if ((file_checksum & kChecksumFlag) == 0) {
    return Status::InvalidArgument("ltx trailer: file checksum " + Hex(file_checksum) +
                                   " lacks the checksum flag");
  }
  return Status::OK();
}

void PutHeader(const Header& h, std::span<uint8_t, kHeaderSize> out) {
  uint8_t* p = out.data();
  std::memset(p, 0, kHeaderSize);
  std::memcpy(p, kMagic, 4);
  PutBE32(p + 4, h.flags);
  PutBE32(p + 8, h.page_size);
  PutBE32(p + 12, h.commit);
  PutBE64(p + 16, h.min_txid);
  PutBE64(p + 24, h.max_txid);
  PutBE64(p + 32, uint64_t(h.timestamp_ms));
  PutBE64(p + 40, h.pre_apply_checksum);
  PutBE64(p + 48, h.wal_offset);
  PutBE64(p + 56, h.wal_size);
  PutBE32(p + 64, h.wal_salt1);
  PutBE32(p + 68, h.wal_salt2);
  PutBE64(p + 72, h.node_id);
  // Bytes 80..99 are reserved and stay zero.
}

Result<Header> ParseHeader(std::span<const uint8_t> in) {
  if (in.size() < kHeaderSize) {
    return Status::Corruption("ltx: truncated header: " + std::to_string(in.size()) + " of " +
                              std::to_string(kHeaderSize) + " bytes at offset 0");
  }
  const uint8_t* p = in.data();
  if (std::memcmp(p, kMagic, 4) != 0) {
    std::string magic;
    for (int i = 0; i < 4; i++) {
      if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') {
        magic += char(p[i]);
      } else {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\x%02x", p[i]);
        magic += buf;
      }
    }
    return Status::Corruption("ltx: bad magic \"" + magic + "\" at offset 0");
  }
  Header h;
  h.flags = GetBE32(p + 4);
  h.page_size = GetBE32(p + 8);
  h.commit = GetBE32(p + 12);
  h.min_txid = GetBE64(p + 16);
  h.max_txid = GetBE64(p + 24);
  h.timestamp_ms = int64_t(GetBE64(p + 32));
  h.pre_apply_checksum = GetBE64(p + 40);
  h.wal_offset = GetBE64(p + 48);
  h.wal_size = GetBE64(p + 56);
  h.wal_salt1 = GetBE32(p + 64);
  h.wal_salt2 = GetBE32(p + 68);
  h.node_id = GetBE64(p + 72);
  return h;
}

void PutTrailer(const Trailer& t, std::span<uint8_t, kTrailerSize> out) {
  PutBE64(out.data(), t.post_apply_checksum);
  PutBE64(out.data() + 8, t.file_checksum);
}

Trailer ParseTrailer(std::span<const uint8_t, kTrailerSize> in) {
  return Trailer{GetBE64(in.data()), GetBE64(in.data() + 8)};
}

std::string FileName(uint64_t min_txid, uint64_t max_txid) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64 "-%016" PRIx64 ".ltx", min_txid, max_txid);
  return buf;
}

namespace {

bool ParseHex16(std::string_view s, uint64_t* v) {
  uint64_t out = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    out = out << 4 | uint64_t(d);
  }
  *v = out;
  return true;
}

}  // namespace

bool ParseFileName(std::string_view name, uint64_t* min_txid, uint64_t* max_txid) {
  constexpr size_t kLen = 16 + 1 + 16 + 4;
  if (name.size() != kLen || name[16] != '-' || name.substr(33) != ".ltx") return false;
  uint64_t lo, hi;
  if (!ParseHex16(name.substr(0, 16), &lo) || !ParseHex16(name.substr(17, 16), &hi)) return false;
  *min_txid = lo;
  *max_txid = hi;
  return true;
}

}  // namespace walship::ltx
