// FileSystem: the walship mount — a flat FUSE directory (libfuse3 low-level
// API, multi-threaded loop) in front of the Store (DESIGN.md §1.4, §2).
//
// Each FUSE operation resolves its Node and calls a Do* helper that returns an
// errno; the op then sends exactly one reply (the libfuse passthrough_ll
// pattern). The helpers live in dir_ops.cc (names and attributes), file_ops.cc
// (SQLite file I/O), info_files.cc (-pos, .lag, .primary),
// local_file_ops.cc (plain local files: LocalFiles) and backing_files.cc
// (FUSE passthrough's backing files); session.cc mounts, runs the loop and
// unmounts. POSIX locks are the kernel's: no request
// reaches walship for them (DESIGN.md §2.1).
//
// Thread-safety: Mount/Unmount from one controlling thread; the FUSE loop's
// threads call the Do* helpers concurrently, which only touch the Store
// (thread-safe). The Store must outlive the FileSystem.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/status.h"
#include "fuse/local_files.h"
#include "fuse/node.h"
#include "fuse/passthrough.h"
#include "fuse/request_counter.h"
#include "store/mount_access.h"
#include "store/store.h"
#include "store/wal_tailer.h"

namespace walship::fuse {

struct FileSystemOptions {
  std::string mount_dir;
  bool allow_other = false;
  bool debug = false;
  // See MountDirOptions (fuse/mount_dir.h).
  bool skip_unmount = false;
  bool allow_non_empty = false;
  // How long Unmount waits for processes to close their files in the mount
  // before it aborts the FUSE connection under them.
  std::chrono::milliseconds unmount_grace{std::chrono::seconds(3)};
  // Use FUSE passthrough for -wal and -shm files on the primary when the
  // kernel offers it (fuse.passthrough): SQLite's WAL writes and wal-index
  // pages then make no request (KernelChannel, store::WalTailer). Only where
  // the write fence never closes (the static lease): see
  // docs/architecture.md.
  bool passthrough = false;
};

class FileSystem final : public store::MountAccess {
 public:
  FileSystem(store::Store* store, FileSystemOptions options);
  ~FileSystem();
  FileSystem(const FileSystem&) = delete;
  FileSystem& operator=(const FileSystem&) = delete;

  // Prepares the mount directory (PrepareMountDir: creates it, detaches a
  // stale mount left by a crashed run, refuses a non-directory or a non-empty
  // one), mounts, starts the loop.
  Status Mount();
  // Unmounts and joins the loop threads. Idempotent.
  // Unmounts (lazily) and stops serving; see unmount_grace.
  void Unmount();
  const std::string& mount_dir() const { return options_.mount_dir; }

  // store::MountAccess.
  void InvalidateFile(const std::string& db, store::FileKind kind, uint64_t offset,
                      uint64_t length) override;
  void InvalidateNames(const std::string& db) override;
  void ForgetDatabase(const std::string& db, size_t id) override;
  Result<int> OpenThroughMount(const std::string& db, store::FileKind kind) override;

  // The connection, when walship mounted it itself (null: libfuse did).
  KernelChannel* channel() { return channel_.get(); }

  // Requests served, by opcode (the op table counts each one).
  void Count(FuseOp op) { requests_.Add(op); }
  std::vector<std::pair<std::string, uint64_t>> RequestCounts() const {
    return requests_.Snapshot();
  }

