#include "env/env.h"

#include "base/crash_point.h"

namespace walship::env {

std::string DirName(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

Status Env::WriteFileAtomic(const std::string& path, std::span<const uint8_t> data, bool sync) {
  std::string tmp = path + ".tmp";
  {
    WALSHIP_ASSIGN_OR_RETURN(auto file, Open(tmp, OpenMode::kCreateTruncate));
    Status st = file->WriteAt(0, data);
    if (st.ok() && sync) st = file->Sync();
    if (!st.ok()) {
      (void)Remove(tmp);  // a full disk gets its space back
      return st;
    }
  }
  CrashPoint("atomic-write-before-rename");
  WALSHIP_RETURN_IF_ERROR(Rename(tmp, path));
  if (sync) WALSHIP_RETURN_IF_ERROR(SyncDir(DirName(path)));
  return Status::OK();
}

Result<std::string> Env::ReadFile(const std::string& path) {
  WALSHIP_ASSIGN_OR_RETURN(auto file, Open(path, OpenMode::kRead));
  WALSHIP_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  std::string data(size, '\0');
  WALSHIP_ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, {reinterpret_cast<uint8_t*>(data.data()), data.size()}));
  data.resize(n);
  return data;
}

}  // namespace walship::env
