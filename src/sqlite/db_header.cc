#include "sqlite/db_header.h"

#include <cstring>
#include <string>

#include "base/coding.h"

namespace walship::sqlite {
namespace {

// SQLite refuses a file whose usable page size (page minus reserved bytes) is
// below this: b-tree cells would not fit.
constexpr uint32_t kMinUsableSize = 480;

Status CheckFields(const DbHeader& h, const uint8_t* p) {
  if (h.page_size == 0) {
    return Status::Corruption("database header: invalid page size field " +
                              std::to_string(GetBE16(p + kDbPageSizeOffset)));
  }
  // The payload fractions are fixed by the file format; SQLite rejects others.
  if (p[21] != 64 || p[22] != 32 || p[23] != 32) {
    return Status::Corruption("database header: invalid payload fractions");
  }
  if (h.page_size - h.reserved_space < kMinUsableSize) {
    return Status::Corruption("database header: reserved space " +
                              std::to_string(h.reserved_space) + " too large for page size " +
                              std::to_string(h.page_size));
  }
  // SQLite opens a file with write version > 2 read-only but cannot read one
  // with read version > 2 at all.
  if (h.read_version > 2) {
    return Status::Corruption("database header: unsupported file format version (write " +
                              std::to_string(h.write_version) + ", read " +
                              std::to_string(h.read_version) + ")");
  }
  return Status::OK();
}

}  // namespace

uint32_t DecodePageSize(uint16_t raw) {
  uint32_t size = raw == 1 ? 65536u : raw;
  if (size < 512 || size > 65536 || (size & (size - 1)) != 0) return 0;
  return size;
}

Result<DbHeader> ParseDbHeader(std::span<const uint8_t> first100) {
  if (first100.size() < kDbHeaderSize) {
    return Status::Corruption("database header: truncated (" + std::to_string(first100.size()) +
                              " of 100 bytes)");
  }
  const uint8_t* p = first100.data();
  if (std::memcmp(p, kDbMagic, sizeof(kDbMagic)) != 0) {
    return Status::Corruption("database header: not an SQLite 3 database (bad magic)");
  }
  DbHeader h;
  h.page_size = DecodePageSize(GetBE16(p + kDbPageSizeOffset));
  h.write_version = p[kDbWriteVersionOffset];
  h.read_version = p[kDbReadVersionOffset];
  h.reserved_space = p[kDbReservedSpaceOffset];
  h.change_counter = GetBE32(p + kDbChangeCounterOffset);
  h.page_count = GetBE32(p + kDbPageCountOffset);
  h.freelist_trunk = GetBE32(p + kDbFreelistTrunkOffset);
  h.freelist_count = GetBE32(p + kDbFreelistCountOffset);
  h.schema_cookie = GetBE32(p + kDbSchemaCookieOffset);
  h.schema_format = GetBE32(p + kDbSchemaFormatOffset);
  h.text_encoding = GetBE32(p + kDbTextEncodingOffset);
  h.user_version = GetBE32(p + kDbUserVersionOffset);
  h.application_id = GetBE32(p + kDbApplicationIdOffset);
  h.version_valid_for = GetBE32(p + kDbVersionValidForOffset);
  h.sqlite_version = GetBE32(p + kDbSqliteVersionOffset);
  WALSHIP_RETURN_IF_ERROR(CheckFields(h, p));
  return h;
}

bool IsWalMode(const DbHeader& h) { return h.write_version == 2 && h.read_version == 2; }

bool PageCountValid(const DbHeader& h) {
  return h.page_count != 0 && h.change_counter == h.version_valid_for;
}

}  // namespace walship::sqlite
