// PageChecksums: the checksum of every page of one database, kept in memory
// (8 bytes a page) so a commit updates the rolling database checksum in
// O(pages written) instead of rereading the database (DESIGN.md §2.1).
//
// Database checksum = XOR of all page checksums except the lock page's, with
// ltx::kChecksumFlag set; 0 for an empty database. Not thread-safe: the owning
// Db's mutex guards it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace walship::store {

class PageChecksums {
 public:
  // Forgets everything; the database is empty with this page size.
  void Reset(uint32_t page_size);

  uint32_t page_size() const { return page_size_; }
  uint32_t page_count() const { return uint32_t(checksums_.size()); }
  // The database checksum as LTX and the -pos file carry it.
  uint64_t DatabaseChecksum() const;
  // Checksum of page `pgno` (1-based); 0 beyond the end and for the lock page.
  uint64_t Get(uint32_t pgno) const;
  // Records page `pgno`'s checksum; grows the database if needed (pages added
  // in between count as zero-filled, as a file extended with a hole reads).
  void Set(uint32_t pgno, uint64_t checksum);
  // Grows (zero pages) or shrinks the database to `page_count` pages.
  void Resize(uint32_t page_count);

  // Checksum of an all-zero page `pgno` of this page size.
  uint64_t ZeroPageChecksum(uint32_t pgno) const;

 private:
  uint32_t page_size_ = 0;
  uint32_t lock_pgno_ = 0;
  uint64_t xor_ = 0;  // XOR of checksums_ (lock page entry is 0)
  std::vector<uint64_t> checksums_;
  std::vector<uint8_t> zero_page_;
};

}  // namespace walship::store
