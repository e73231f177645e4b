// RollbackCapture: remembers which parts of the database file a writer changed
// in the rollback-journal modes (DELETE, TRUNCATE, PERSIST; also OFF and MEMORY,
// which keep no journal on disk), so that at the commit point the pages become
// one LTX (DESIGN.md §2.1). Byte ranges are kept rather than page numbers so a
// transaction that changes the page size (VACUUM) is still described right.
// Not thread-safe: the owning Db's mutex guards it.
#pragma once

#include <cstdint>
#include <vector>

#include "store/tx_spec.h"

namespace walship::store {

class RollbackCapture {
 public:
  void OnWrite(uint64_t offset, uint64_t length);
  // The database file's size changed (no page bytes to remember).
  void OnTruncate() { truncated_ = true; }
  bool dirty() const { return !ranges_.empty() || truncated_; }
  // The transaction's pages for a database of `page_size` bytes a page and
  // `commit` pages; forgets the ranges.
  TxSpec Take(uint32_t page_size, uint32_t commit);
  // Forgets the ranges (the writes were rolled back).
  void Clear() {
    ranges_.clear();
    truncated_ = false;
  }

 private:
  struct Range {
    uint64_t offset;
    uint64_t length;
  };
  std::vector<Range> ranges_;
  bool truncated_ = false;
};

}  // namespace walship::store
