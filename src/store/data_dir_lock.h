// DataDirLock: one walship process per data directory. `walship mount` takes
// an exclusive flock(2) on DATA/lock before it reads or writes anything else
// in DATA/, and writes its PID into the file so a second process can say who
// holds it. The lock lives as long as the DataDirLock (the open descriptor);
// the kernel drops it when the process dies, however it dies, so a stale
// lock file never blocks a restart. The descriptor is close-on-exec: the
// application walship starts does not inherit it. See docs/operations.md.
//
// Thread-safety: a DataDirLock is owned by one thread; Acquire is reentrant.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "env/env.h"

namespace walship::store {

class DataDirLock {
 public:
  // Creates DATA (and DATA/lock) when absent and locks it. Busy, naming the
  // PID written by the holder, when another process holds the lock; IOError
  // when the file cannot be created or locked.
  static Result<std::unique_ptr<DataDirLock>> Acquire(const std::string& data_dir,
                                                      env::Env* env = env::Env::Posix());

  const std::string& path() const { return file_->path(); }

 private:
  explicit DataDirLock(std::unique_ptr<env::File> file) : file_(std::move(file)) {}

  std::unique_ptr<env::File> file_;  // holds the flock while open
};

}  // namespace walship::store
