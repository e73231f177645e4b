// MountAccess: how the store reaches the FUSE mount in front of it, which it
// otherwise knows nothing of (DESIGN.md §2). Implemented by the FUSE layer.
//
//   InvalidateFile      bytes of a database's file changed behind the
//                       kernel's back (a replica applying a transaction, a
//                       WAL emptied at a step-down): drop its cached pages
//                       and attributes.
//   InvalidateNames     files of a database appeared or vanished behind the
//                       kernel's back (a WAL folded away, a database arriving
//                       by replication): drop cached names, positive or not.
//   ForgetDatabase      a database was deleted: drop the cached names of its
//                       files and the cached pages of its inodes (`id`,
//                       Store::IdOf) but -shm's, so open descriptors read
//                       errors, not the deleted bytes.
//   OpenThroughMount    a descriptor of a database's file as applications see
//                       it, so walship can take SQLite's locks on it with
//                       fcntl as any SQLite process would: the kernel keeps
//                       POSIX locks per inode of the mount (DESIGN.md §2.1).
//
// Called without any Db mutex held (the kernel calls back into the file
// system to open a file or complete an invalidation). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"
#include "store/tx_spec.h"

namespace walship::store {

class MountAccess {
 public:
  virtual ~MountAccess() = default;
  virtual void InvalidateFile(const std::string& db, FileKind kind, uint64_t offset,
                              uint64_t length) = 0;
  virtual void InvalidateNames(const std::string& db) = 0;
  virtual void ForgetDatabase(const std::string& db, size_t id) = 0;
  // Opens `db`'s file of this kind through the mount, read-write (write locks
  // need it; the mount lets walship itself do so on a replica). The caller
  // owns and closes the descriptor.
  virtual Result<int> OpenThroughMount(const std::string& db, FileKind kind) = 0;
};

}  // namespace walship::store
