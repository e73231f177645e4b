#include "worker.h"

#include <algorithm>
#include <cstring>

namespace walship::bench {
namespace {

constexpr int64_t kPrefillBatch = 5000;

void FillRandom(std::mt19937_64* rng, std::vector<unsigned char>* out) {
  for (size_t i = 0; i < out->size(); i += sizeof(uint64_t)) {
    uint64_t word = (*rng)();
    std::memcpy(out->data() + i, &word, std::min(sizeof(word), out->size() - i));
  }
}

}  // namespace

bool Worker::Open(const std::string& path, const ConnectionOptions& options, std::string* error) {
  conn_ = options.read_only ? Connection::OpenReadOnly(path, options.busy_timeout_ms, error)
                            : Connection::Open(path, options, error);
  if (!conn_) return false;
  select_ = conn_->Prepare("SELECT val FROM kv WHERE id = ?1", error);
  begin_ = conn_->Prepare("BEGIN IMMEDIATE", error);
  insert_ = conn_->Prepare("INSERT INTO kv(val) VALUES(?1)", error);
  commit_ = conn_->Prepare("COMMIT", error);
  rollback_ = conn_->Prepare("ROLLBACK", error);
  return select_ && begin_ && insert_ && commit_ && rollback_;
}

bool Worker::StepDone(Statement* stmt, std::string* error) {
  int rc = stmt->Step();
  bool ok = rc == SQLITE_DONE;
  if (!ok) *error = stmt->ErrorMessage();
  stmt->Reset();
  return ok;
}

bool Worker::ReadOne(std::string* error) {
  int64_t key = 1 + static_cast<int64_t>(rng_() % static_cast<uint64_t>(key_range_));
  select_->BindInt64(1, key);
  int rc = select_->Step();
  bool ok = rc == SQLITE_ROW && select_->ColumnBytes(0) == static_cast<int>(value_.size());
  if (!ok) {
    *error = rc == SQLITE_ROW    ? "row " + std::to_string(key) + " has the wrong size"
             : rc == SQLITE_DONE ? "row " + std::to_string(key) + " missing"
                                 : select_->ErrorMessage();
  }
  select_->Reset();
  return ok;
}

bool Worker::InsertOne(std::string* error) {
  if (!StepDone(begin_.get(), error)) return false;
  FillValue();
  insert_->BindBlob(1, value_.data(), static_cast<int>(value_.size()));
  if (StepDone(insert_.get(), error) && StepDone(commit_.get(), error)) return true;
  std::string ignored;  // the first error is the one worth reporting
  StepDone(rollback_.get(), &ignored);
  return false;
}

void Worker::FillValue() { FillRandom(&rng_, &value_); }

bool Prefill(Connection* conn, int64_t rows, int value_size, uint64_t seed, std::string* error) {
  std::unique_ptr<Statement> insert = conn->Prepare("INSERT INTO kv(val) VALUES(?1)", error);
  if (!insert) return false;
  std::mt19937_64 rng(seed);
  std::vector<unsigned char> value(static_cast<size_t>(value_size));
  for (int64_t done = 0; done < rows;) {
    if (!conn->Exec("BEGIN", error)) return false;
    for (int64_t end = std::min(rows, done + kPrefillBatch); done < end; ++done) {
      FillRandom(&rng, &value);
      insert->BindBlob(1, value.data(), value_size);
      int rc = insert->Step();
      if (rc != SQLITE_DONE) *error = "prefill: " + insert->ErrorMessage();
      insert->Reset();
      if (rc != SQLITE_DONE) {
        std::string ignored;
        conn->Exec("ROLLBACK", &ignored);
        return false;
      }
    }
    if (!conn->Exec("COMMIT", error)) return false;
  }
  return true;
}

}  // namespace walship::bench
