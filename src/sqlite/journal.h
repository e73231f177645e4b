// The SQLite rollback journal (-journal) file format (sqlite.org/fileformat2.html
// §3 and the comments of pager.c), and a reader that yields the original page
// images a hot journal holds so walship can roll a database back after a crash.
//
// Layout: one or more segments. Each segment starts with a header at an offset
// that is a multiple of the first header's sector size and occupies one sector:
//   0  8 bytes magic d9 d5 05 f9 20 a1 63 d7
//   8  u32 record count (0xFFFFFFFF: "all records to the end of the file")
//   12 u32 checksum nonce
//   16 u32 database size in pages before the transaction
//   20 u32 sector size (header size and alignment)
//   24 u32 page size
// followed by records: u32 pgno, the page, u32 checksum, where the checksum is
// nonce + every 200th byte of the page counted back from page_size - 200.
// All integers are big-endian.
//
// How SQLite writes it (normal synchronous mode): a new header is written with
// magic and record count zero; records follow; before any database page is
// written, SQLite syncs the journal and then fills in magic and record count.
// When a transaction spills pages more than once, each spill starts a new
// segment. Commit: DELETE mode unlinks the file; TRUNCATE truncates it to 0;
// PERSIST (and exclusive locking mode with DELETE) writes 28 zero bytes at
// offset 0 (or truncates to 0 when journal_size_limit is 0 or the transaction
// used a super-journal).
//
// Pure functions are thread-safe. ReadJournal reads through the File it is
// given with positional reads; the caller must keep the journal unchanged
// while it runs (hold the database locks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "base/status.h"
#include "env/env.h"

namespace walship::sqlite {

inline constexpr uint8_t kJournalMagic[8] = {0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7};
// The bytes of a header that carry information (magic + five u32 fields).
inline constexpr size_t kJournalHeaderSize = 28;
// How many bytes at offset 0 SQLite zeroes to commit in PERSIST mode.
inline constexpr size_t kJournalZeroedHeaderSize = 28;
// Record count meaning "compute from the file size" (written with
// synchronous=OFF, journal_mode=MEMORY, or SAFE_APPEND file systems).
inline constexpr uint32_t kJournalRecordCountUnknown = 0xFFFFFFFF;

struct JournalHeader {
  bool valid_magic = false;
  uint32_t record_count = 0;  // kJournalRecordCountUnknown means "compute from size"
  uint32_t nonce = 0;         // checksum initializer
  uint32_t initial_db_pages = 0;
  uint32_t sector_size = 0;
  uint32_t page_size = 0;  // 0 in journals of SQLite < 3.5.8: use the database's
};

// Decodes the first 28 bytes of a journal header. Corruption only when fewer
// than 28 bytes are given; field values are not judged (see ReadJournal).
Result<JournalHeader> ParseJournalHeader(std::span<const uint8_t> first28);

// True when the span holds at least the 28 bytes SQLite zeroes to commit a
// PERSIST-mode transaction and all of them are zero. (A freshly written,
// not-yet-synced header also starts with zero magic but has nonzero sector
// and page sizes, so it is not "zeroed".)
bool IsZeroedHeader(std::span<const uint8_t> bytes);

// The journal record checksum: nonce plus page[i] for i = page_size - 200,
// page_size - 400, ... while i > 0, each byte unsigned.
uint32_t JournalChecksum(uint32_t nonce, std::span<const uint8_t> page);

// Walks a hot journal the way SQLite's rollback (pager_playback) does and
// calls `on_page` with each original page image to restore, in journal order.
// Sets *initial_db_pages to the database size (in pages) before the
// transaction: after writing the pages the caller truncates the database to
// initial_db_pages * page size.
//
//   - NotFound: nothing to roll back. The first header is missing, has no
//     magic (never synced, or zeroed by a PERSIST commit), or has invalid
//     sizes. SQLite would discard such a journal and leave the database as is.
//   - Records are verified as SQLite does: pgno 0 or the lock page, or a bad
//     checksum, ends the rollback there (earlier pages are still yielded); a
//     record past the end of the file ends it; records for pages beyond
//     initial_db_pages are skipped without checking.
//   - Segments follow at sector-aligned offsets until one lacks the magic.
//   - `db_page_size` is the page size the caller expects (0: accept the
//     journal's). A journal whose header names a different page size is
//     Corruption rather than being guessed at.
//   - An error returned by `on_page` stops the walk and is returned.
//
// Not handled: the journal of a multi-database (ATTACH) transaction ends with
// the name of a super-journal; SQLite skips the rollback when that file no
// longer exists (the transaction committed). A caller that can see such
// transactions must make that check itself before rolling back.
Status ReadJournal(env::File* journal, uint32_t db_page_size,
                   const std::function<Status(uint32_t pgno, std::span<const uint8_t> page)>& on_page,
                   uint32_t* initial_db_pages);

}  // namespace walship::sqlite
