#include "ltx/checksum.h"

#include <algorithm>
#include <string>
#include <vector>

#include "base/coding.h"
#include "base/crc64.h"

namespace walship::ltx {

uint64_t PageChecksum(uint32_t pgno, std::span<const uint8_t> page) {
  uint8_t be[4];
  PutBE32(be, pgno);
  return Crc64Update(Crc64(be), page);
}

Result<uint64_t> DatabaseChecksum(env::File* db, uint32_t page_size, uint32_t page_count) {
  if (!IsValidPageSize(page_size)) {
    return Status::InvalidArgument("ltx: invalid page size " + std::to_string(page_size));
  }
  // Read in batches of pages so large databases cost few system calls.
  constexpr size_t kBatchBytes = 1 << 20;
  const uint32_t pages_per_batch = uint32_t(kBatchBytes / page_size);
  const uint32_t lock_pgno = LockPgno(page_size);
  std::vector<uint8_t> buf(size_t(pages_per_batch) * page_size);
  uint64_t checksum = kChecksumFlag;
  // 64-bit so the loop cannot wrap when page_count is near UINT32_MAX.
  for (uint64_t first = 1; first <= page_count; first += pages_per_batch) {
    uint32_t n = uint32_t(std::min<uint64_t>(pages_per_batch, page_count - first + 1));
    std::span<uint8_t> want(buf.data(), size_t(n) * page_size);
    WALSHIP_ASSIGN_OR_RETURN(size_t got, db->ReadAt(uint64_t(first - 1) * page_size, want));
    if (got != want.size()) {
      return Status::Corruption("ltx: " + db->path() + " is shorter than " +
                                std::to_string(page_count) + " pages of " +
                                std::to_string(page_size) + " bytes");
    }
    for (uint32_t i = 0; i < n; i++) {
      uint32_t pgno = uint32_t(first + i);
      if (pgno == lock_pgno) continue;
      auto page = want.subspan(size_t(i) * page_size, page_size);
      checksum = ChecksumXor(checksum, PageChecksum(pgno, page));
    }
  }
  return checksum;
}

}  // namespace walship::ltx
