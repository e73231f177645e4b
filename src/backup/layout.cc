#include "backup/layout.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "ltx/format.h"

namespace walship::backup {

std::string ArchivedObject::Describe() const {
  return key + " (TXID " + std::to_string(min_txid) + "-" + std::to_string(max_txid) + ")";
}

std::string LevelKey(const std::string& db, int level, uint64_t min_txid, uint64_t max_txid) {
  return db + "/L" + std::to_string(level) + "/" + ltx::FileName(min_txid, max_txid);
}

std::string SnapshotKey(const std::string& db, uint64_t txid) {
  char name[32];
  std::snprintf(name, sizeof name, "%016" PRIx64 ".ltx", txid);
  return db + "/snapshots/" + name;
}

bool ParseKey(const std::string& db, const ObjectInfo& info, ArchivedObject* out) {
  const std::string& key = info.key;
  if (key.rfind(db + "/", 0) != 0) return false;
  const std::string rest = key.substr(db.size() + 1);
  const size_t slash = rest.find('/');
  if (slash == std::string::npos) return false;
  const std::string dir = rest.substr(0, slash), name = rest.substr(slash + 1);
  ArchivedObject o;
  o.key = key;
  o.size = info.size;
  o.modified_ms = info.modified_ms;
  if (dir == "snapshots") {
    uint64_t txid = 0;
    if (name.size() != 20 || name.substr(16) != ".ltx") return false;
    if (std::sscanf(name.c_str(), "%16" SCNx64, &txid) != 1 || txid == 0) return false;
    if (SnapshotKey(db, txid) != key) return false;
    o.level = kSnapshotLevel;
    o.min_txid = 1;
    o.max_txid = txid;
  } else if (dir.size() == 2 && dir[0] == 'L' && dir[1] >= '0' && dir[1] <= '0' + kMaxLevel) {
    o.level = dir[1] - '0';
    if (!ltx::ParseFileName(name, &o.min_txid, &o.max_txid)) return false;
    if (o.min_txid == 0 || o.min_txid > o.max_txid) return false;
  } else {
    return false;
  }
  *out = std::move(o);
  return true;
}

Result<std::vector<ArchivedObject>> ListDbObjects(ArchiveTarget* target, const std::string& db) {
  WALSHIP_ASSIGN_OR_RETURN(auto infos, target->List(db + "/"));
  std::vector<ArchivedObject> out;
  for (const ObjectInfo& info : infos) {
    ArchivedObject o;
    if (ParseKey(db, info, &o)) out.push_back(std::move(o));
  }
  std::sort(out.begin(), out.end(), [](const ArchivedObject& a, const ArchivedObject& b) {
    if (a.level != b.level) return a.level < b.level;
    if (a.min_txid != b.min_txid) return a.min_txid < b.min_txid;
    return a.max_txid < b.max_txid;
  });
  return out;
}

}  // namespace walship::backup
