// LocalFiles: the plain files of this node's mount — SQLite's super-journals
// (`DB-mj` and 8 or 9 hex digits, written for a transaction over several
// rollback-journal databases), which are never databases and never
// replicated (DESIGN.md §1.4). They live in DATA/local/ under their own names and are served as
// they are: created, written, synced, truncated and deleted.
//
// Each file gets a number when it is first seen, never reused while the mount
// runs (the FUSE layer derives its inode from it), so a descriptor left open
// on a deleted file reads ESTALE instead of another file's bytes.
//
// Thread-safety: all methods are thread-safe; one mutex is held across each
// file operation (these files are small and rare).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace walship::fuse {

class LocalFiles {
 public:
  // `dir` is DATA/local.
  explicit LocalFiles(std::string dir);
  ~LocalFiles();
  LocalFiles(const LocalFiles&) = delete;
  LocalFiles& operator=(const LocalFiles&) = delete;

  // Creates the directory and numbers the files already in it.
  Status Open();

  // The number of the file called `name`; nullopt when there is none.
  std::optional<size_t> Find(const std::string& name) const;
  // Whether `number` named a file that was deleted since.
  bool Removed(size_t number) const;
  // Creates `name` (or finds it) and returns its number.
  Result<size_t> Create(const std::string& name);
  // NotFound when there is no such file.
  Status Remove(const std::string& name);
  // (name, number) of every file.
  std::vector<std::pair<std::string, size_t>> List() const;

  // NotFound for a number that names no file (any more).
  Result<struct stat> Stat(size_t number) const;
  Result<size_t> Read(size_t number, uint64_t offset, std::span<uint8_t> out) const;
  Status Write(size_t number, uint64_t offset, std::span<const uint8_t> data);
  Status Truncate(size_t number, uint64_t size);
  // fsync of the file, and of the directory once after the file was created.
  Status Sync(size_t number);

 private:
  struct File {
    std::string name;
    int fd = -1;  // -1 once removed
    bool dir_synced = false;
  };
  // REQUIRES: mu_ held. NotFound unless `number` names an open file.
  Result<File*> Get(size_t number) const;
  std::string PathOf(const std::string& name) const { return dir_ + "/" + name; }
  Result<size_t> AddLocked(const std::string& name, int flags);

  const std::string dir_;
  mutable std::mutex mu_;
  mutable std::vector<File> files_;  // index is the number
};

}  // namespace walship::fuse