  // --- Do* helpers: return 0 or an errno. Used by the op table. ----------
  int DoLookup(fuse_ino_t parent, const std::string& name, fuse_entry_param* entry);
  int DoGetattr(fuse_ino_t ino, struct stat* st, double* timeout);
  int DoSetattr(fuse_ino_t ino, const struct stat* attr, int to_set, struct stat* out,
                double* timeout);
  int DoReaddir(fuse_ino_t ino, size_t size, off_t offset, fuse_req_t req, std::string* out);
  int DoCreate(fuse_ino_t parent, const std::string& name, fuse_file_info* fi,
               fuse_entry_param* entry, int* backing_id);
  // A database deleted (`rm DB`) leaves `deleted` set: the op must then call
  // ForgetDatabase once it has replied (an unlink holds the directory that
  // the kernel's invalidation needs, so it cannot be sent before).
  int DoUnlink(fuse_ino_t parent, const std::string& name,
               std::optional<std::pair<std::string, size_t>>* deleted);
  // `by_walship`: the caller is this process (the store opening a database
  // through the mount to take SQLite's locks, which needs write access).
  // `backing_id` becomes a backing file's id when the kernel is to read and
  // write the file directly (passthrough; the op replies with it), else -1.
  // `creating`: the open that ends a CREATE request.
  int DoOpen(fuse_ino_t ino, fuse_file_info* fi, bool by_walship, int* backing_id,
             bool creating = false);
  int DoRead(fuse_ino_t ino, size_t size, off_t offset, std::string* out);
  int DoWrite(fuse_ino_t ino, const char* buf, size_t size, off_t offset);
  int DoFsync(fuse_ino_t ino);
  int DoFlush(fuse_ino_t ino);
  int DoStatfs(struct statvfs* st);

 private:
  // Mounts with KernelChannel (root), else with libfuse (fusermount3).
  Status MountConnection();
  // A backing id if `db`'s file of this kind (-wal, -shm) is to be opened
  // with passthrough, else -1.
  int PassthroughBacking(store::Db* db, store::FileKind kind, bool by_walship);
  Result<int> BackingId(store::Db* db, store::FileKind kind);
  // Releases the backing ids of a deleted database's files.
  void DropBackingFiles(store::Db* db);
  // Writes to fusectl's abort file of this mount's connection.
  void AbortConnection();
  // The database and file kind a node refers to; nullptr if the database is unknown.
  store::Db* DbOf(const Node& node) const;
  // The errno for a node whose database DbOf does not find: ESTALE when it
  // was deleted (the kernel then looks the name up again, and finds a
  // database created since under it), else ENOENT.
  int NoDbErrno(const Node& node) const;

  int Stat(const Node& node, struct stat* st, double* timeout);
  int StatSqliteFile(const Node& node, struct stat* st);
  // Contents of an info file (-pos, .lag, .primary); ENOENT when absent.
  int InfoFileText(const Node& node, std::string* text);
  int Entry(const Node& node, fuse_entry_param* entry);
  int Log(int err, const char* op, const Node& node, const Status& status);
  // A new database NAME created in the mount: validated (InvalidArgument ->
  // EINVAL), refused on a replica (ReadOnly -> EROFS), logged when refused.
  Result<store::Db*> CreateDatabase(const std::string& name);
  // `rm DB`: deletes the database on the primary (replicated), EROFS on a
  // replica, ENOENT when there is none. Its id goes to `id`.
  int DeleteDatabase(const std::string& name, size_t* id);

  // local_file_ops.cc: the Do* helpers' part for kLocalFile nodes.
  int LocalErrno(const Status& status, size_t number) const;
  int StatLocalFile(const Node& node, struct stat* st);
  int OpenLocalFile(const Node& node, fuse_file_info* fi);
  int ReadLocalFile(const Node& node, size_t size, off_t offset, std::string* out);
  int WriteLocalFile(const Node& node, const char* buf, size_t size, off_t offset);

  store::Store* store_;
  FileSystemOptions options_;
  LocalFiles local_;
  struct fuse_session* session_ = nullptr;
  std::unique_ptr<KernelChannel> channel_;
  store::WalTailer tailer_;
  std::atomic<bool> passthrough_failed_{false};  // a backing file was refused
  struct BackingFile {
    int id = -1;
    ino_t inode = 0;  // of the data directory's file
  };
  std::mutex backing_mu_;
  std::map<std::pair<store::Db*, store::FileKind>, BackingFile> backing_;  // guarded by backing_mu_
  std::jthread loop_;
  // The kernel's id of this mount's FUSE connection (its device number), for
  // aborting it through fusectl when processes keep files open at unmount.
  unsigned connection_id_ = 0;
  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool loop_done_ = false;  // guarded by loop_mu_
  RequestCounter requests_;
};

// The op table for fuse_session_new; the userdata is the FileSystem.
const fuse_lowlevel_ops& Operations();

}  // namespace walship::fuse
