// TxSpec: one committed transaction as the capture code found it — page size,
// database size after commit, and where each written page's bytes are — ready
// to become an LTX file. Plain value.
#pragma once

#include <cstdint>
#include <vector>

namespace walship::store {

enum class FileKind { kDatabase, kJournal, kWal, kShm };

struct PageSource {
  uint32_t pgno = 0;
  FileKind file = FileKind::kDatabase;
  uint64_t offset = 0;  // byte offset of the page image in `file`
};

struct TxSpec {
  uint32_t page_size = 0;
  uint32_t commit = 0;             // database size in pages after the transaction
  std::vector<PageSource> pages;   // ascending pgno, unique
  // The WAL frames the transaction came from (zero in rollback-journal modes).
  uint64_t wal_offset = 0;
  uint64_t wal_size = 0;
  uint32_t wal_salt1 = 0;
  uint32_t wal_salt2 = 0;
  // Wall-clock ms when SQLite wrote the commit frame, the moment the
  // transaction committed (WAL); 0: the time walship records it.
  int64_t commit_time_ms = 0;
};

}  // namespace walship::store
