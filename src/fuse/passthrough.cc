#include "fuse/passthrough.h"

#include <fcntl.h>
#include <linux/fuse.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

namespace walship::fuse {
namespace {

// Protocol 7.40 (Linux 6.9), newer than Debian 12's <linux/fuse.h> (7.38).
constexpr uint64_t kInitPassthrough = 1ULL << 37;  // FUSE_PASSTHROUGH, in flags2
constexpr uint32_t kOpenPassthrough = 1u << 7;     // FOPEN_PASSTHROUGH
// fuse_init_out's first unused word became max_stack_depth: how deep the
// backing files' file systems may be stacked. 2 is the kernel's maximum
// (FILESYSTEM_MAX_STACK_DEPTH): a data directory on overlayfs works.
constexpr uint32_t kMaxStackDepth = 2;
struct BackingMap {  // struct fuse_backing_map
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};
constexpr unsigned long kIocBackingOpen = _IOW(229, 1, BackingMap);  // FUSE_DEV_IOC_BACKING_OPEN
constexpr unsigned long kIocBackingClose = _IOW(229, 2, uint32_t);   // FUSE_DEV_IOC_BACKING_CLOSE

// libfuse's conversion of a timeout in seconds (fill_entry).
uint64_t TimeoutSec(double t) {
  if (t <= 0) return 0;
  if (t > double(ULONG_MAX)) return ULONG_MAX;
  return uint64_t(t);
}
uint32_t TimeoutNsec(double t) {
  if (t <= 0) return 0;
  const double ns = (t - double(TimeoutSec(t))) * 1e9;
  return ns >= 999999999.0 ? 999999999 : uint32_t(ns);
}

void FillAttr(const struct stat& st, fuse_attr* attr) {
  attr->ino = st.st_ino;
  attr->mode = st.st_mode;
  attr->nlink = uint32_t(st.st_nlink);
  attr->uid = st.st_uid;
  attr->gid = st.st_gid;
  attr->rdev = uint32_t(st.st_rdev);
  attr->size = uint64_t(st.st_size);
  attr->blksize = uint32_t(st.st_blksize);
  attr->blocks = uint64_t(st.st_blocks);
  attr->atime = uint64_t(st.st_atim.tv_sec);
  attr->mtime = uint64_t(st.st_mtim.tv_sec);
  attr->ctime = uint64_t(st.st_ctim.tv_sec);
  attr->atimensec = uint32_t(st.st_atim.tv_nsec);
  attr->mtimensec = uint32_t(st.st_mtim.tv_nsec);
  attr->ctimensec = uint32_t(st.st_ctim.tv_nsec);
}

fuse_open_out OpenOut(const fuse_file_info& fi, int backing_id) {
  fuse_open_out out{};
  out.fh = fi.fh;
  out.open_flags = kOpenPassthrough;
  if (fi.noflush) out.open_flags |= FOPEN_NOFLUSH;
  out.padding = uint32_t(backing_id);  // backing_id since 7.40
  return out;
}

}  // namespace

KernelChannel::~KernelChannel() {
  if (fd_ >= 0 && !attached_) ::close(fd_);
}

Status KernelChannel::Mount(const std::string& dir, bool allow_other, bool want_passthrough) {
  want_passthrough_ = want_passthrough;
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return Status::FromErrno("stat " + dir, errno);
  fd_ = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fd_ < 0) return Status::FromErrno("open /dev/fuse", errno);
  char rootmode[16];
  std::snprintf(rootmode, sizeof rootmode, "%o", unsigned(st.st_mode & S_IFMT));  // octal
  std::string options = "fd=" + std::to_string(fd_) + ",rootmode=" + rootmode +
                        ",user_id=" + std::to_string(::getuid()) +
                        ",group_id=" + std::to_string(::getgid());
  if (allow_other) options += ",allow_other";
  if (::mount("walship", dir.c_str(), "fuse.walship", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    return Status::FromErrno("mount " + dir, err);
  }
  return Status::OK();
}

Status KernelChannel::Attach(fuse_session* session, const fuse_custom_io& io) {
  const int rc = fuse_session_custom_io(session, &io, fd_);
  if (rc != 0) return Status::FromErrno("fuse: cannot use the mounted connection", -rc);
  attached_ = true;
  return Status::OK();
}

void KernelChannel::Unmount(const std::string& dir) {
  if (::umount2(dir.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    spdlog::warn("fuse: cannot unmount {}: {}", dir, std::strerror(errno));
  }
}

ssize_t KernelChannel::Read(int fd, void* buf, size_t len) {
  const ssize_t n = ::read(fd, buf, len);
  if (n < ssize_t(sizeof(fuse_in_header) + sizeof(fuse_init_in))) return n;
  const auto* in = static_cast<const fuse_in_header*>(buf);
  if (in->opcode != FUSE_INIT) return n;
  const auto* init = reinterpret_cast<const fuse_init_in*>(in + 1);
  init_offers_passthrough_ =
      (init->flags & FUSE_INIT_EXT) && (init->flags2 & uint32_t(kInitPassthrough >> 32));
  init_unique_.store(in->unique);
  spdlog::debug("fuse: INIT {}.{} flags {:#x} flags2 {:#x}", init->major, init->minor, init->flags,
                init->flags2);
  return n;
}

ssize_t KernelChannel::Writev(int fd, struct iovec* iov, int count) {
  const uint64_t init = init_unique_.load();
  if (init != 0 && count >= 2 && iov[0].iov_len >= sizeof(fuse_out_header) &&
      static_cast<fuse_out_header*>(iov[0].iov_base)->unique == init) {
    init_unique_.store(0);
    auto* out = static_cast<fuse_init_out*>(iov[1].iov_base);
    const bool error = static_cast<fuse_out_header*>(iov[0].iov_base)->error != 0;
    if (!error && iov[1].iov_len >= sizeof(fuse_init_out) && want_passthrough_ &&
        init_offers_passthrough_) {
      out->flags |= FUSE_INIT_EXT;
      out->flags2 |= uint32_t(kInitPassthrough >> 32);
      out->unused[0] = kMaxStackDepth;
      passthrough_.store(true);
      spdlog::info(
          "fuse: FUSE passthrough on: SQLite's writes to -wal files reach the data "
          "directory without a request to walship");
    } else if (want_passthrough_ && !init_offers_passthrough_) {
      spdlog::warn(
          "fuse: the kernel does not offer FUSE passthrough (Linux 6.9 or later with "
          "CONFIG_FUSE_PASSTHROUGH): every WAL write is a request to walship (slower)");
    }
  }
  return ::writev(fd, iov, count);
}

Result<int> KernelChannel::OpenBacking(int fd) {
  BackingMap map{fd, 0, 0};
  const int id = ::ioctl(fd_, kIocBackingOpen, &map);
  if (id < 0) return Status::FromErrno("fuse: cannot register a backing file", errno);
  return id;
}

void KernelChannel::CloseBacking(int backing_id) {
  uint32_t id = uint32_t(backing_id);
  if (::ioctl(fd_, kIocBackingClose, &id) != 0) {
    spdlog::warn("fuse: cannot release backing file {}: {}", backing_id, std::strerror(errno));
  }
}

int KernelChannel::ReplyOpen(fuse_req_t req, const fuse_file_info& fi, int backing_id) {
  fuse_open_out out = OpenOut(fi, backing_id);
  iovec iov{&out, sizeof out};
  return fuse_reply_iov(req, &iov, 1);
}

int KernelChannel::ReplyCreate(fuse_req_t req, const fuse_entry_param& entry,
                               const fuse_file_info& fi, int backing_id) {
  struct {
    fuse_entry_out entry;
    fuse_open_out open;
  } out{};
  out.entry.nodeid = entry.ino;
  out.entry.generation = entry.generation;
  out.entry.entry_valid = TimeoutSec(entry.entry_timeout);
  out.entry.entry_valid_nsec = TimeoutNsec(entry.entry_timeout);
  out.entry.attr_valid = TimeoutSec(entry.attr_timeout);
  out.entry.attr_valid_nsec = TimeoutNsec(entry.attr_timeout);
  FillAttr(entry.attr, &out.entry.attr);
  out.open = OpenOut(fi, backing_id);
  iovec iov{&out, sizeof out};
  return fuse_reply_iov(req, &iov, 1);
}

}  // namespace walship::fuse
