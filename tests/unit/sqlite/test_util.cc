#include "test_util.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace walship::sqlite::testing {

TempDir::TempDir() {
  const char* base = getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/walship-sqlite-XXXXXX";
  char* made = mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr) << "mkdtemp " << tmpl;
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Conn::Conn(const std::string& path, const char* vfs) {
  int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
  EXPECT_EQ(rc, SQLITE_OK) << "open " << path << ": " << sqlite3_errmsg(db_);
}

Conn::~Conn() { Close(); }

void Conn::Close() {
  if (db_ != nullptr) {
    EXPECT_EQ(sqlite3_close(db_), SQLITE_OK);
    db_ = nullptr;
  }
}

int Conn::TryExec(const std::string& sql) {
  return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
}

void Conn::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
  sqlite3_free(err);
}

int64_t Conn::QueryInt(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
  EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << sqlite3_errmsg(db_);
  int64_t v = -1;
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(stmt);
    EXPECT_EQ(rc, SQLITE_ROW) << sql << ": " << sqlite3_errmsg(db_);
    if (rc == SQLITE_ROW) v = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  return v;
}

Bytes ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "read " << path;
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteBytes(const std::string& path, const Bytes& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
  EXPECT_TRUE(out.good()) << "write " << path;
}

void CopyFile(const std::string& from, const std::string& to) { WriteBytes(to, ReadBytes(from)); }

bool FileExists(const std::string& path) { return std::filesystem::exists(path); }

std::unique_ptr<env::File> OpenFile(const std::string& path) {
  auto file = env::Env::Posix()->Open(path, env::OpenMode::kRead);
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  return file.ok() ? std::move(file).value() : nullptr;
}

Bytes PageOf(const Bytes& db, uint32_t pgno, uint32_t page_size) {
  uint64_t off = uint64_t(pgno - 1) * page_size;
  if (off + page_size > db.size()) return {};
  return Bytes(db.begin() + off, db.begin() + off + page_size);
}

}  // namespace walship::sqlite::testing
