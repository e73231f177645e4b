// Helpers for store tests: temp dirs and real SQLite files.
#pragma once

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sqlite/journal.h"

namespace walship::store::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "walship-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The first sector of a rollback journal as SQLite has it once a transaction
// is under way (its magic written): walship lets database pages be written
// only then (db_guard.cc).
inline std::vector<uint8_t> HotJournalHeader() {
  std::vector<uint8_t> header(512, 0);
  std::copy(std::begin(sqlite::kJournalMagic), std::end(sqlite::kJournalMagic), header.begin());
  return header;
}

inline std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

inline void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error(sql + ": " + msg);
  }
}

}  // namespace walship::store::testing
