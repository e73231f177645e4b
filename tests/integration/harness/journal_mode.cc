#include "harness/journal_mode.h"

namespace walship::testing {

const char* ModeName(JournalMode mode) {
  switch (mode) {
    case JournalMode::kDelete: return "delete";
    case JournalMode::kTruncate: return "truncate";
    case JournalMode::kPersist: return "persist";
    case JournalMode::kWal: return "wal";
  }
  return "?";
}

std::string ParamName(const ::testing::TestParamInfo<JournalMode>& info) {
  return ModeName(info.param);
}

void PrintTo(JournalMode mode, std::ostream* os) { *os << ModeName(mode); }

}  // namespace walship::testing
