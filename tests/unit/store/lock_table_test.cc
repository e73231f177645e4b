#include "store/lock_table.h"

#include <gtest/gtest.h>

namespace walship::store {
namespace {

constexpr uint64_t kA = 1, kB = 2;

TEST(LockTable, ReadLocksShareWriteLocksExclude) {
  LockTable t;
  EXPECT_TRUE(t.Set(kA, 10, LockType::kRead, 0, 9));
  EXPECT_TRUE(t.Set(kB, 20, LockType::kRead, 5, 5));
  EXPECT_FALSE(t.Set(kB, 20, LockType::kWrite, 9, 12));
  auto conflict = t.FindConflict(kB, LockType::kWrite, 0, 0);
  ASSERT_TRUE(conflict);
  EXPECT_EQ(conflict->owner, kA);
  EXPECT_EQ(conflict->pid, 10u);
}

TEST(LockTable, OwnerNeverConflictsWithItselfAndConverts) {
  LockTable t;
  EXPECT_TRUE(t.Set(kA, 1, LockType::kRead, 0, 9));
  EXPECT_TRUE(t.Set(kA, 1, LockType::kWrite, 3, 4));  // upgrade part of it
  EXPECT_TRUE(t.HoldsWrite(kA, 3, 3));
  EXPECT_FALSE(t.HoldsWrite(kA, 5, 9));
  EXPECT_FALSE(t.Set(kB, 2, LockType::kRead, 4, 4));
  EXPECT_TRUE(t.Set(kB, 2, LockType::kRead, 5, 5));  // still a read lock there
}

TEST(LockTable, UnlockSplitsRanges) {
  LockTable t;
  EXPECT_TRUE(t.Set(kA, 1, LockType::kWrite, 0, UINT64_MAX));
  EXPECT_TRUE(t.Set(kA, 1, LockType::kUnlock, 100, 199));
  EXPECT_TRUE(t.Set(kB, 2, LockType::kWrite, 150, 150));
  EXPECT_FALSE(t.Set(kB, 2, LockType::kRead, 99, 99));
  EXPECT_FALSE(t.Set(kB, 2, LockType::kRead, 200, 200));
}

TEST(LockTable, ReleaseOwnerDropsEverything) {
  LockTable t;
  EXPECT_TRUE(t.Set(kA, 1, LockType::kWrite, 120, 120));
  EXPECT_TRUE(t.Set(kA, 1, LockType::kRead, 123, 123));
  t.ReleaseOwner(kA);
  EXPECT_TRUE(t.empty());
  EXPECT_TRUE(t.Set(kB, 2, LockType::kWrite, 0, UINT64_MAX));
}

TEST(LockTable, SqliteSharedLockPattern) {
  // SHARED = read lock on the shared range; EXCLUSIVE = write lock on it.
  const uint64_t pending = 0x40000000, shared_first = pending + 2, shared_last = pending + 511;
  LockTable t;
  EXPECT_TRUE(t.Set(kA, 1, LockType::kRead, shared_first, shared_last));
  EXPECT_TRUE(t.Set(kB, 2, LockType::kRead, shared_first, shared_last));
  EXPECT_TRUE(t.Set(kA, 1, LockType::kWrite, pending + 1, pending + 1));  // RESERVED
  EXPECT_FALSE(t.Set(kA, 1, LockType::kWrite, shared_first, shared_last));  // B still reads
  EXPECT_TRUE(t.IsLocked(LockType::kWrite, pending + 1, pending + 1));
}

}  // namespace
}  // namespace walship::store
