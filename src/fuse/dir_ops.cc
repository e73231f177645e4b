// Names and attributes: lookup, getattr, setattr, readdir, create, unlink,
// statfs.
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "base/coding.h"
#include "fuse/errno.h"
#include "fuse/file_system.h"

namespace walship::fuse {
namespace {

// SQLite files change only through this mount, or through the store, which
// invalidates what it changes (a replica's apply, a WAL folded away): the
// kernel may cache their names and attributes for long, so a transaction makes
// no request for them (DESIGN.md §2.1). Info files change behind its back.
constexpr double kSqliteFileTimeout = 3600.0;
constexpr double kInfoFileTimeout = 0.0;

}  // namespace

store::Db* FileSystem::DbOf(const Node& node) const { return store_->ById(node.db_id); }

int FileSystem::NoDbErrno(const Node& node) const {
  return store_->IsDeletedId(node.db_id) ? ESTALE : ENOENT;
}

int FileSystem::Log(int err, const char* op, const Node& node, const Status& status) {
  if (err == 0 || err == ENOENT) return err;
  store::Db* db = DbOf(node);
  spdlog::warn("fuse {} on {}: {} ({})", op,
               db ? NameOf(db->name(), node.kind) : std::string("inode"), status.ToString(),
               std::strerror(err));
  return err;
}

int FileSystem::StatSqliteFile(const Node& node, struct stat* st) {
  store::Db* db = DbOf(node);
  if (!db) return NoDbErrno(node);
  auto real = db->Stat(FileKindOf(node.kind));
  if (!real.ok()) return ToErrno(real.status());
  *st = *real;
  bool writable = node.kind != NodeKind::kDatabase || store_->role().primary;
  st->st_mode = S_IFREG | (writable ? 0644 : 0444);
  return 0;
}

int FileSystem::Stat(const Node& node, struct stat* st, double* timeout) {
  std::memset(st, 0, sizeof *st);
  *timeout = kInfoFileTimeout;
  if (node.kind == NodeKind::kRoot) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
  } else if (IsSqliteFile(node.kind)) {
    if (int err = StatSqliteFile(node, st)) return err;
    *timeout = kSqliteFileTimeout;
  } else if (node.kind == NodeKind::kLocalFile) {
    if (int err = StatLocalFile(node, st)) return err;
  } else {
    std::string text;
    if (int err = InfoFileText(node, &text)) return err;
    st->st_mode = S_IFREG | 0444;
    st->st_size = off_t(text.size());
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    st->st_mtim = st->st_ctim = st->st_atim = now;
  }
  st->st_ino = InodeOf(node);
  st->st_nlink = st->st_nlink ? st->st_nlink : 1;
  return 0;
}

int FileSystem::Entry(const Node& node, fuse_entry_param* entry) {
  std::memset(entry, 0, sizeof *entry);
  double timeout = 0;
  if (int err = Stat(node, &entry->attr, &timeout)) return err;
  entry->ino = InodeOf(node);
  entry->generation = 1;
  entry->attr_timeout = entry->entry_timeout = timeout;
  return 0;
}

int FileSystem::DoLookup(fuse_ino_t parent, const std::string& name, fuse_entry_param* entry) {
  if (parent != kRootIno) return ENOENT;
  ParsedName parsed = ParseName(name);
  Node node{parsed.kind, 0};
  if (parsed.kind == NodeKind::kLocalFile) {
    std::optional<size_t> number = local_.Find(name);
    if (!number) return ENOENT;
    node.db_id = *number;
  } else if (!parsed.db.empty()) {
    store::Db* db = store_->Find(parsed.db);
    if (!db) return ENOENT;
    node.db_id = store_->IdOf(db);
  }
  int err = Entry(node, entry);
  if (err == ENOENT && IsSqliteFile(node.kind) && node.kind != NodeKind::kDatabase) {
    // SQLite looks for a hot journal (or a WAL) at every transaction: let the
    // kernel remember that there is none. Creations come through this mount.
    std::memset(entry, 0, sizeof *entry);
    entry->entry_timeout = kSqliteFileTimeout;
    return 0;  // inode 0: a negative entry
  }
  return err;
}

int FileSystem::DoGetattr(fuse_ino_t ino, struct stat* st, double* timeout) {
  auto node = NodeOf(ino);
  if (!node) return ENOENT;
  return Stat(*node, st, timeout);
}

int FileSystem::DoSetattr(fuse_ino_t ino, const struct stat* attr, int to_set, struct stat* out,
                          double* timeout) {
  auto node = NodeOf(ino);
  if (!node) return ENOENT;
  if ((to_set & FUSE_SET_ATTR_SIZE) && node->kind == NodeKind::kLocalFile) {
    if (int err = LocalErrno(local_.Truncate(node->db_id, uint64_t(attr->st_size)), node->db_id)) {
      return err;
    }
  } else if (to_set & FUSE_SET_ATTR_SIZE) {
    if (!IsSqliteFile(node->kind)) return EACCES;
    store::Db* db = DbOf(*node);
    if (!db) return NoDbErrno(*node);
    Status st = db->Truncate(FileKindOf(node->kind), uint64_t(attr->st_size));
    if (int err = Log(ToErrno(st), "truncate", *node, st)) return err;
  }
  // Mode, owner and times are not kept: SQLite only sets them to what they are.
  return Stat(*node, out, timeout);
}

