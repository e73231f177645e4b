#include "store/page_checksums.h"

#include "ltx/checksum.h"
#include "ltx/format.h"

namespace walship::store {

void PageChecksums::Reset(uint32_t page_size) {
  page_size_ = page_size;
  lock_pgno_ = page_size ? ltx::LockPgno(page_size) : 0;
  xor_ = 0;
  checksums_.clear();
  zero_page_.assign(page_size, 0);
}

uint64_t PageChecksums::DatabaseChecksum() const {
  if (checksums_.empty()) return 0;
  return xor_ | ltx::kChecksumFlag;
}

uint64_t PageChecksums::Get(uint32_t pgno) const {
  if (pgno == 0 || pgno > checksums_.size()) return 0;
  return checksums_[pgno - 1];
}

void PageChecksums::Set(uint32_t pgno, uint64_t checksum) {
  if (pgno == lock_pgno_) return;
  if (pgno > checksums_.size()) Resize(pgno);
  xor_ ^= checksums_[pgno - 1] ^ checksum;
  checksums_[pgno - 1] = checksum;
}

void PageChecksums::Resize(uint32_t page_count) {
  while (checksums_.size() > page_count) {
    xor_ ^= checksums_.back();
    checksums_.pop_back();
  }
  while (checksums_.size() < page_count) {
    uint32_t pgno = uint32_t(checksums_.size()) + 1;
    uint64_t checksum = pgno == lock_pgno_ ? 0 : ZeroPageChecksum(pgno);
    checksums_.push_back(checksum);
    xor_ ^= checksum;
  }
}

uint64_t PageChecksums::ZeroPageChecksum(uint32_t pgno) const {
  return ltx::PageChecksum(pgno, zero_page_);
}

}  // namespace walship::store
