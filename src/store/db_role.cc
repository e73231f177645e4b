// A database changing role with its node (docs/failover.md).
//
//   StepDown            a primary becomes a replica
//     ApplyLock         readers out, as for an apply (no mutex held)
//     FoldWalLocked     committed WAL pages into the database file, fsync,
//                       empty the WAL: replicas keep everything in one file
//                       (a WAL's uncaptured frames: SetUncapturedWalAside)
//     MatchReaderFilesLocked, invalidate the kernel's cached pages, rewrite
//                       the -shm header: open connections go on reading
//   TakeOver            a replica becomes the primary: the database file is
//                       complete already (fsync it: SyncDatabaseAndMark);
//                       close the descriptors apply kept in the mount
#include <spdlog/spdlog.h>

#include "store/apply_lock.h"
#include "store/db.h"

namespace walship::store {

Status Db::SetReplica(bool replica, MountAccess* mount) {
  if (this->replica() == replica) return Status::OK();
  return replica ? StepDown(mount) : TakeOver();
}

Status Db::StepDown(MountAccess* mount) {
  // Readers out (no mutex held: they may need it to finish) while the WAL is
  // emptied under them and the -shm header says so.
  if (mount) {
    if (Status opened = OpenMountFiles(mount); !opened.ok()) {
      spdlog::warn("database {}: stepping down without keeping readers out: {}", name(),
                   opened.ToString());
    }
  }
  bool wal = false;
  {
    std::lock_guard lock(mu_);
    Result<bool> says = PageOneSaysWalLocked();
    wal = says.ok() && *says;
  }
  ApplyLock readers_out(name(), mount_db_fd_, mount_shm_fd_, wal);
  if (mount && mount_db_fd_ >= 0) WALSHIP_RETURN_IF_ERROR(readers_out.Acquire());
  std::unique_lock lock(mu_);
  if (replica_) return Status::OK();
  replica_ = true;
  std::vector<uint32_t> folded;
  const Status fold = FoldWalLocked(&folded);
  const Status st = fold.ok() ? MatchReaderFilesLocked().status() : fold;
  const uint32_t page_size = checksums_.page_size();
  const uint32_t db_pages = checksums_.page_count();
  const uint32_t change = uint32_t(pos_.txid);
  lock.unlock();
  if (mount && page_size) {
    // Folded pages moved from the WAL into the database file; the WAL is
    // empty. Dropping the whole files is simplest and this is rare.
    mount->InvalidateFile(name(), FileKind::kDatabase, 0,
                          std::max<uint64_t>(uint64_t(page_size) * db_pages, page_size));
    mount->InvalidateFile(name(), FileKind::kWal, 0, 0);
  }
  if (mount) mount->InvalidateNames(name());  // a -wal or -shm may be new
  // Once the WAL is emptied, the -shm header must say so, whatever failed.
  if (Status told = fold.ok() ? readers_out.TellWalReaders(db_pages, change) : Status::OK();
      !told.ok()) {
    spdlog::error("database {}: stepping down: {}; its open connections must be reopened", name(),
                  told.ToString());
  }
  if (!st.ok()) {
    spdlog::error("database {}: stepping down: {}", name(), st.ToString());
    return st;
  }
  if (!folded.empty()) {
    spdlog::info("database {}: stepped down; moved {} committed WAL pages into the database file",
                 name(), folded.size());
  }
  return Status::OK();
}

Status Db::TakeOver() {
  {
    std::lock_guard lock(mu_);
    replica_ = false;
    // What it applied is durable in the LTX log, not yet in the database
    // file; recovery replays a primary's own transactions only.
    if (Status st = SyncDatabaseAndMark(); !st.ok()) {
      spdlog::error("database {}: taking over: {}", name(), st.ToString());
      return st;
    }
  }
  // Its -shm descriptor would keep the kernel's inode, and with it the
  // backing file, after SQLite removes the -shm (FUSE passthrough). Nothing
  // applies any more (the replica client stopped first).
  CloseMountFiles();
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
  // Emptied, not removed: the same inode stays (see MatchReaderFilesLocked).
  WALSHIP_RETURN_IF_ERROR(wal_->Truncate(0).WithContext("emptying the WAL of " + name()));
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
