// FUSE passthrough's backing files: which opens of -wal and -shm the kernel
// serves from the data directory itself, and their registered ids
// (KernelChannel; docs/architecture.md, "Commits without a FUSE round trip").
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "fuse/file_system.h"

namespace walship::fuse {

int FileSystem::PassthroughBacking(store::Db* db, store::FileKind kind, bool by_walship) {
  // Every open of one file must agree (the kernel fails a mix with EIO), and
  // opens outlive role changes: passthrough is decided per mount, whatever
  // the role (on a replica readers open the -wal read-only and map the
  // -shm). walship itself opens only the -shm, to hold SQLite's locks
  // (FenceGuard, ApplyLock), so it agrees with the applications' opens.
  if (!channel_ || !channel_->passthrough() || passthrough_failed_) return -1;
  if (by_walship && kind != store::FileKind::kShm) return -1;
  auto id = BackingId(db, kind);
  if (!id.ok()) {
    if (!passthrough_failed_.exchange(true)) {
      spdlog::error(
          "fuse: FUSE passthrough off from now on: {}; WAL writes are requests to "
          "walship again (slower)",
          id.status().ToString());
    }
    return -1;
  }
  return *id;
}

Result<int> FileSystem::BackingId(store::Db* db, store::FileKind kind) {
  // The kernel looks the id up when the opener resumes, after the reply: it
  // stays registered while this file lives. A file deleted and created
  // again is another file, registered anew (the old id is dropped then).
  WALSHIP_ASSIGN_OR_RETURN(int fd, db->OpenDataFile(kind));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::FromErrno("fstat a data file of " + db->name(), err);
  }
  std::lock_guard lock(backing_mu_);
  BackingFile& file = backing_[{db, kind}];
  if (file.id >= 0 && file.inode == st.st_ino) {
    ::close(fd);
    return file.id;
  }
  Result<int> id = channel_->OpenBacking(fd);
  ::close(fd);
  if (!id.ok()) return id.status();
  Status followed = kind == store::FileKind::kWal ? tailer_.Follow(db) : Status::OK();
  if (!followed.ok()) {
    channel_->CloseBacking(*id);
    return followed;
  }
  if (file.id >= 0) channel_->CloseBacking(file.id);
  file = {*id, st.st_ino};
  return *id;
}

void FileSystem::DropBackingFiles(store::Db* db) {
  // Files still open keep their own reference to the deleted file.
  std::lock_guard lock(backing_mu_);
  for (auto it = backing_.begin(); it != backing_.end();) {
    if (it->first.first != db) {
      ++it;
      continue;
    }
    channel_->CloseBacking(it->second.id);
    it = backing_.erase(it);
  }
}

}  // namespace walship::fuse
