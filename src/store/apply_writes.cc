#include "store/apply_writes.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/coding.h"
#include "base/crash_point.h"

namespace walship::store {
namespace {

// Test hook: WALSHIP_TEST_APPLY_PAGE_DELAY_US=<n> pauses n µs after each page
// an apply writes, so tests can prove readers never see a half-applied
// transaction (the window is otherwise a few microseconds).
void TestPageDelay() {
  static const long delay_us = TestHookNumber("WALSHIP_TEST_APPLY_PAGE_DELAY_US");
  if (delay_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
}

}  // namespace

ApplyWrites::ApplyWrites(env::File* database, uint64_t size, size_t held_bytes)
    : database_(database),
      held_limit_(held_bytes),
      size_(size),
      written_size_(size) {}

Status ApplyWrites::Page(uint32_t pgno, std::span<const uint8_t> page) {
  // A new page size rewrites every page: what is held at the old one goes first.
  if (page_size_ != 0 && page.size() != page_size_) WALSHIP_RETURN_IF_ERROR(Flush());
  page_size_ = uint32_t(page.size());
  held_[pgno].assign(reinterpret_cast<const char*>(page.data()), page.size());
  const uint64_t at = uint64_t(pgno - 1) * page.size();
  if (!changed_.empty() && changed_.back().offset + changed_.back().length == at) {
    changed_.back().length += page.size();
  } else {
    changed_.push_back({at, page.size()});
  }
  if (held_.size() * page_size_ >= held_limit_) return Flush();
  return Status::OK();
}

Status ApplyWrites::Resize(uint64_t size) {
  if (size < size_) {
    changed_.push_back({size, size_ - size});
    // Pages held from earlier files past the new end are cut off with it.
    if (page_size_ != 0) held_.erase(held_.upper_bound(uint32_t(size / page_size_)), held_.end());
    cut_to_ = std::min(cut_to_, size);
  }
  size_ = size;
  return Status::OK();
}

Status ApplyWrites::Flush() {
  if (cut_to_ < written_size_) {
    WALSHIP_RETURN_IF_ERROR(database_->Truncate(cut_to_));
    written_size_ = cut_to_;
  }
  bool first = true;
  for (const auto& [pgno, page] : held_) {
    if (!first) CrashPoint("apply-mid-batch");  // some of the pages written, not all
    first = false;
    const uint64_t at = uint64_t(pgno - 1) * page_size_;
    WALSHIP_RETURN_IF_ERROR(database_->WriteAt(at, AsBytes(page)));
    written_size_ = std::max(written_size_, at + page.size());
    TestPageDelay();
  }
  held_.clear();
  cut_to_ = kNoCut;
  return Status::OK();
}

Status ApplyWrites::Finish() {
  WALSHIP_RETURN_IF_ERROR(Flush());
  // Most runs leave the size as it was, and an ftruncate to the same size
  // still costs the file system a transaction.
  if (written_size_ != size_) {
    WALSHIP_RETURN_IF_ERROR(database_->Truncate(size_));
    written_size_ = size_;
  }
  return Status::OK();
}

std::vector<ApplyWrites::ByteRange> ApplyWrites::Changed() const {
  std::vector<ByteRange> ranges = changed_;
  std::sort(ranges.begin(), ranges.end(),
            [](const ByteRange& a, const ByteRange& b) { return a.offset < b.offset; });
  std::vector<ByteRange> out;
  for (const ByteRange& r : ranges) {
    if (!out.empty() && r.offset <= out.back().offset + out.back().length) {
      out.back().length = std::max(out.back().length, r.offset + r.length - out.back().offset);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

}  // namespace walship::store
