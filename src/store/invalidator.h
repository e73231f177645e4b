// Invalidator: how the store tells the kernel that bytes of a database file
// changed behind its back (a replica applying a transaction), so cached pages
// and attributes are dropped. Implemented by the FUSE layer; the store only
// knows this interface (DESIGN.md §2).
//
// Called without any Db mutex held (the kernel may need to call back into the
// file system to complete an invalidation). Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace walship::store {

class Invalidator {
 public:
  virtual ~Invalidator() = default;
  // Drops cached data of database `db`'s file in [offset, offset + length),
  // and its cached size.
  virtual void InvalidateDatabase(const std::string& db, uint64_t offset, uint64_t length) = 0;
};

}  // namespace walship::store
