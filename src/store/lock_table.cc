#include "store/lock_table.h"

#include <algorithm>

namespace walship::store {
namespace {

bool Overlaps(const LockRange& l, uint64_t start, uint64_t end) {
  return l.start <= end && start <= l.end;
}

bool Conflicts(const LockRange& held, LockType want) {
  return held.type == LockType::kWrite || want == LockType::kWrite;
}

}  // namespace

std::optional<LockRange> LockTable::FindConflict(uint64_t owner, LockType type, uint64_t start,
                                                 uint64_t end) const {
  if (type == LockType::kUnlock) return std::nullopt;
  for (const LockRange& l : locks_) {
    if (l.owner != owner && Overlaps(l, start, end) && Conflicts(l, type)) return l;
  }
  return std::nullopt;
}

bool LockTable::Set(uint64_t owner, uint32_t pid, LockType type, uint64_t start, uint64_t end) {
  if (FindConflict(owner, type, start, end)) return false;
  Carve(owner, start, end);
  if (type != LockType::kUnlock) locks_.push_back({start, end, type, owner, pid});
  return true;
}

void LockTable::Carve(uint64_t owner, uint64_t start, uint64_t end) {
  std::vector<LockRange> kept;
  kept.reserve(locks_.size() + 1);
  for (const LockRange& l : locks_) {
    if (l.owner != owner || !Overlaps(l, start, end)) {
      kept.push_back(l);
      continue;
    }
    if (l.start < start) {
      LockRange left = l;
      left.end = start - 1;
      kept.push_back(left);
    }
    if (l.end > end) {
      LockRange right = l;
      right.start = end + 1;
      kept.push_back(right);
    }
  }
  locks_ = std::move(kept);
}

void LockTable::ReleaseOwner(uint64_t owner) {
  std::erase_if(locks_, [owner](const LockRange& l) { return l.owner == owner; });
}

bool LockTable::IsLocked(LockType type, uint64_t start, uint64_t end) const {
  return std::any_of(locks_.begin(), locks_.end(), [&](const LockRange& l) {
    return Overlaps(l, start, end) && (type == LockType::kRead || l.type == LockType::kWrite);
  });
}

bool LockTable::HoldsWrite(uint64_t owner, uint64_t start, uint64_t end) const {
  return std::any_of(locks_.begin(), locks_.end(), [&](const LockRange& l) {
    return l.owner == owner && l.type == LockType::kWrite && Overlaps(l, start, end);
  });
}

}  // namespace walship::store
