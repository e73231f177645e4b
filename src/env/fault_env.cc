#include "env/fault_env.h"

#include <cerrno>

namespace walship::env {
namespace {

class FaultFile final : public File {
 public:
  FaultFile(FaultEnv* env, std::unique_ptr<File> base) : env_(env), base_(std::move(base)) {}
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) override {
    return base_->ReadAt(offset, out);
  }
  Status WriteAt(uint64_t offset, std::span<const uint8_t> data) override {
    if (env_->ShouldFail(FaultOp::kWrite, path())) return Status::FromErrno("write " + path(), ENOSPC);
    return base_->WriteAt(offset, data);
  }
  Status Truncate(uint64_t size) override { return base_->Truncate(size); }
  Status Sync() override {
    if (env_->ShouldFail(FaultOp::kSync, path())) return Status::FromErrno("fsync " + path(), EIO);
    return base_->Sync();
  }
  Result<uint64_t> Size() override { return base_->Size(); }
  const std::string& path() const override { return base_->path(); }
  int fd() const override { return base_->fd(); }

 private:
  FaultEnv* env_;
  std::unique_ptr<File> base_;
};

}  // namespace

void FaultEnv::FailFrom(FaultOp op, std::string path_contains, int after) {
  std::lock_guard lock(mu_);
  armed_ = true;
  op_ = op;
  pattern_ = std::move(path_contains);
  remaining_ = after;
}

void FaultEnv::Heal() {
  std::lock_guard lock(mu_);
  armed_ = false;
}

bool FaultEnv::ShouldFail(FaultOp op, const std::string& path) {
  std::lock_guard lock(mu_);
  counts_[{op, path}]++;
  if (!armed_ || op != op_ || path.find(pattern_) == std::string::npos) return false;
  if (remaining_ > 0) {
    remaining_--;
    return false;
  }
  return true;
}

int FaultEnv::Count(FaultOp op, const std::string& path_contains) {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& [key, count] : counts_) {
    if (key.first == op && key.second.find(path_contains) != std::string::npos) n += count;
  }
  return n;
}

Result<std::unique_ptr<File>> FaultEnv::Open(const std::string& path, OpenMode mode) {
  WALSHIP_ASSIGN_OR_RETURN(auto file, base_->Open(path, mode));
  return std::unique_ptr<File>(new FaultFile(this, std::move(file)));
}

Status FaultEnv::Rename(const std::string& from, const std::string& to) {
  if (ShouldFail(FaultOp::kRename, to)) return Status::FromErrno("rename " + from, ENOSPC);
  return base_->Rename(from, to);
}

}  // namespace walship::env
