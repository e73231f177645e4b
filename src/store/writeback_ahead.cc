#include "store/writeback_ahead.h"

#include <fcntl.h>

namespace walship::store {

std::optional<std::pair<uint64_t, uint64_t>> WritebackAhead::Written(int fd, uint64_t end) {
  const uint64_t to = end / kPageBytes * kPageBytes;
  if (to < started_to_) started_to_ = 0;
  if (fd < 0 || to - started_to_ < kStepBytes) return std::nullopt;
  const uint64_t from = started_to_;
  (void)::sync_file_range(fd, off_t(from), off_t(to - from), SYNC_FILE_RANGE_WRITE);
  started_to_ = to;
  return std::make_pair(from, to);
}

}  // namespace walship::store