int FileSystem::DoReaddir(fuse_ino_t ino, size_t size, off_t offset, fuse_req_t req,
                          std::string* out) {
  if (ino != kRootIno) return ENOTDIR;
  std::vector<std::pair<std::string, Node>> entries = {{".", {NodeKind::kRoot, 0}},
                                                       {"..", {NodeKind::kRoot, 0}}};
  std::string text;
  if (InfoFileText({NodeKind::kPrimaryFile, 0}, &text) == 0) {
    entries.push_back({kPrimaryFileName, {NodeKind::kPrimaryFile, 0}});
  }
  entries.push_back({kLagFileName, {NodeKind::kLagFile, 0}});
  for (store::Db* db : store_->List()) {
    size_t id = store_->IdOf(db);
    for (NodeKind kind : {NodeKind::kDatabase, NodeKind::kJournal, NodeKind::kWal, NodeKind::kShm,
                          NodeKind::kPos}) {
      if (IsSqliteFile(kind) && !db->Exists(FileKindOf(kind))) continue;
      entries.push_back({NameOf(db->name(), kind), {kind, id}});
    }
  }
  for (const auto& [name, number] : local_.List()) {
    entries.push_back({name, {NodeKind::kLocalFile, number}});
  }
  for (size_t i = size_t(offset); i < entries.size(); i++) {
    struct stat st {};
    st.st_ino = InodeOf(entries[i].second);
    st.st_mode = entries[i].second.kind == NodeKind::kRoot ? S_IFDIR : S_IFREG;
    size_t need = fuse_add_direntry(req, nullptr, 0, entries[i].first.c_str(), nullptr, 0);
    if (out->size() + need > size) break;
    size_t at = out->size();
    out->resize(at + need);
    fuse_add_direntry(req, out->data() + at, need, entries[i].first.c_str(), &st, off_t(i + 1));
  }
  return 0;
}

Result<store::Db*> FileSystem::CreateDatabase(const std::string& name) {
  // Validated before anything else, so a refused name reaches no log line
  // unescaped and changes nothing on disk.
  if (Status st = store::ValidateDbName(name); !st.ok()) {
    spdlog::warn("fuse: cannot create database: {}", st.message());
    return st;
  }
  if (!store_->role().primary) {
    spdlog::warn("fuse: cannot create database {} on a replica (read-only)", name);
    return Status::ReadOnly("database " + name + " cannot be created on a replica");
  }
  auto created = store_->Create(name);
  if (!created.ok()) {
    spdlog::warn("fuse: cannot create database {}: {}", name, created.status().ToString());
  }
  return created;
}

int FileSystem::DoCreate(fuse_ino_t parent, const std::string& name, fuse_file_info* fi,
                         fuse_entry_param* entry, int* backing_id) {
  *backing_id = -1;
  if (parent != kRootIno) return ENOENT;
  ParsedName parsed = ParseName(name);
  if (parsed.kind == NodeKind::kLocalFile) {
    auto number = local_.Create(name);
    if (!number.ok()) return LocalErrno(number.status(), 0);
    const Node node{NodeKind::kLocalFile, *number};
    if (int err = DoOpen(InodeOf(node), fi, false, backing_id)) return err;
    return Entry(node, entry);
  }
  if (!IsSqliteFile(parsed.kind)) return EACCES;
  store::Db* db = store_->Find(parsed.db);
  if (parsed.kind == NodeKind::kDatabase && !db) {
    auto created = CreateDatabase(parsed.db);
    if (!created.ok()) return ToErrno(created.status());
    db = *created;
  }
  if (!db) return ENOENT;
  Node node{parsed.kind, store_->IdOf(db)};
  Status st = db->Create(FileKindOf(parsed.kind));
  if (int err = Log(ToErrno(st), "create", node, st)) return err;
  if (int err = DoOpen(InodeOf(node), fi, false, backing_id, /*creating=*/true)) return err;
  return Entry(node, entry);
}

int FileSystem::DeleteDatabase(const std::string& name, size_t* id) {
  if (!store_->Find(name)) return ENOENT;
  if (!store_->role().primary) {
    spdlog::warn("fuse: cannot delete database {} on a replica (read-only): delete it on the "
                 "primary", name);
    return EROFS;
  }
  *id = store_->IdOf(store_->Find(name));
  Status st = store_->Delete(name, /*mount=*/nullptr);
  if (!st.ok()) {
    spdlog::warn("fuse: cannot delete database {}: {}", name, st.ToString());
    return ToErrno(st);
  }
  return 0;
}

int FileSystem::DoUnlink(fuse_ino_t parent, const std::string& name,
                         std::optional<std::pair<std::string, size_t>>* deleted) {
  if (parent != kRootIno) return ENOENT;
  ParsedName parsed = ParseName(name);
  if (parsed.kind == NodeKind::kDatabase) {
    size_t id = 0;
    const int err = DeleteDatabase(parsed.db, &id);
    if (err == 0) deleted->emplace(parsed.db, id);
    return err;
  }
  if (parsed.kind == NodeKind::kLocalFile) return ToErrno(local_.Remove(name));
  if (!IsSqliteFile(parsed.kind)) return EPERM;
  store::Db* db = store_->Find(parsed.db);
  if (!db) return ENOENT;
  Node node{parsed.kind, store_->IdOf(db)};
  const store::FileKind kind = FileKindOf(parsed.kind);
  if (kind != store::FileKind::kJournal && db->replica()) {
    // A replica's readers share this -wal and -shm, and walship keeps the
    // -shm open to lock readers out while it applies.
    spdlog::info("fuse: {} not removed on a replica (read-only)", name);
    return EROFS;
  }
  if (kind == store::FileKind::kShm) store_->BeforeShmRemoved(db);
  Status st = db->Remove(kind);
  return Log(ToErrno(st), "unlink", node, st);
}

int FileSystem::DoStatfs(struct statvfs* st) {
  if (::statvfs(store_->data_dir().c_str(), st) != 0) return errno;
  return 0;
}

}  // namespace walship::fuse
