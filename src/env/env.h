// Env: the seam for every file-system call the store makes, so tests can swap
// in a fault-injecting implementation (see fault_env.h). Every operation takes a
// label-free path; failures come back as IOError Status naming the path.
//
// Thread-safety: Env methods are thread-safe. A File may be used from several
// threads at once for ReadAt/WriteAt (positional I/O); Truncate/Sync likewise.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace walship::env {

class File {
 public:
  virtual ~File() = default;
  // Reads up to out.size() bytes at `offset`; returns bytes read (short at EOF).
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) = 0;
  // Writes all of `data` at `offset`.
  virtual Status WriteAt(uint64_t offset, std::span<const uint8_t> data) = 0;
  virtual Status Truncate(uint64_t size) = 0;
  virtual Status Sync() = 0;
  virtual Result<uint64_t> Size() = 0;
  virtual const std::string& path() const = 0;
  // The OS descriptor, for callers that must stat or lock; -1 when there is none.
  virtual int fd() const = 0;
};

// kCreate: read-write, created if absent. kCreateTruncate: also emptied if it
// exists (no truncation of a file just created, so no forced flush on close).
enum class OpenMode { kRead, kReadWrite, kCreate, kCreateTruncate };

class Env {
 public:
  virtual ~Env() = default;
  virtual Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status Remove(const std::string& path) = 0;  // NotFound when absent
  virtual Status MkdirAll(const std::string& path) = 0;
  virtual Status SyncDir(const std::string& path) = 0;
  // Makes everything written to the file system holding `path` durable with
  // one call (syncfs): cheaper than fsyncing many small files one by one.
  virtual Status SyncFileSystem(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // Names in a directory (no "." or ".."), unsorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;

  // Writes `data` to `path` crash-safely: tmp file, fsync, rename, fsync(dir).
  Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> data, bool sync);
  Result<std::string> ReadFile(const std::string& path);

  // The process-wide POSIX implementation; never null, lives forever.
  static Env* Posix();
};

std::string DirName(const std::string& path);
std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace walship::env
