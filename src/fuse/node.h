// Node: what an inode or a name in the flat walship mount refers to.
//
// The mount is one directory. Inode numbers are derived, never allocated:
// fixed numbers for the root and the info files, and for database number `id`
// (Store::ById) a block of kInodesPerDb numbers, one per file kind. Databases
// are never removed while mounted, so numbers are never reused and the FUSE
// layer keeps no lookup counts. Pure functions; thread-safe.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <cstddef>
#include <optional>
#include <string>

#include "store/tx_spec.h"

namespace walship::fuse {

enum class NodeKind {
  kRoot, kPrimaryFile, kLagFile, kDatabase, kJournal, kWal, kShm, kPos,
  kLocalFile,  // a plain file of this node (LocalFiles): SQLite's super-journals
};

struct Node {
  NodeKind kind = NodeKind::kRoot;
  size_t db_id = 0;  // for the per-database kinds; for kLocalFile its LocalFiles number
};

inline constexpr fuse_ino_t kRootIno = FUSE_ROOT_ID;  // 1
inline constexpr fuse_ino_t kPrimaryIno = 2;
inline constexpr fuse_ino_t kLagIno = 3;
inline constexpr fuse_ino_t kFirstDbIno = 16;
inline constexpr fuse_ino_t kInodesPerDb = 8;
// Local files' inodes: kFirstLocalIno + their number, far above any database's.
inline constexpr fuse_ino_t kFirstLocalIno = fuse_ino_t(1) << 48;

inline constexpr char kPrimaryFileName[] = ".primary";
inline constexpr char kLagFileName[] = ".lag";

fuse_ino_t InodeOf(const Node& node);
std::optional<Node> NodeOf(fuse_ino_t ino);

// A name in the mount split into its database and kind: "app.db-wal" is
// {"app.db", kWal}; "app.db" is {"app.db", kDatabase}. Info files have no db.
// A super-journal name is {the whole name, kLocalFile}.
struct ParsedName {
  NodeKind kind;
  std::string db;
};
ParsedName ParseName(const std::string& name);
// The name of database `db`'s file of this kind ("app.db-wal").
std::string NameOf(const std::string& db, NodeKind kind);

bool IsSqliteFile(NodeKind kind);  // database, journal, wal or shm
// The store's file kind. REQUIRES: IsSqliteFile(kind).
store::FileKind FileKindOf(NodeKind kind);
// The node of a store file kind.
NodeKind NodeKindOf(store::FileKind kind);

}  // namespace walship::fuse
