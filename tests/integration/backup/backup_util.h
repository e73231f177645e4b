// Helpers for backup tests: a real s3rver process on a loopback port, the
// walship CLI, a write load that records the position after every
// transaction, and waiting for the archive to catch up.
// Thread-compatible; use from the test's main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backup/target.h"
#include "harness/child_process.h"
#include "harness/consistency.h"
#include "harness/sql.h"
#include "harness/temp_dir.h"
#include "harness/walship_process.h"

namespace walship::testing {

inline constexpr char kS3Bucket[] = "walship-test";
inline constexpr char kS3Key[] = "S3RVER";  // s3rver's built-in account

// `s3rver --directory DIR --address 127.0.0.1 --port P --silent`; killed on
// destruction. Stop() and Start() again keep the port and the directory.
class S3rver {
 public:
  S3rver();
  ~S3rver();
  ::testing::AssertionResult Start();
  void Stop();
  uint16_t port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The backup: section of a walship config for this server.
  std::string BackupYaml(const std::string& prefix, const std::string& extra = "") const;
  backup::TargetOptions Options(const std::string& prefix) const;

 private:
  TempDir dir_{"walship-s3rver"};
  uint16_t port_;
  Child child_;
};

// "2024-05-01T12:00:00.123Z".
std::string Rfc3339(int64_t unix_ms);
int64_t NowMs();

struct Recorded {
  Pos pos;
  int64_t after_ms = 0;  // wall clock right after the commit returned
};

// Runs `n` write transactions on DB through MNT (WAL mode), recording the
// position after each; sleeps `pause` between them.
::testing::AssertionResult RunLoad(const std::string& mount_dir, const std::string& db, int n,
                                   std::chrono::milliseconds pause,
                                   std::map<uint64_t, Recorded>* out, int start = 0);

// Polls the archive until its L0 objects or snapshots reach `txid`.
::testing::AssertionResult WaitArchived(backup::ArchiveTarget* target, const std::string& db,
                                        uint64_t txid,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Restores with `walship restore` and checks the result: exit 0, PRAGMA
// integrity_check ok, and the file's checksum equal to `want`.
::testing::AssertionResult RestoreAndCheck(const std::vector<std::string>& args,
                                           const std::string& output, uint64_t want,
                                           const EnvVars& env = {});

}  // namespace walship::testing
