// A test VFS that wraps SQLite's default VFS and records every write,
// truncate, sync and delete, so tests can state exactly how SQLite drives the
// files walship's FUSE layer sees; an observer can also follow each write and
// truncate as it happens, after it reached the file (as walship's mount does).
// Test-only; not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace walship::sqlite::testing {

struct IoOp {
  enum Kind { kWrite, kTruncate, kSync, kDelete };
  Kind kind;
  std::string file;  // full path as SQLite named it
  int64_t offset = 0;  // write offset, or new size for kTruncate
  int64_t amount = 0;  // bytes written
  std::vector<uint8_t> head;  // first bytes written (up to 32)

  bool Is(Kind k, const std::string& suffix) const {
    return kind == k && file.size() >= suffix.size() &&
           file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
};

// Registers the VFS (once) and returns its name for sqlite3_open_v2.
const char* RecordingVfsName();
// Operations recorded since the last ClearRecordedOps().
std::vector<IoOp>& RecordedOps();
void ClearRecordedOps();

// Called before, or after each successful, write or truncate with the file's
// full path ("" for SQLite's nameless temporary files). Empty functions: no
// observer.
struct IoObserver {
  using WriteHook =
      std::function<void(const std::string& file, int64_t offset, std::span<const uint8_t> data)>;
  using TruncateHook = std::function<void(const std::string& file, int64_t size)>;
  WriteHook before_write;
  WriteHook after_write;
  TruncateHook before_truncate;
  TruncateHook after_truncate;
};
void SetIoObserver(IoObserver observer);

}  // namespace walship::sqlite::testing
