#include "store/sqlite_file.h"

#include <sqlite3.h>

#include <memory>
#include <vector>

#include "env/env.h"
#include "sqlite/db_header.h"

namespace walship::store {
namespace {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqliteHandle = std::unique_ptr<sqlite3, SqliteCloser>;

Result<SqliteHandle> OpenSqlite(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteHandle db(raw);
  if (rc != SQLITE_OK) {
    return Status::IOError("open " + path + ": " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  return db;
}

Result<std::string> IntegrityCheck(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(20)", -1, &stmt, nullptr) != SQLITE_OK) {
    return Status::InvalidArgument(std::string("not a usable SQLite database: ") +
                                   sqlite3_errmsg(db));
  }
  std::string result;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (!result.empty()) result += "; ";
    result += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) {
    return Status::InvalidArgument(std::string("integrity check failed to run: ") +
                                   sqlite3_errmsg(db));
  }
  return result;
}

}  // namespace

Result<SqliteFileInfo> ValidateSqliteFile(const std::string& path) {
  env::Env* env = env::Env::Posix();
  WALSHIP_ASSIGN_OR_RETURN(auto file, env->Open(path, env::OpenMode::kRead));
  WALSHIP_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  uint8_t raw[sqlite::kDbHeaderSize];
  WALSHIP_ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, raw));
  if (n < sizeof raw) {
    return Status::InvalidArgument("not a SQLite database: " + std::to_string(size) +
                                   " bytes is shorter than the 100-byte header");
  }
  auto header = sqlite::ParseDbHeader(raw);
  if (!header.ok()) {
    return Status::InvalidArgument("not a SQLite database: " + header.status().message());
  }
  SqliteFileInfo info{header->page_size, uint32_t(size / header->page_size)};
  if (size % header->page_size != 0) {
    return Status::InvalidArgument("truncated SQLite database: " + std::to_string(size) +
                                   " bytes is not a whole number of " +
                                   std::to_string(header->page_size) + "-byte pages");
  }
  if (sqlite::PageCountValid(*header) && header->page_count != info.page_count) {
    return Status::InvalidArgument("truncated SQLite database: header says " +
                                   std::to_string(header->page_count) + " pages, file has " +
                                   std::to_string(info.page_count));
  }
  std::string uri = "file:" + path + "?immutable=1";
  WALSHIP_ASSIGN_OR_RETURN(auto db, OpenSqlite(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI));
  WALSHIP_ASSIGN_OR_RETURN(std::string check, IntegrityCheck(db.get()));
  if (check != "ok") {
    return Status::InvalidArgument("corrupt SQLite database: integrity_check: " + check);
  }
  return info;
}

Status CopyDatabase(const std::string& from, const std::string& to, int busy_timeout_ms,
                    const CopyProgress& progress) {
  WALSHIP_ASSIGN_OR_RETURN(auto src, OpenSqlite(from, SQLITE_OPEN_READONLY));
  WALSHIP_ASSIGN_OR_RETURN(auto dst, OpenSqlite(to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  sqlite3_busy_timeout(src.get(), busy_timeout_ms);
  sqlite3_busy_timeout(dst.get(), busy_timeout_ms);
  sqlite3_backup* backup = sqlite3_backup_init(dst.get(), "main", src.get(), "main");
  if (!backup) return Status::IOError("copy " + from + " to " + to + ": " + sqlite3_errmsg(dst.get()));
  // One step of every page keeps the copy a single transaction of `to`.
  int rc = sqlite3_backup_step(backup, -1);
  if (progress) progress(sqlite3_backup_pagecount(backup) - sqlite3_backup_remaining(backup),
                         sqlite3_backup_pagecount(backup));
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    std::string why = sqlite3_errmsg(dst.get());
    if (rc == SQLITE_READONLY) why += " (a database in WAL mode cannot change its page size)";
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      return Status::Busy("copy " + from + " to " + to + ": database is busy: " + why);
    }
    return Status::IOError("copy " + from + " to " + to + ": " + why);
  }
  return Status::OK();
}

}  // namespace walship::store
