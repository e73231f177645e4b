// An archive that a former primary carried past this database's history
// (docs/backup.md, "Failover"): it archived commits that never replicated
// before it lost the lease. The new primary finds the newest level-0 object
// or snapshot that ends on its own history, moves every object after it aside under
// NAME/diverged/<unix ms>/ (nothing is deleted), and archives on from there,
// bridging with a snapshot when its local LTX files no longer reach back.
// An archive with nothing in common with this database is refused instead.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "backup/archiver.h"
#include "backup/bundle.h"

namespace walship::backup {

walship::Result<bool> Archiver::EndsOnHistory(store::Db* db,
                                              const std::vector<ArchivedObject>& objects,
                                              uint64_t txid) {
  if (txid > db->pos().txid) return false;
  auto local = db->ChecksumAt(txid);
  if (!local.ok()) return true;  // no longer on disk: cannot tell
  const ArchivedObject* tail = nullptr;
  for (const auto& o : objects) {
    if ((o.level == 0 || o.snapshot()) && o.max_txid == txid) tail = &o;
  }
  if (!tail) return true;
  WALSHIP_ASSIGN_OR_RETURN(std::string object, target_->Get(tail->key));
  WALSHIP_ASSIGN_OR_RETURN(std::string payload, codec_.Open(tail->key, object));
  WALSHIP_ASSIGN_OR_RETURN(auto files, DecodeBundle(payload));
  WALSHIP_ASSIGN_OR_RETURN(LtxSummary last, SummarizeLtx(files.back()));
  return last.trailer.post_apply_checksum == *local;
}

walship::Status Archiver::SetAsideDiverged(store::Db* db, std::vector<ArchivedObject>* objects) {
  const std::string& name = db->name();
  // The fork: the newest level-0 object or snapshot ending on this
  // database's history.
  std::vector<uint64_t> ends;
  for (const auto& o : *objects) {
    if (o.level == 0 || o.snapshot()) ends.push_back(o.max_txid);
  }
  std::sort(ends.rbegin(), ends.rend());
  uint64_t fork = 0;
  for (uint64_t end : ends) {
    WALSHIP_ASSIGN_OR_RETURN(bool same, EndsOnHistory(db, *objects, end));
    if (same) {
      fork = end;
      break;
    }
  }
  if (fork == 0) {
    // Nothing in common: another database of the same name (another cluster,
    // or a data directory started afresh) shares this archive.
    return walship::Status::InvalidArgument(
        "the archive of " + name + " in " + target_->Describe() +
        " holds a different history (no archived transaction is this database's); move that "
        "archive aside to start a new one");
  }
  const std::string aside =
      name + "/diverged/" + std::to_string(Clock::Real()->NowUnixMs()) + "/";
  std::vector<ArchivedObject> kept;
  size_t moved = 0;
  uint64_t last = fork;
  for (const auto& o : *objects) {
    if (o.max_txid <= fork) {
      kept.push_back(o);
      continue;
    }
    WALSHIP_ASSIGN_OR_RETURN(std::string data, target_->Get(o.key));
    WALSHIP_RETURN_IF_ERROR(target_->Put(aside + o.key.substr(name.size() + 1), data));
    WALSHIP_RETURN_IF_ERROR(target_->Delete(o.key));
    moved++;
    last = std::max(last, o.max_txid);
  }
  spdlog::warn("backup: {}: the archive in {} diverged from this database after TXID {} (a "
               "former primary archived TXIDs up to {} that never replicated); moved {} objects "
               "to {} and archiving on from TXID {}",
               name, target_->Describe(), fork, last, moved, aside, fork + 1);
  *objects = std::move(kept);
  return walship::Status::OK();
}

}  // namespace walship::backup
