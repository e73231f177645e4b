// SQLite file I/O and the info files' reads: open, read, write, fsync, flush.
#include <fcntl.h>

#include <cerrno>

#include <spdlog/spdlog.h>

#include "fuse/errno.h"
#include "fuse/file_system.h"

namespace walship::fuse {

int FileSystem::DoOpen(fuse_ino_t ino, fuse_file_info* fi, bool by_walship, int* backing_id,
                       bool creating) {
  *backing_id = -1;
  auto node = NodeOf(ino);
  if (!node || node->kind == NodeKind::kRoot) return node ? EISDIR : ENOENT;
  if (node->kind == NodeKind::kLocalFile) return OpenLocalFile(*node, fi);
  if (!IsSqliteFile(node->kind)) {
    if ((fi->flags & O_ACCMODE) != O_RDONLY) return EACCES;
    std::string text;
    if (int err = InfoFileText(*node, &text)) return err;
    fi->direct_io = 1;  // contents change without the kernel knowing
    return 0;
  }
  store::Db* db = DbOf(*node);
  if (!db) return NoDbErrno(*node);
  if (!db->Exists(FileKindOf(node->kind))) return ENOENT;
  if ((fi->flags & O_ACCMODE) != O_RDONLY && node->kind != NodeKind::kShm && db->replica() &&
      !by_walship) {
    // SQLite retries read-only and then reports "attempt to write a readonly
    // database" for any write.
    spdlog::info("fuse: {} opened for writing on a replica: read-only (writes go to the primary)",
                 NameOf(db->name(), node->kind));
    return EROFS;
  }
  // Every change to these files passes through this mount (on a replica the
  // store invalidates what it changes), so the page cache stays valid.
  fi->keep_cache = 1;
  // walship's own descriptors (ApplyLock) must close without a FLUSH request:
  // when walship is killed, its exit closes them after the threads that would
  // answer are gone, and the close would wait forever.
  if (by_walship) fi->noflush = 1;
  if (fi->flags & O_TRUNC) {
    Status st = db->Truncate(FileKindOf(node->kind), 0);
    if (int err = Log(ToErrno(st), "open", *node, st)) return err;
  }
  if (node->kind == NodeKind::kWal || node->kind == NodeKind::kShm) {
    *backing_id = PassthroughBacking(db, FileKindOf(node->kind), by_walship);
  }
  // The fence guard takes this -shm under its keeper (store/fence_guard.h):
  // before SQLite can write through it, but for a creation right after (the
  // kernel holds the directory meanwhile, and the guard opens it by name).
  if (node->kind == NodeKind::kShm && *backing_id >= 0 && !by_walship && !db->replica()) {
    store_->AfterShmOpened(db, /*wait=*/!creating);
  }
  return 0;
}

int FileSystem::DoRead(fuse_ino_t ino, size_t size, off_t offset, std::string* out) {
  auto node = NodeOf(ino);
  if (!node) return ENOENT;
  if (node->kind == NodeKind::kLocalFile) return ReadLocalFile(*node, size, offset, out);
  if (!IsSqliteFile(node->kind)) {
    std::string text;
    if (int err = InfoFileText(*node, &text)) return err;
    if (size_t(offset) < text.size()) *out = text.substr(size_t(offset), size);
    return 0;
  }
  store::Db* db = DbOf(*node);
  if (!db) return NoDbErrno(*node);
  out->resize(size);
  auto n = db->Read(FileKindOf(node->kind), uint64_t(offset),
                    {reinterpret_cast<uint8_t*>(out->data()), size});
  if (!n.ok()) return Log(ToErrno(n.status()), "read", *node, n.status());
  out->resize(*n);
  return 0;
}

int FileSystem::DoWrite(fuse_ino_t ino, const char* buf, size_t size, off_t offset) {
  auto node = NodeOf(ino);
  if (!node) return ENOENT;
  if (node->kind == NodeKind::kLocalFile) return WriteLocalFile(*node, buf, size, offset);
  if (!IsSqliteFile(node->kind)) return EACCES;
  store::Db* db = DbOf(*node);
  if (!db) return NoDbErrno(*node);
  Status st = db->Write(FileKindOf(node->kind), uint64_t(offset),
                        {reinterpret_cast<const uint8_t*>(buf), size});
  return Log(ToErrno(st), "write", *node, st);
}

int FileSystem::DoFsync(fuse_ino_t ino) {
  auto node = NodeOf(ino);
  if (!node) return ENOENT;
  if (node->kind == NodeKind::kLocalFile) {
    return LocalErrno(local_.Sync(node->db_id), node->db_id);
  }
  if (!IsSqliteFile(node->kind)) return 0;
  store::Db* db = DbOf(*node);
  if (!db) return NoDbErrno(*node);
  Status st = db->Sync(FileKindOf(node->kind));
  return Log(ToErrno(st), "fsync", *node, st);
}

int FileSystem::DoFlush(fuse_ino_t ino) {
  auto node = NodeOf(ino);
  if (!node || !IsSqliteFile(node->kind)) return 0;
  store::Db* db = DbOf(*node);
  if (!db) return 0;
  Status st = db->Close(FileKindOf(node->kind));
  return Log(ToErrno(st), "close", *node, st);
}

}  // namespace walship::fuse
