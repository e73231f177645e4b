// The mount's info files: DB-pos (position), .lag (replication lag) and
// .primary (the primary's hostname, on replicas only).
#include <cerrno>
#include <cstdio>

#include "fuse/file_system.h"

namespace walship::fuse {

int FileSystem::InfoFileText(const Node& node, std::string* text) {
  switch (node.kind) {
    case NodeKind::kPos: {
      store::Db* db = DbOf(node);
      if (!db) return NoDbErrno(node);
      *text = db->CommittedPos().PosFileText();
      return 0;
    }
    case NodeKind::kLagFile: {
      int64_t lag = std::min<int64_t>(store_->LagMs(), 2147483647);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%+010d\n", int(lag));
      *text = buf;
      return 0;
    }
    case NodeKind::kPrimaryFile: {
      store::NodeRole role = store_->role();
      if (role.primary || role.primary_hostname.empty()) return ENOENT;
      *text = role.primary_hostname + "\n";
      return 0;
    }
    default:
      return EINVAL;
  }
}

}  // namespace walship::fuse
