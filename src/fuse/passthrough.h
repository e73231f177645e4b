// KernelChannel: walship's /dev/fuse connection, mounted by walship itself so
// that it can ask the kernel for FUSE passthrough (Linux 6.9 and later,
// protocol 7.40), which libfuse 3.14 cannot negotiate.
//
// With passthrough, a file's open reply names a "backing file" registered on
// the connection, and the kernel then reads, writes and maps that file
// directly: SQLite's writes to a -wal make no FUSE request at all (DESIGN.md
// §2.1; docs/architecture.md, "Commits without a FUSE round trip"). walship
// uses it for -wal and -shm files on the primary (FileSystem's
// backing_files.cc) and finds the commits by reading the WAL back
// (store::WalTailer).
//
// libfuse still runs the session, with custom I/O (fuse_session_custom_io)
// whose callbacks call Read and Writev. The only request they look into is
// INIT, to see whether the kernel offers FUSE_PASSTHROUGH and to accept it in
// the reply. Open and create replies with a backing id are sent here too:
// libfuse 3.14's replies have no field for it.
//
// Thread-safety: Read and Writev are called by the loop's threads; the INIT
// exchange happens once before any other request. The other methods are
// thread-safe (ioctls on the connection).
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace walship::fuse {

class KernelChannel {
 public:
  KernelChannel() = default;
  ~KernelChannel();
  KernelChannel(const KernelChannel&) = delete;
  KernelChannel& operator=(const KernelChannel&) = delete;

  // Opens /dev/fuse and mounts it at `dir` with mount(2) (root only: needs
  // CAP_SYS_ADMIN, as passthrough does). `want_passthrough`: accept it if the
  // kernel offers it. Then Attach hands the connection to libfuse.
  Status Mount(const std::string& dir, bool allow_other, bool want_passthrough);
  // Makes `session` use this connection through `io`, whose callbacks call
  // Read and Writev. The session then owns the descriptor and closes it when
  // destroyed.
  Status Attach(fuse_session* session, const fuse_custom_io& io);
  // Detaches the mount (umount2 MNT_DETACH); the connection ends once every
  // file in it is closed.
  void Unmount(const std::string& dir);

  // Whether INIT agreed on passthrough (known once the first request came).
  bool passthrough() const { return passthrough_.load(); }
  // Registers `fd` as a backing file; returns its id for an open reply.
  Result<int> OpenBacking(int fd);
  void CloseBacking(int backing_id);

  // The custom I/O: read(2) and writev(2) on the connection, looking at INIT.
  ssize_t Read(int fd, void* buf, size_t len);
  ssize_t Writev(int fd, struct iovec* iov, int count);

  // Replies to OPEN or CREATE so that the kernel reads and writes the
  // backing file `backing_id` directly. Return fuse_reply_*'s result.
  static int ReplyOpen(fuse_req_t req, const fuse_file_info& fi, int backing_id);
  static int ReplyCreate(fuse_req_t req, const fuse_entry_param& entry, const fuse_file_info& fi,
                         int backing_id);

 private:
  int fd_ = -1;
  bool attached_ = false;  // the session owns fd_
  bool want_passthrough_ = false;
  std::atomic<bool> passthrough_{false};
  // The INIT request's id, until its reply is sent (0: none pending).
  std::atomic<uint64_t> init_unique_{0};
  bool init_offers_passthrough_ = false;  // set with init_unique_
};

}  // namespace walship::fuse
