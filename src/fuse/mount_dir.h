// The directory walship mounts on (fuse.dir), made ready before the mount:
// created when missing, a stale mount left by a crashed process detached
// (unless the caller asked to keep it, LiteFS's -skip-unmount), and the
// mistakes refused with a message naming the fix — a path that is not a
// directory, and a directory with files in it that the mount would hide.
// Nothing is mounted here, so a refusal leaves no mount behind.
//
// Thread-safety: reentrant; touches only the file system.
#pragma once

#include <string>

#include "base/status.h"

namespace walship::fuse {

struct MountDirOptions {
  std::string dir;
  // Leave a stale mount at `dir` in place; PrepareMountDir then fails on it.
  bool skip_unmount = false;
  // Mount over files already in `dir` (they are hidden while mounted).
  bool allow_non_empty = false;
};

// OK when `options.dir` is a directory walship may mount on.
// InvalidArgument for a non-directory, a non-empty directory (unless
// allowed) or a kept stale mount; an errno Status when the checks fail.
Status PrepareMountDir(const MountDirOptions& options);

}  // namespace walship::fuse
