#include "fuse/request_counter.h"

namespace walship::fuse {

const char* FuseOpName(FuseOp op) {
  switch (op) {
    case FuseOp::kLookup: return "lookup";
    case FuseOp::kGetattr: return "getattr";
    case FuseOp::kSetattr: return "setattr";
    case FuseOp::kReaddir: return "readdir";
    case FuseOp::kOpendir: return "opendir";
    case FuseOp::kCreate: return "create";
    case FuseOp::kUnlink: return "unlink";
    case FuseOp::kOpen: return "open";
    case FuseOp::kRead: return "read";
    case FuseOp::kWrite: return "write";
    case FuseOp::kFlush: return "flush";
    case FuseOp::kRelease: return "release";
    case FuseOp::kFsync: return "fsync";
    case FuseOp::kStatfs: return "statfs";
    case FuseOp::kCount: break;
  }
  return "?";
}

std::vector<std::pair<std::string, uint64_t>> RequestCounter::Snapshot() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (size_t i = 0; i < counts_.size(); i++) {
    out.emplace_back(FuseOpName(FuseOp(i)), counts_[i].load(std::memory_order_relaxed));
  }
  return out;
}

}  // namespace walship::fuse
