#include "store/rollback_capture.h"

#include <set>

namespace walship::store {

void RollbackCapture::OnWrite(uint64_t offset, uint64_t length) {
  if (length == 0) return;
  if (!ranges_.empty()) {
    Range& last = ranges_.back();
    if (last.offset + last.length == offset) {  // sequential writes: extend
      last.length += length;
      return;
    }
  }
  ranges_.push_back({offset, length});
}

TxSpec RollbackCapture::Take(uint32_t page_size, uint32_t commit) {
  std::set<uint32_t> pgnos;
  for (const Range& r : ranges_) {
    uint64_t first = r.offset / page_size + 1;
    uint64_t last = (r.offset + r.length - 1) / page_size + 1;
    for (uint64_t p = first; p <= last && p <= commit; p++) pgnos.insert(uint32_t(p));
  }
  Clear();
  TxSpec spec;
  spec.page_size = page_size;
  spec.commit = commit;
  for (uint32_t pgno : pgnos) {
    spec.pages.push_back({pgno, FileKind::kDatabase, uint64_t(pgno - 1) * page_size});
  }
  return spec;
}

}  // namespace walship::store
