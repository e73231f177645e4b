// Whole-database operations with the SQLite library, for import and export:
// validating an uploaded file and copying a database consistently.
//
// CopyDatabase uses SQLite's online backup API, so copying INTO the mount is an
// ordinary SQLite transaction that walship captures as one LTX, and copying OUT
// of it reads one consistent snapshot. Thread-safe (no shared state).
#pragma once

#include <functional>
#include <string>

#include "base/status.h"

namespace walship::store {

struct SqliteFileInfo {
  uint32_t page_size = 0;
  uint32_t page_count = 0;
};

// Checks that `path` is a whole, healthy SQLite database: a valid header, a
// size that is a whole number of pages matching the header, and
// `PRAGMA integrity_check` = ok. InvalidArgument names what is wrong.
Result<SqliteFileInfo> ValidateSqliteFile(const std::string& path);

// Called with (pages copied, total pages) as a copy proceeds.
using CopyProgress = std::function<void(int copied, int total)>;

// Copies database `from` over database `to` (created if absent) in one
// transaction of `to`. Waits up to `busy_timeout_ms` for locks.
Status CopyDatabase(const std::string& from, const std::string& to, int busy_timeout_ms,
                    const CopyProgress& progress = nullptr);

}  // namespace walship::store
