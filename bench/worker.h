// One benchmark client: a connection, its prepared statements, and a seeded
// random generator, able to run one operation of each kind.
//
// A Worker is used by one thread at a time. The table it works on is
//   CREATE TABLE kv(id INTEGER PRIMARY KEY, val BLOB NOT NULL)
// created by the caller before any Worker opens.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sqlite_conn.h"

namespace walship::bench {

inline constexpr char kCreateTableSql[] =
    "CREATE TABLE IF NOT EXISTS kv(id INTEGER PRIMARY KEY, val BLOB NOT NULL)";

class Worker {
 public:
  // REQUIRES: key_range >= 1 if ReadOne will be called.
  Worker(uint64_t seed, int64_t key_range, int value_size)
      : rng_(seed), key_range_(key_range), value_(static_cast<size_t>(value_size)) {}

  // Opens the connection and prepares every statement.
  bool Open(const std::string& path, const ConnectionOptions& options, std::string* error);

  // A point SELECT of a random key in [1, key_range]; a missing row is an error.
  bool ReadOne(std::string* error);
  // One transaction: BEGIN IMMEDIATE; INSERT one row of random bytes; COMMIT.
  // Rolls back on failure.
  bool InsertOne(std::string* error);
  // True with probability percent/100, from this worker's generator.
  bool Chance(int percent) { return static_cast<int>(rng_() % 100) < percent; }

 private:
  bool StepDone(Statement* stmt, std::string* error);
  void FillValue();

  std::mt19937_64 rng_;
  int64_t key_range_;
  std::vector<unsigned char> value_;
  std::unique_ptr<Connection> conn_;
  std::unique_ptr<Statement> select_, begin_, insert_, commit_, rollback_;
};

// Inserts ROWS rows of VALUE_SIZE random bytes in transactions of a few
// thousand rows each, using SEED.
bool Prefill(Connection* conn, int64_t rows, int value_size, uint64_t seed, std::string* error);

}  // namespace walship::bench
