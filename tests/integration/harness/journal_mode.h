// SQLite's journal modes as a test parameter: every integration suite runs
// its scenarios in each (DESIGN.md §4).
#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace walship::testing {

enum class JournalMode { kDelete, kTruncate, kPersist, kWal };

inline constexpr JournalMode kAllJournalModes[] = {JournalMode::kDelete, JournalMode::kTruncate,
                                                   JournalMode::kPersist, JournalMode::kWal};

// "delete", "truncate", "persist", "wal": as PRAGMA journal_mode spells them.
const char* ModeName(JournalMode mode);
// For INSTANTIATE_TEST_SUITE_P: the test's name ends in the mode's name.
std::string ParamName(const ::testing::TestParamInfo<JournalMode>& info);
// So GoogleTest prints "wal", not "4-byte object <03-00 00-00>".
void PrintTo(JournalMode mode, std::ostream* os);

}  // namespace walship::testing
