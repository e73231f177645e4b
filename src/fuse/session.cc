// Mounting, the libfuse op table, and unmounting.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/thread_name.h"
#include "fuse/file_system.h"
#include "fuse/mount_dir.h"

namespace walship::fuse {
namespace {

// The FUSE connection id (the minor device number) of the newest mount at
// `dir`, from /proc/self/mountinfo; 0 when not found. Not from stat(2): the
// kernel would send that to this very mount, whose loop is not running yet.
unsigned ConnectionIdOf(const std::string& dir) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  unsigned id = 0;
  for (std::string line; std::getline(mountinfo, line);) {
    // "36 35 0:45 / /mount/point rw,... - fuse.walship ..."
    std::istringstream fields(line);
    std::string mount_id, parent, devno, root, point;
    if (!(fields >> mount_id >> parent >> devno >> root >> point) || point != dir) continue;
    const size_t colon = devno.find(':');
    if (colon != std::string::npos) id = unsigned(std::stoul(devno.substr(colon + 1)));
  }
  return id;
}

FileSystem* Fs(fuse_req_t req) { return static_cast<FileSystem*>(fuse_req_userdata(req)); }

// FUSE names the calling thread; this process's threads are under /proc/self/task.
bool IsWalshipThread(pid_t tid) {
  return tid == ::getpid() || ::access(("/proc/self/task/" + std::to_string(tid)).c_str(), F_OK) == 0;
}

void Init(void*, fuse_conn_info* conn) {
  // Cached pages are invalidated explicitly (replica apply), never because an
  // mtime moved; writes must reach walship synchronously (no writeback cache).
  // POSIX and flock locks stay the kernel's: answering them here would cost
  // round trips on every transaction (DESIGN.md §2.1).
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
  conn->want &= ~FUSE_CAP_POSIX_LOCKS;
  conn->want &= ~FUSE_CAP_FLOCK_LOCKS;
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Fs(req)->Count(FuseOp::kLookup);
  fuse_entry_param e;
  int err = Fs(req)->DoLookup(parent, name, &e);
  if (err) fuse_reply_err(req, err);
  else fuse_reply_entry(req, &e);
}

void Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Fs(req)->Count(FuseOp::kGetattr);
  struct stat st;
  double timeout = 0;
  int err = Fs(req)->DoGetattr(ino, &st, &timeout);
  if (err) fuse_reply_err(req, err);
  else fuse_reply_attr(req, &st, timeout);
}

void Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  Fs(req)->Count(FuseOp::kSetattr);
  struct stat st;
  double timeout = 0;
  int err = Fs(req)->DoSetattr(ino, attr, to_set, &st, &timeout);
  if (err) fuse_reply_err(req, err);
  else fuse_reply_attr(req, &st, timeout);
}

void Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  Fs(req)->Count(FuseOp::kReaddir);
  std::string buf;
  int err = Fs(req)->DoReaddir(ino, size, off, req, &buf);
  if (err) fuse_reply_err(req, err);
  else fuse_reply_buf(req, buf.data(), buf.size());
}

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t, fuse_file_info* fi) {
  FileSystem* fs = Fs(req);
  fs->Count(FuseOp::kCreate);
  fuse_entry_param e;
  int backing_id = -1;
  int err = fs->DoCreate(parent, name, fi, &e, &backing_id);
  if (err) {
    fuse_reply_err(req, err);
  } else if (backing_id < 0) {
    fuse_reply_create(req, &e, fi);
  } else {
    KernelChannel::ReplyCreate(req, e, *fi, backing_id);
  }
}

void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  FileSystem* fs = Fs(req);
  fs->Count(FuseOp::kUnlink);
  std::optional<std::pair<std::string, size_t>> deleted;
  fuse_reply_err(req, fs->DoUnlink(parent, name, &deleted));
  // Answered: the kernel lets go of the directory, and the names of the
  // deleted database's other files can be dropped before anyone reuses them.
  if (deleted) fs->ForgetDatabase(deleted->first, deleted->second);
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FileSystem* fs = Fs(req);
  fs->Count(FuseOp::kOpen);
  // Only a write open on a replica asks who the caller is.
  const bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
  int backing_id = -1;
  int err = fs->DoOpen(ino, fi, writing && IsWalshipThread(fuse_req_ctx(req)->pid), &backing_id);
  if (err) {
    fuse_reply_err(req, err);
  } else if (backing_id < 0) {
    fuse_reply_open(req, fi);
  } else {
    KernelChannel::ReplyOpen(req, *fi, backing_id);
  }
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  Fs(req)->Count(FuseOp::kRead);
  std::string buf;
  int err = Fs(req)->DoRead(ino, size, off, &buf);
  if (err) fuse_reply_err(req, err);
  else fuse_reply_buf(req, buf.data(), buf.size());
}

void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
           fuse_file_info*) {
  Fs(req)->Count(FuseOp::kWrite);
  int err = Fs(req)->DoWrite(ino, buf, size, off);
  if (err) fuse_reply_err(req, err);
  else fuse_reply_write(req, size);
}

void Flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Fs(req)->Count(FuseOp::kFlush);
  fuse_reply_err(req, Fs(req)->DoFlush(ino));
}

void Release(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  Fs(req)->Count(FuseOp::kRelease);
  fuse_reply_err(req, 0);
}



void Fsync(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) {
  Fs(req)->Count(FuseOp::kFsync);
  fuse_reply_err(req, Fs(req)->DoFsync(ino));
}

void Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Fs(req)->Count(FuseOp::kOpendir);
  if (ino != kRootIno) fuse_reply_err(req, ENOTDIR);
  else fuse_reply_open(req, fi);
}

void Statfs(fuse_req_t req, fuse_ino_t) {
  Fs(req)->Count(FuseOp::kStatfs);
  struct statvfs st;
  int err = Fs(req)->DoStatfs(&st);
  if (err) fuse_reply_err(req, err);
  else fuse_reply_statfs(req, &st);
}

// The custom I/O of a connection walship mounted itself.
ssize_t ChannelRead(int fd, void* buf, size_t len, void* userdata) {
  return static_cast<FileSystem*>(userdata)->channel()->Read(fd, buf, len);
}
ssize_t ChannelWritev(int fd, struct iovec* iov, int count, void* userdata) {
  return static_cast<FileSystem*>(userdata)->channel()->Writev(fd, iov, count);
}

