// The one rule for what may name a database, shared by every way a name
// enters walship: a file created in the mount, the node API's ?name= and the
// names a primary sends on the replication stream (DESIGN.md §1.4). A name
// is also a directory under DATA/dbs/ and a file name in the mount, and it is
// written into JSON, Prometheus text and log lines, so anything that could
// escape those places is refused before anything on disk changes.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace walship::store {

// The longest database name, in bytes (NAME_MAX of the data directory).
inline constexpr size_t kMaxDbNameBytes = 255;

// OK when NAME can name a database; otherwise InvalidArgument saying why,
// with the name quoted and escaped (JsonQuote) so the message is safe to log
// and to send. Refused: the empty name, more than 255 bytes, bytes that are
// not well-formed UTF-8, NUL and other control characters (C0, DEL, C1), '/',
// a leading '.', and names ending in a suffix SQLite or walship gives its
// own files (-journal, -wal, -shm, -pos, and SQLite's super-journal
// "-mj" followed by 8 or 9 hex digits).
Status ValidateDbName(std::string_view name);

// Whether NAME is one SQLite gives a super-journal: "DB-mj" followed by 8 hex
// digits (older SQLite) or 9 (6, a '9', 2: SQLite 3.32 and later; see
// sqlite3VdbeCommit). Such a file is never a database.
bool IsSuperJournalName(std::string_view name);

}  // namespace walship::store
