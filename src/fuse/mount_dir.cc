#include "fuse/mount_dir.h"

#include <dirent.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <optional>

namespace walship::fuse {
namespace {

// The first entry of `dir` other than "." and "..", nullopt when it is empty.
Result<std::optional<std::string>> FirstEntry(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::FromErrno("fuse.dir: cannot list " + dir, errno);
  std::optional<std::string> first;
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    first = name;
    break;
  }
  ::closedir(d);
  return first;
}

// stat(2) fails with ENOTCONN on the mount point of a FUSE daemon that died.
Status HandleStaleMount(const std::string& dir, bool skip_unmount) {
  if (skip_unmount) {
    const std::string what =
        "fuse.dir " + dir + " is a stale FUSE mount (the process that served it is gone)";
    const std::string fix = "unmount it (umount -l " + dir + ") or start without -skip-unmount";
    return Status::InvalidArgument(what + " and -skip-unmount keeps it: " + fix);
  }
  spdlog::warn("fuse: {} is a stale mount of a crashed process; unmounting it", dir);
  if (::umount2(dir.c_str(), MNT_DETACH) != 0) {
    return Status::FromErrno("unmount stale mount " + dir, errno);
  }
  return Status::OK();
}

// `dir`'s stat after creating it or detaching a stale mount from it.
Status StatMountDir(const MountDirOptions& options, struct stat* st) {
  const std::string& dir = options.dir;
  if (::stat(dir.c_str(), st) == 0) return Status::OK();
  if (errno == ENOTCONN) {
    WALSHIP_RETURN_IF_ERROR(HandleStaleMount(dir, options.skip_unmount));
  } else if (errno == ENOENT) {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::FromErrno("create mount directory " + dir, errno);
    }
  } else {
    return Status::FromErrno("stat mount directory " + dir, errno);
  }
  if (::stat(dir.c_str(), st) != 0) return Status::FromErrno("stat mount directory " + dir, errno);
  return Status::OK();
}

}  // namespace

Status PrepareMountDir(const MountDirOptions& options) {
  const std::string& dir = options.dir;
  struct stat st;
  WALSHIP_RETURN_IF_ERROR(StatMountDir(options, &st));
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("fuse.dir " + dir +
                                   " exists and is not a directory: remove it, or set fuse.dir "
                                   "to a directory (created when missing)");
  }
  WALSHIP_ASSIGN_OR_RETURN(std::optional<std::string> entry, FirstEntry(dir));
  if (!entry) return Status::OK();
  if (options.allow_non_empty) {
    spdlog::warn(
        "fuse: {} is not empty; its files are hidden while walship is mounted there "
        "(fuse.allow-non-empty)",
        dir);
    return Status::OK();
  }
  return Status::InvalidArgument(
      "fuse.dir " + dir + " is not empty (it holds \"" + *entry +
      "\"; is another walship mounted there?): the mount would hide its files; empty it, set "
      "fuse.dir to an empty or new directory, or set fuse.allow-non-empty: true");
}

}  // namespace walship::fuse
