#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/crash_point.h"
#include "env/env.h"

namespace walship::env {
namespace {

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { ::close(fd_); }

  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) override {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, off_t(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno("read " + path_, errno);
      if (n == 0) break;
      done += size_t(n);
    }
    return done;
  }

  Status WriteAt(uint64_t offset, std::span<const uint8_t> data) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, off_t(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno("write " + path_, errno);
      done += size_t(n);
    }
    return Status::OK();
  }

  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, off_t(size)) != 0) return Status::FromErrno("truncate " + path_, errno);
    return Status::OK();
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) return Status::FromErrno("fsync " + path_, errno);
    return Status::OK();
  }

  Result<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Status::FromErrno("stat " + path_, errno);
    return uint64_t(st.st_size);
  }

  const std::string& path() const override { return path_; }
  int fd() const override { return fd_; }

 private:
  int fd_;
  std::string path_;
};

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    int flags = O_CLOEXEC;
    if (mode == OpenMode::kRead) flags |= O_RDONLY;
    if (mode == OpenMode::kReadWrite) flags |= O_RDWR;
    if (mode == OpenMode::kCreate) flags |= O_RDWR | O_CREAT;
    if (mode == OpenMode::kCreateTruncate) flags |= O_RDWR | O_CREAT | O_TRUNC;
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) {
      if (errno == ENOENT) return Status::NotFound("open " + path + ": no such file");
      return Status::FromErrno("open " + path, errno);
    }
    return std::unique_ptr<File>(new PosixFile(fd, path));
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0)
      return Status::FromErrno("rename " + from + " to " + to, errno);
    return Status::OK();
  }

  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return Status::NotFound("remove " + path + ": no such file");
      return Status::FromErrno("remove " + path, errno);
    }
    return Status::OK();
  }

  Status MkdirAll(const std::string& path) override {
    if (path.empty() || Exists(path)) return Status::OK();
    WALSHIP_RETURN_IF_ERROR(MkdirAll(DirName(path)));
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
      return Status::FromErrno("mkdir " + path, errno);
    return Status::OK();
  }

  Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno("open dir " + path, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return Status::FromErrno("fsync dir " + path, err);
    return Status::OK();
  }

  Status SyncFileSystem(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno("open " + path, errno);
    int rc = ::syncfs(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return Status::FromErrno("syncfs " + path, err);
    return Status::OK();
  }

  bool Exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (!dir) {
      if (errno == ENOENT) return Status::NotFound("list " + path + ": no such directory");
      return Status::FromErrno("list " + path, errno);
    }
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(dir)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(dir);
    return names;
  }
};

}  // namespace

Env* Env::Posix() {
  static PosixEnv env;
  return &env;
}

}  // namespace walship::env