fuse_lowlevel_ops MakeOperations() {
  fuse_lowlevel_ops ops{};
  ops.init = Init;
  ops.lookup = Lookup;
  ops.getattr = Getattr;
  ops.setattr = Setattr;
  ops.readdir = Readdir;
  ops.opendir = Opendir;
  ops.create = Create;
  ops.unlink = Unlink;
  ops.open = Open;
  ops.read = Read;
  ops.write = Write;
  ops.flush = Flush;
  ops.release = Release;
  ops.fsync = Fsync;
  ops.statfs = Statfs;
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& Operations() {
  static const fuse_lowlevel_ops ops = MakeOperations();
  return ops;
}

FileSystem::FileSystem(store::Store* store, FileSystemOptions options)
    : store_(store), options_(std::move(options)), local_(store->data_dir() + "/local") {}

FileSystem::~FileSystem() { Unmount(); }

Status FileSystem::Mount() {
  WALSHIP_RETURN_IF_ERROR(
      PrepareMountDir({options_.mount_dir, options_.skip_unmount, options_.allow_non_empty}));
  WALSHIP_RETURN_IF_ERROR(local_.Open());
  // The path as /proc/self/mountinfo will show it; resolved before mounting,
  // while resolving it does not ask the new mount.
  std::string real_dir = options_.mount_dir;
  if (char* real = ::realpath(options_.mount_dir.c_str(), nullptr)) {
    real_dir = real;
    std::free(real);
  }
  std::vector<std::string> argv = {"walship", "-o", "fsname=walship,subtype=walship"};
  if (options_.allow_other) argv.insert(argv.end(), {"-o", "allow_other"});
  if (options_.debug) argv.push_back("-d");
  std::vector<char*> cargs;
  for (auto& a : argv) cargs.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(int(cargs.size()), cargs.data());
  session_ = fuse_session_new(&args, &Operations(), sizeof(fuse_lowlevel_ops), this);
  if (!session_) return Status::IOError("fuse: cannot create session (bad options?)");
  if (Status st = MountConnection(); !st.ok()) {
    fuse_session_destroy(session_);
    session_ = nullptr;
    return st;
  }
  connection_id_ = ConnectionIdOf(real_dir);
  loop_done_ = false;
  loop_ = std::jthread([this] {
    NameThisThread("ws-fuse");  // its workers inherit the name
    fuse_loop_config* config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(config, 16);
    int rc = fuse_session_loop_mt(session_, config);
    fuse_loop_cfg_destroy(config);
    if (rc != 0) spdlog::debug("fuse: loop ended with {}", rc);
    {
      std::lock_guard lock(loop_mu_);
      loop_done_ = true;
    }
    loop_cv_.notify_all();
  });
  spdlog::info("fuse: mounted {}", options_.mount_dir);
  return Status::OK();
}

Status FileSystem::MountConnection() {
  auto channel = std::make_unique<KernelChannel>();
  Status own = channel->Mount(options_.mount_dir, options_.allow_other, options_.passthrough);
  if (own.ok()) {
    static const fuse_custom_io io = {ChannelWritev, ChannelRead, nullptr, nullptr};
    channel_ = std::move(channel);
    if (Status st = channel_->Attach(session_, io); !st.ok()) {
      channel_->Unmount(options_.mount_dir);
      channel_.reset();
      return st;
    }
    if (options_.passthrough) WALSHIP_RETURN_IF_ERROR(tailer_.Start());
    return Status::OK();
  }
  // Not root: libfuse mounts through fusermount3 (no passthrough: registering
  // a backing file needs CAP_SYS_ADMIN anyway).
  if (options_.passthrough) {
    spdlog::warn(
        "fuse: FUSE passthrough off ({}): every WAL write is a request to walship "
        "(slower)",
        own.ToString());
  }
  if (fuse_session_mount(session_, options_.mount_dir.c_str()) != 0) {
    return Status::IOError("fuse: cannot mount " + options_.mount_dir +
                           " (is /dev/fuse available, and are you root or in group fuse?)");
  }
  return Status::OK();
}

void FileSystem::InvalidateFile(const std::string& name, store::FileKind kind, uint64_t offset,
                                uint64_t length) {
  store::Db* db = store_->Find(name);
  if (!session_ || !db) return;
  const NodeKind node_kind = NodeKindOf(kind);
  fuse_ino_t ino = InodeOf({node_kind, store_->IdOf(db)});
  int rc = fuse_lowlevel_notify_inval_inode(session_, ino, off_t(offset), off_t(length));
  // ENOENT: the kernel has no cached inode, so nothing is stale.
  if (rc != 0 && rc != -ENOENT) {
    spdlog::warn("fuse: cannot invalidate cached pages of {}: {}", NameOf(name, node_kind),
                 std::strerror(-rc));
  }
}

void FileSystem::InvalidateNames(const std::string& name) {
  if (!session_) return;
  for (NodeKind kind : {NodeKind::kDatabase, NodeKind::kJournal, NodeKind::kWal, NodeKind::kShm,
                        NodeKind::kPos}) {
    const std::string entry = NameOf(name, kind);
    int rc = fuse_lowlevel_notify_inval_entry(session_, kRootIno, entry.c_str(), entry.size());
    if (rc != 0 && rc != -ENOENT) {
      spdlog::warn("fuse: cannot invalidate the cached name {}: {}", entry, std::strerror(-rc));
    }
  }
}

void FileSystem::ForgetDatabase(const std::string& db, size_t id) {
  if (!session_) return;
  InvalidateNames(db);
  DropBackingFiles(store_->ById(id));
  // Not -shm: SQLite maps it, and a page it faults in again after the
  // deletion would kill the process with SIGBUS instead of failing a read.
  for (NodeKind kind : {NodeKind::kDatabase, NodeKind::kJournal, NodeKind::kWal, NodeKind::kPos}) {
    const int rc = fuse_lowlevel_notify_inval_inode(session_, InodeOf({kind, id}), 0, 0);
    if (rc != 0 && rc != -ENOENT) {
      spdlog::warn("fuse: cannot drop the cached pages of deleted {}: {}", NameOf(db, kind),
                   std::strerror(-rc));
    }
  }
}

Result<int> FileSystem::OpenThroughMount(const std::string& db, store::FileKind kind) {
  const std::string path = options_.mount_dir + "/" + NameOf(db, NodeKindOf(kind));
  // Read-write: fcntl write locks need it. Nothing is written through it.
  const int flags = O_RDWR | O_CLOEXEC;
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return Status::FromErrno("open " + path + " through the mount", errno);
  return fd;
}

void FileSystem::AbortConnection() {
  // fusectl lists every FUSE connection; mount it if nothing has.
  const std::string dir = "/sys/fs/fuse/connections";
  const std::string abort = dir + "/" + std::to_string(connection_id_) + "/abort";
  if (::access(abort.c_str(), W_OK) != 0) {
    (void)::mount("fusectl", dir.c_str(), "fusectl", 0, nullptr);
  }
  const int fd = ::open(abort.c_str(), O_WRONLY);
  if (fd < 0 || ::write(fd, "1", 1) != 1) {
    spdlog::error("fuse: cannot abort the connection of {} through {}: {}", options_.mount_dir,
                  abort, std::strerror(errno));
  }
  if (fd >= 0) ::close(fd);
}

void FileSystem::Unmount() {
  if (!session_) return;
  fuse_session_exit(session_);
  if (channel_) {
    channel_->Unmount(options_.mount_dir);
  } else {
    fuse_session_unmount(session_);
  }
  // The lazy unmount is done, but while a process keeps a file open the
  // connection lives on and the loop keeps serving it. After a grace period,
  // abort the connection: those processes' next operations fail (ENOTCONN).
  {
    std::unique_lock lock(loop_mu_);
    if (!loop_cv_.wait_for(lock, options_.unmount_grace, [&] { return loop_done_; })) {
      lock.unlock();
      spdlog::warn("fuse: processes still have files open under {} {} ms after unmounting; "
                   "aborting the connection (their next operations fail)",
                   options_.mount_dir, options_.unmount_grace.count());
      AbortConnection();
    }
  }
  if (loop_.joinable()) loop_.join();
  tailer_.Stop();
  fuse_session_destroy(session_);
  session_ = nullptr;
  channel_.reset();
  spdlog::info("fuse: unmounted {}", options_.mount_dir);
}

}  // namespace walship::fuse
