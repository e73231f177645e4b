#include "fuse/local_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace walship::fuse {

LocalFiles::LocalFiles(std::string dir) : dir_(std::move(dir)) {}

LocalFiles::~LocalFiles() {
  for (File& f : files_) {
    if (f.fd >= 0) ::close(f.fd);
  }
}

Status LocalFiles::Open() {
  {
    std::lock_guard lock(mu_);
    if (!files_.empty()) return Status::OK();  // mounted before: numbers stay
  }
  if (::mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno("create " + dir_, errno);
  }
  DIR* d = ::opendir(dir_.c_str());
  if (!d) return Status::FromErrno("list " + dir_, errno);
  std::lock_guard lock(mu_);
  Status st;
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (auto added = AddLocked(name, O_RDWR); !added.ok()) st = added.status();
  }
  ::closedir(d);
  return st;
}

Result<size_t> LocalFiles::AddLocked(const std::string& name, int flags) {
  const int fd = ::open(PathOf(name).c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("open " + PathOf(name), errno);
  files_.push_back({name, fd, /*dir_synced=*/(flags & O_CREAT) == 0});
  return files_.size() - 1;
}

std::optional<size_t> LocalFiles::Find(const std::string& name) const {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < files_.size(); i++) {
    if (files_[i].fd >= 0 && files_[i].name == name) return i;
  }
  return std::nullopt;
}

bool LocalFiles::Removed(size_t number) const {
  std::lock_guard lock(mu_);
  return number < files_.size() && files_[number].fd < 0;
}

Result<size_t> LocalFiles::Create(const std::string& name) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < files_.size(); i++) {
    if (files_[i].fd >= 0 && files_[i].name == name) return i;
  }
  return AddLocked(name, O_RDWR | O_CREAT);
}

Status LocalFiles::Remove(const std::string& name) {
  std::lock_guard lock(mu_);
  for (File& f : files_) {
    if (f.fd < 0 || f.name != name) continue;
    if (::unlink(PathOf(name).c_str()) != 0) return Status::FromErrno("remove " + PathOf(name), errno);
    ::close(f.fd);
    f.fd = -1;
    return Status::OK();
  }
  return Status::NotFound("no local file " + name);
}

std::vector<std::pair<std::string, size_t>> LocalFiles::List() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, size_t>> out;
  for (size_t i = 0; i < files_.size(); i++) {
    if (files_[i].fd >= 0) out.emplace_back(files_[i].name, i);
  }
  return out;
}

Result<LocalFiles::File*> LocalFiles::Get(size_t number) const {
  if (number >= files_.size() || files_[number].fd < 0) {
    return Status::NotFound("local file " + std::to_string(number) + " is gone");
  }
  return &files_[number];
}

Result<struct stat> LocalFiles::Stat(size_t number) const {
  std::lock_guard lock(mu_);
  WALSHIP_ASSIGN_OR_RETURN(File * f, Get(number));
  struct stat st;
  if (::fstat(f->fd, &st) != 0) return Status::FromErrno("stat " + PathOf(f->name), errno);
  return st;
}

Result<size_t> LocalFiles::Read(size_t number, uint64_t offset, std::span<uint8_t> out) const {
  std::lock_guard lock(mu_);
  WALSHIP_ASSIGN_OR_RETURN(File * f, Get(number));
  const ssize_t n = ::pread(f->fd, out.data(), out.size(), off_t(offset));
  if (n < 0) return Status::FromErrno("read " + PathOf(f->name), errno);
  return size_t(n);
}

Status LocalFiles::Write(size_t number, uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  WALSHIP_ASSIGN_OR_RETURN(File * f, Get(number));
  for (size_t done = 0; done < data.size();) {
    const ssize_t n =
        ::pwrite(f->fd, data.data() + done, data.size() - done, off_t(offset + done));
    if (n < 0) return Status::FromErrno("write " + PathOf(f->name), errno);
    done += size_t(n);
  }
  return Status::OK();
}

Status LocalFiles::Truncate(size_t number, uint64_t size) {
  std::lock_guard lock(mu_);
  WALSHIP_ASSIGN_OR_RETURN(File * f, Get(number));
  if (::ftruncate(f->fd, off_t(size)) != 0) {
    return Status::FromErrno("truncate " + PathOf(f->name), errno);
  }
  return Status::OK();
}

Status LocalFiles::Sync(size_t number) {
  std::lock_guard lock(mu_);
  WALSHIP_ASSIGN_OR_RETURN(File * f, Get(number));
  if (::fsync(f->fd) != 0) return Status::FromErrno("sync " + PathOf(f->name), errno);
  if (f->dir_synced) return Status::OK();
  const int dir = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return Status::FromErrno("open " + dir_, errno);
  const int rc = ::fsync(dir);
  const int err = errno;
  ::close(dir);
  if (rc != 0) return Status::FromErrno("sync " + dir_, err);
  f->dir_synced = true;
  return Status::OK();
}

}  // namespace walship::fuse
