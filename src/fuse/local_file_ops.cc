// The Do* helpers' part for plain local files (LocalFiles): SQLite's
// super-journals, served as they are from DATA/local/.
#include <fcntl.h>

#include <cerrno>

#include "fuse/errno.h"
#include "fuse/file_system.h"

namespace walship::fuse {

int FileSystem::LocalErrno(const Status& status, size_t number) const {
  if (status.ok()) return 0;
  // A descriptor left open on a deleted file: stale, like a deleted database.
  if (status.IsNotFound() && local_.Removed(number)) return ESTALE;
  return ToErrno(status);
}

int FileSystem::StatLocalFile(const Node& node, struct stat* st) {
  auto real = local_.Stat(node.db_id);
  if (!real.ok()) return LocalErrno(real.status(), node.db_id);
  *st = *real;
  st->st_mode = S_IFREG | 0644;
  return 0;
}

int FileSystem::OpenLocalFile(const Node& node, fuse_file_info* fi) {
  struct stat st;
  if (int err = StatLocalFile(node, &st)) return err;
  if (fi->flags & O_TRUNC) return LocalErrno(local_.Truncate(node.db_id, 0), node.db_id);
  return 0;
}

int FileSystem::ReadLocalFile(const Node& node, size_t size, off_t offset, std::string* out) {
  out->resize(size);
  auto n = local_.Read(node.db_id, uint64_t(offset), {reinterpret_cast<uint8_t*>(out->data()), size});
  if (!n.ok()) return LocalErrno(n.status(), node.db_id);
  out->resize(*n);
  return 0;
}

int FileSystem::WriteLocalFile(const Node& node, const char* buf, size_t size, off_t offset) {
  return LocalErrno(
      local_.Write(node.db_id, uint64_t(offset), {reinterpret_cast<const uint8_t*>(buf), size}),
      node.db_id);
}

}  // namespace walship::fuse
