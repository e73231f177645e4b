#include "fuse/node.h"

#include "store/db_name.h"

namespace walship::fuse {
namespace {

struct Suffix {
  const char* text;
  NodeKind kind;
};
constexpr Suffix kSuffixes[] = {{"-journal", NodeKind::kJournal},
                                {"-wal", NodeKind::kWal},
                                {"-shm", NodeKind::kShm},
                                {"-pos", NodeKind::kPos}};

// Order of the per-database kinds inside a database's inode block.
constexpr NodeKind kDbKinds[] = {NodeKind::kDatabase, NodeKind::kJournal, NodeKind::kWal,
                                 NodeKind::kShm, NodeKind::kPos};

}  // namespace

fuse_ino_t InodeOf(const Node& node) {
  switch (node.kind) {
    case NodeKind::kRoot: return kRootIno;
    case NodeKind::kPrimaryFile: return kPrimaryIno;
    case NodeKind::kLagFile: return kLagIno;
    case NodeKind::kLocalFile: return kFirstLocalIno + node.db_id;
    default: break;
  }
  fuse_ino_t slot = 0;
  while (kDbKinds[slot] != node.kind) slot++;
  return kFirstDbIno + node.db_id * kInodesPerDb + slot;
}

std::optional<Node> NodeOf(fuse_ino_t ino) {
  if (ino == kRootIno) return Node{NodeKind::kRoot, 0};
  if (ino == kPrimaryIno) return Node{NodeKind::kPrimaryFile, 0};
  if (ino == kLagIno) return Node{NodeKind::kLagFile, 0};
  if (ino < kFirstDbIno) return std::nullopt;
  if (ino >= kFirstLocalIno) return Node{NodeKind::kLocalFile, size_t(ino - kFirstLocalIno)};
  fuse_ino_t slot = (ino - kFirstDbIno) % kInodesPerDb;
  if (slot >= std::size(kDbKinds)) return std::nullopt;
  return Node{kDbKinds[slot], size_t((ino - kFirstDbIno) / kInodesPerDb)};
}

ParsedName ParseName(const std::string& name) {
  if (name == kPrimaryFileName) return {NodeKind::kPrimaryFile, ""};
  if (name == kLagFileName) return {NodeKind::kLagFile, ""};
  if (store::IsSuperJournalName(name)) return {NodeKind::kLocalFile, name};
  for (const Suffix& s : kSuffixes) {
    std::string suffix = s.text;
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      return {s.kind, name.substr(0, name.size() - suffix.size())};
    }
  }
  return {NodeKind::kDatabase, name};
}

std::string NameOf(const std::string& db, NodeKind kind) {
  for (const Suffix& s : kSuffixes) {
    if (s.kind == kind) return db + s.text;
  }
  return db;
}

bool IsSqliteFile(NodeKind kind) {
  return kind == NodeKind::kDatabase || kind == NodeKind::kJournal || kind == NodeKind::kWal ||
         kind == NodeKind::kShm;
}

store::FileKind FileKindOf(NodeKind kind) {
  switch (kind) {
    case NodeKind::kJournal: return store::FileKind::kJournal;
    case NodeKind::kWal: return store::FileKind::kWal;
    case NodeKind::kShm: return store::FileKind::kShm;
    default: return store::FileKind::kDatabase;
  }
}

NodeKind NodeKindOf(store::FileKind kind) {
  switch (kind) {
    case store::FileKind::kJournal:
      return NodeKind::kJournal;
    case store::FileKind::kWal:
      return NodeKind::kWal;
    case store::FileKind::kShm:
      return NodeKind::kShm;
    case store::FileKind::kDatabase:
      break;
  }
  return NodeKind::kDatabase;
}

}  // namespace walship::fuse
