#include "harness/sql.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include "harness/temp_dir.h"

namespace walship::testing {

Sql::Sql(const std::string& path, int busy_timeout_ms) {
  open_rc_ =
      sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (open_rc_ != SQLITE_OK) {
    error_ = "open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(open_rc_));
    return;
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
}

Sql::~Sql() { Close(); }

Sql::Sql(Sql&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      open_rc_(other.open_rc_),
      last_rc_(other.last_rc_),
      error_(std::move(other.error_)) {}

Sql& Sql::operator=(Sql&& other) noexcept {
  if (this != &other) {
    Close();
    db_ = std::exchange(other.db_, nullptr);
    open_rc_ = other.open_rc_;
    last_rc_ = other.last_rc_;
    error_ = std::move(other.error_);
  }
  return *this;
}

void Sql::Close() {
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

Status Sql::Fail(const std::string& sql, int rc) {
  last_rc_ = rc;
  std::string msg = "\"" + sql.substr(0, 200) + "\" failed with " + std::to_string(rc) + " (" +
                    sqlite3_errstr(rc) + ")";
  if (db_) msg += ": " + std::string(sqlite3_errmsg(db_));
  return Status::IOError(msg);
}

::testing::AssertionResult Sql::Exec(const std::string& sql) {
  if (!db_) return ::testing::AssertionFailure() << "no connection: " << error_;
  char* err = nullptr;
  last_rc_ = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (last_rc_ == SQLITE_OK) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << Fail(sql, last_rc_).message();
}

Result<std::string> Sql::QueryString(const std::string& sql) {
  if (!db_) return Status::IOError("no connection: " + error_);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return Fail(sql, rc);
  rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) {
    Status st =
        rc == SQLITE_DONE ? Status::NotFound("\"" + sql + "\" returned no row") : Fail(sql, rc);
    sqlite3_finalize(stmt);
    return st;
  }
  const unsigned char* text = sqlite3_column_text(stmt, 0);
  std::string value = text ? reinterpret_cast<const char*>(text) : "";
  // Step to the end so a write statement (e.g. a PRAGMA that writes) completes.
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return Fail(sql, rc);
  last_rc_ = SQLITE_OK;
  return value;
}

Result<int64_t> Sql::QueryInt(const std::string& sql) {
  auto text = QueryString(sql);
  if (!text.ok()) return text.status();
  char* end = nullptr;
  long long v = std::strtoll(text->c_str(), &end, 10);
  if (text->empty() || *end != '\0') {
    return Status::InvalidArgument("\"" + sql + "\" returned \"" + *text + "\", not an integer");
  }
  return int64_t(v);
}

bool CliResult::ok() const { return ExitedWith(wait_status, 0); }

Child StartSqliteCli(const std::string& db_path, const std::string& sql,
                     const std::string& scratch_dir, const std::string& output_path,
                     int busy_timeout_ms) {
  static std::atomic<int> counter{0};
  std::string script =
      scratch_dir + "/cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".sql";
  WriteFile(script, sql);
  return Child::Exec({"sqlite3", "-batch", "-bail", "-noheader", "-list", "-cmd",
                      ".timeout " + std::to_string(busy_timeout_ms), db_path},
                     script, output_path);
}

CliResult RunSqliteCli(const std::string& db_path, const std::string& sql,
                       std::chrono::milliseconds timeout) {
  TempDir scratch("walship-cli");
  std::string output = scratch / "output";
  Child cli = StartSqliteCli(db_path, sql, scratch.path(), output);
  return WaitForCli(cli, output, timeout, "sqlite3 CLI");
}

CliResult WaitForCli(Child& child, const std::string& output, std::chrono::milliseconds timeout,
                     const std::string& what) {
  CliResult result;
  auto status = child.Wait(timeout);
  if (!status) {
    result.wait_status = child.Kill();
    result.output = what + " timed out; output: " + ReadFileOrEmpty(output);
    return result;
  }
  result.wait_status = *status;
  result.output = ReadFileOrEmpty(output);
  return result;
}

}  // namespace walship::testing
