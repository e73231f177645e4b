// FaultEnv: an Env for tests that passes everything to a real Env but fails
// chosen operations — the n-th rename, write or sync of a path containing a
// given substring — with an IOError (ENOSPC), as a full disk would.
// Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "env/env.h"

namespace walship::env {

enum class FaultOp { kWrite, kSync, kRename };

class FaultEnv final : public Env {
 public:
  explicit FaultEnv(Env* base) : base_(base) {}

  // From now on, the `after`-th (0 = next) matching operation and every one
  // after it fails.
  void FailFrom(FaultOp op, std::string path_contains, int after = 0);
  void Heal();
  // Consulted by files this Env opened (and counted). True when the
  // operation must fail.
  bool ShouldFail(FaultOp op, const std::string& path);
  // How many `op`s were asked of files whose path contains `path_contains`.
  int Count(FaultOp op, const std::string& path_contains);

  Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override { return base_->Remove(path); }
  Status MkdirAll(const std::string& path) override { return base_->MkdirAll(path); }
  Status SyncDir(const std::string& path) override { return base_->SyncDir(path); }
  Status SyncFileSystem(const std::string& path) override { return base_->SyncFileSystem(path); }
  bool Exists(const std::string& path) override { return base_->Exists(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }

 private:
  Env* base_;
  std::mutex mu_;
  bool armed_ = false;
  FaultOp op_ = FaultOp::kWrite;
  std::string pattern_;
  int remaining_ = 0;
  std::map<std::pair<FaultOp, std::string>, int> counts_;  // (op, path) -> operations
};

}  // namespace walship::env
