// RequestCounter: how many requests of each kind the kernel sent this mount,
// for /metrics (walship_fuse_requests_total{op}). The hot path must make no
// request native SQLite would not make a system call for (DESIGN.md §2.1);
// these counts are how tests and operators see that.
//
// Thread-safety: Add and Snapshot are lock-free (relaxed atomics).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace walship::fuse {

enum class FuseOp {
  kLookup, kGetattr, kSetattr, kReaddir, kOpendir, kCreate, kUnlink, kOpen, kRead, kWrite,
  kFlush, kRelease, kFsync, kStatfs,
  kCount  // not an op: the number of them
};

// The lowercase opcode name, as FUSE calls it ("lookup", "write", ...).
const char* FuseOpName(FuseOp op);

class RequestCounter {
 public:
  void Add(FuseOp op) { counts_[size_t(op)].fetch_add(1, std::memory_order_relaxed); }
  // Every op with its count, in FuseOp order (zeros included).
  std::vector<std::pair<std::string, uint64_t>> Snapshot() const;

 private:
  std::array<std::atomic<uint64_t>, size_t(FuseOp::kCount)> counts_{};
};

}  // namespace walship::fuse
