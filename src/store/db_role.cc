// A database changing role with its node (docs/failover.md).
//
//   SetReplica(true)    a primary steps down
//     FoldWalLocked     committed WAL pages into the database file, fsync,
//                       remove the WAL: replicas keep everything in one file
//                       (connections opened while primary must reopen: their
//                       locks are the kernel's; see ApplyLock)
//   SetReplica(false)   a replica becomes the primary: the database file is
//                       complete already (fsync it: SyncDatabaseAndMark);
//                       page 1 stops being patched
//                       (a WAL's uncaptured frames: SetUncapturedWalAside)
//   either way, invalidate the kernel's cached pages (no mutex held)
#include <spdlog/spdlog.h>

#include "store/db.h"

namespace walship::store {

Status Db::SetReplica(bool replica, MountAccess* mount) {
  std::unique_lock lock(mu_);
  if (replica_ == replica) return Status::OK();
  replica_ = replica;
  std::vector<uint32_t> folded;
  Status st;
  if (replica) {
    st = FoldWalLocked(&folded);
  } else {
    // What it applied is durable in the LTX log, not yet in the database
    // file; recovery replays a primary's own transactions only.
    st = SyncDatabaseAndMark();
  }
  const uint32_t page_size = checksums_.page_size();
  const uint64_t size = uint64_t(page_size) * checksums_.page_count();
  lock.unlock();
  if (mount && page_size) {
    // Page 1 reads differently now; folded pages moved from the WAL into the
    // database file. Dropping the whole file is simplest and this is rare.
    mount->InvalidateDatabase(name(), 0, std::max<uint64_t>(size, page_size));
  }
  if (mount) mount->InvalidateNames(name());  // the -wal may be gone
  if (!st.ok()) {
    spdlog::error("database {}: stepping down: {}", name(), st.ToString());
    return st;
  }
  if (replica && !folded.empty()) {
    spdlog::info("database {}: stepped down; moved {} committed WAL pages into the database file",
                 name(), folded.size());
  }
  return Status::OK();
}

Status Db::FoldWalLocked(std::vector<uint32_t>* folded) {
  if (!wal_) return Status::OK();
  const uint32_t page_size = checksums_.page_size();
  if (page_size) {
    std::vector<uint8_t> page(page_size);
    for (uint32_t pgno : wal_capture_.IndexedPages()) {
      if (pgno > checksums_.page_count()) continue;
      WALSHIP_RETURN_IF_ERROR(ReadLogicalPageLocked(pgno, page));
      WALSHIP_RETURN_IF_ERROR(database_->WriteAt(uint64_t(pgno - 1) * page_size, page));
      folded->push_back(pgno);
    }
    WALSHIP_RETURN_IF_ERROR(database_->Truncate(uint64_t(page_size) * checksums_.page_count()));
    WALSHIP_RETURN_IF_ERROR(database_->Sync());
  }
  WALSHIP_RETURN_IF_ERROR(SetUncapturedWalAside());
  WALSHIP_RETURN_IF_ERROR(options_.env->Remove(PathFor(FileKind::kWal)));
  wal_.reset();
  wal_capture_.OnTruncate(0);
  return Status::OK();
}

Status Db::SetUncapturedWalAside() {
  // Only a WAL SQLite writes directly (passthrough) can hold a commit not
  // recorded: one read back after the write fence closed (CommitWal). It
  // was never replicated, so it is not folded in; the WAL is kept whole.
  if (!wal_unseen_writes_) return Status::OK();
  WALSHIP_RETURN_IF_ERROR(wal_capture_.Rescan(wal_.get(), options_.clock->NowUnixMs()));
  bool uncaptured = false;
  Result<std::optional<TxSpec>> peek = wal_capture_.TakeNextCommitted(wal_.get(), [&] {
    uncaptured = true;
    return Status::Aborted("only looking");
  });
  if (!uncaptured) return peek.status();
  const uint64_t captured = wal_capture_.captured_end();
  WALSHIP_ASSIGN_OR_RETURN(std::string bytes, options_.env->ReadFile(PathFor(FileKind::kWal)));
  const std::string dir = env::JoinPath(options_.dir, "diverged");
  WALSHIP_RETURN_IF_ERROR(options_.env->MkdirAll(dir));
  int64_t ms = options_.clock->NowUnixMs();
  while (options_.env->Exists(env::JoinPath(dir, "wal." + std::to_string(ms)))) ms++;
  const std::string path = env::JoinPath(dir, "wal." + std::to_string(ms));
  WALSHIP_RETURN_IF_ERROR(options_.env->WriteFileAtomic(
      path, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, /*sync=*/true));
  spdlog::warn(
      "database {}: stepping down with commits in its WAL after txid {} (from byte {}) that "
      "were made after the write fence closed: not replicated, not in the database; the WAL "
      "is kept in {}",
      name(), pos_.txid, captured, path);
  return Status::OK();
}

}  // namespace walship::store
