// Helpers for the sqlite module tests: temporary directories, real SQLite
// connections, and byte-level file access. Test-only; single-threaded.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "env/env.h"

namespace walship::sqlite::testing {

using Bytes = std::vector<uint8_t>;

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// An open sqlite3 connection; failures are reported as test failures.
class Conn {
 public:
  explicit Conn(const std::string& path, const char* vfs = nullptr);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  sqlite3* get() const { return db_; }
  void Exec(const std::string& sql);
  // sqlite3_exec's result code, without failing the test.
  int TryExec(const std::string& sql);
  int64_t QueryInt(const std::string& sql);
  void Close();

 private:
  sqlite3* db_ = nullptr;
};

Bytes ReadBytes(const std::string& path);
void WriteBytes(const std::string& path, const Bytes& data);
void CopyFile(const std::string& from, const std::string& to);
bool FileExists(const std::string& path);
std::unique_ptr<env::File> OpenFile(const std::string& path);

// One page (1-based pgno) of a database image, or empty if past the end.
Bytes PageOf(const Bytes& db, uint32_t pgno, uint32_t page_size);

}  // namespace walship::sqlite::testing
