#include "store/data_dir_lock.h"

#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace walship::store {
namespace {

constexpr char kLockFileName[] = "lock";

// The PID the holder wrote, or "unknown" when the file does not say.
std::string HolderPid(env::File* file) {
  char buf[32] = {0};
  auto n = file->ReadAt(0, {reinterpret_cast<uint8_t*>(buf), sizeof buf - 1});
  std::string text = n.ok() ? std::string(buf, *n) : "";
  text = text.substr(0, text.find('\n'));
  const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  return digits ? text : "unknown";
}

Status WritePid(env::File* file) {
  const std::string pid = std::to_string(::getpid()) + "\n";
  WALSHIP_RETURN_IF_ERROR(file->Truncate(0));
  return file->WriteAt(0, {reinterpret_cast<const uint8_t*>(pid.data()), pid.size()});
}

}  // namespace

Result<std::unique_ptr<DataDirLock>> DataDirLock::Acquire(const std::string& data_dir,
                                                          env::Env* env) {
  WALSHIP_RETURN_IF_ERROR(env->MkdirAll(data_dir));
  const std::string path = env::JoinPath(data_dir, kLockFileName);
  // kCreate does not truncate: the holder's PID stays readable.
  WALSHIP_ASSIGN_OR_RETURN(auto file, env->Open(path, env::OpenMode::kCreate));
  if (::flock(file->fd(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      return Status::Busy("data directory " + data_dir + " is in use by another walship (pid " +
                          HolderPid(file.get()) + ", lock file " + path + ")");
    }
    return Status::IOError("cannot lock " + path + ": " + std::strerror(err), err);
  }
  WALSHIP_RETURN_IF_ERROR(WritePid(file.get()).WithContext("writing the PID to " + path));
  return std::unique_ptr<DataDirLock>(new DataDirLock(std::move(file)));
}

}  // namespace walship::store
