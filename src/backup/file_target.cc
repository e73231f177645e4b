#include "backup/file_target.h"

#include <sys/stat.h>

#include <filesystem>
#include <system_error>

#include "env/env.h"

namespace walship::backup {

namespace fs = std::filesystem;

FileTarget::FileTarget(std::string dir) : dir_(std::move(dir)) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
}

Status FileTarget::CheckKey(const std::string& key) const {
  // Keys are made by layout.cc; refuse anything that could leave the directory.
  if (key.empty() || key.front() == '/' || key.find("..") != std::string::npos) {
    return Status::InvalidArgument("backup: bad object key \"" + key + "\"");
  }
  return Status::OK();
}

Status FileTarget::Put(const std::string& key, const std::string& data) {
  WALSHIP_RETURN_IF_ERROR(CheckKey(key));
  env::Env* env = env::Env::Posix();
  const std::string path = env::JoinPath(dir_, key);
  WALSHIP_RETURN_IF_ERROR(env->MkdirAll(env::DirName(path)));
  return env->WriteFileAtomic(
      path, std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()), true);
}

Result<std::string> FileTarget::Get(const std::string& key) {
  WALSHIP_RETURN_IF_ERROR(CheckKey(key));
  const std::string path = env::JoinPath(dir_, key);
  env::Env* env = env::Env::Posix();
  if (!env->Exists(path)) return Status::NotFound("no object " + key + " in " + Describe());
  return env->ReadFile(path);
}

Result<std::vector<ObjectInfo>> FileTarget::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  std::error_code ec;
  if (!fs::exists(dir_, ec)) return out;
  // Walk only the deepest directory the prefix names; keys are '/'-separated.
  std::string start = dir_;
  const size_t slash = prefix.rfind('/');
  if (slash != std::string::npos) start = env::JoinPath(dir_, prefix.substr(0, slash));
  if (!fs::exists(start, ec)) return out;
  fs::recursive_directory_iterator it(start, ec), end;
  if (ec) return Status::IOError("listing " + start + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return Status::IOError("listing " + start + ": " + ec.message());
    if (!it->is_regular_file(ec)) continue;
    std::string key = fs::relative(it->path(), dir_, ec).string();
    if (ec) continue;
    if (key.size() >= 4 && key.compare(key.size() - 4, 4, ".tmp") == 0) continue;
    if (key.rfind(prefix, 0) != 0) continue;
    struct stat st;
    if (::stat(it->path().c_str(), &st) != 0) continue;
    out.push_back({key, static_cast<uint64_t>(st.st_size),
                   int64_t(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000});
  }
  return out;
}

Status FileTarget::Delete(const std::string& key) {
  WALSHIP_RETURN_IF_ERROR(CheckKey(key));
  Status st = env::Env::Posix()->Remove(env::JoinPath(dir_, key));
  if (st.IsNotFound()) return Status::OK();
  return st;
}

}  // namespace walship::backup
