// An archive that a former primary carried past this database's history
// (docs/backup.md, "Failover"): it archived commits that never replicated
// before it lost the lease. The new primary finds the newest level-0 object
// or snapshot that ends on its own history, moves every object after it aside under
// NAME/diverged/<unix ms>/ (nothing is deleted), and archives on from there,
// bridging with a snapshot when its local LTX files no longer reach back.
// An archive with nothing in common with this database is refused instead,
// unless the database was deleted and created again: then, as when the
// archiver sees a deletion happen, the old archive moves whole to
// NAME/deleted/<unix ms>/.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "backup/archiver.h"
#include "backup/bundle.h"

namespace walship::backup {

walship::Result<std::optional<uint64_t>> Archiver::ArchivedChecksumAt(
    const std::vector<ArchivedObject>& objects, uint64_t txid) {
  const ArchivedObject* tail = nullptr;
  for (const auto& o : objects) {
    if ((o.level == 0 || o.snapshot()) && o.max_txid == txid) tail = &o;
  }
  if (!tail) return std::optional<uint64_t>();
  WALSHIP_ASSIGN_OR_RETURN(std::string object, target_->Get(tail->key));
  WALSHIP_ASSIGN_OR_RETURN(std::string payload, codec_.Open(tail->key, object));
  WALSHIP_ASSIGN_OR_RETURN(auto files, DecodeBundle(payload));
  WALSHIP_ASSIGN_OR_RETURN(LtxSummary last, SummarizeLtx(files.back()));
  return std::optional<uint64_t>(last.trailer.post_apply_checksum);
}

walship::Result<bool> Archiver::EndsOnHistory(store::Db* db,
                                              const std::vector<ArchivedObject>& objects,
                                              uint64_t txid) {
  if (txid > db->pos().txid) return false;
  auto local = db->ChecksumAt(txid);
  if (!local.ok()) return true;  // no longer on disk: cannot tell
  WALSHIP_ASSIGN_OR_RETURN(std::optional<uint64_t> archived, ArchivedChecksumAt(objects, txid));
  return !archived || *archived == *local;
}

walship::Result<bool> Archiver::EndsAtTombstone(store::Db* db,
                                                const std::vector<ArchivedObject>& objects,
                                                uint64_t tail) {
  const std::optional<store::Position> tombstone = store_->Deleted(db->name());
  if (!tombstone || tombstone->txid != tail || db->pos() == *tombstone) return false;
  WALSHIP_ASSIGN_OR_RETURN(std::optional<uint64_t> archived, ArchivedChecksumAt(objects, tail));
  return archived == tombstone->checksum;
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
  if (fork == 0 && store_->Deleted(name)) {
    // A database of this name was deleted while the archiver was not
    // running: these objects are its archive.
    WALSHIP_RETURN_IF_ERROR(SetAsideDeleted(name));
    objects->clear();
    return walship::Status::OK();
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
  std::vector<ArchivedObject> kept, after;
  uint64_t last = fork;
  for (const auto& o : *objects) {
    if (o.max_txid <= fork) {
      kept.push_back(o);
    } else {
      after.push_back(o);
      last = std::max(last, o.max_txid);
    }
  }
  WALSHIP_RETURN_IF_ERROR(MoveObjects(name, after, aside));
  const size_t moved = after.size();
  spdlog::warn("backup: {}: the archive in {} diverged from this database after TXID {} (a "
               "former primary archived TXIDs up to {} that never replicated); moved {} objects "
               "to {} and archiving on from TXID {}",
               name, target_->Describe(), fork, last, moved, aside, fork + 1);
  *objects = std::move(kept);
  return walship::Status::OK();
}

walship::Status Archiver::MoveObjects(const std::string& name,
                                      const std::vector<ArchivedObject>& objects,
                                      const std::string& aside) {
  for (const auto& o : objects) {
    WALSHIP_ASSIGN_OR_RETURN(std::string data, target_->Get(o.key));
    WALSHIP_RETURN_IF_ERROR(target_->Put(aside + o.key.substr(name.size() + 1), data));
    WALSHIP_RETURN_IF_ERROR(target_->Delete(o.key));
  }
  return walship::Status::OK();
}

walship::Status Archiver::SetAsideDeleted(const std::string& name) {
  WALSHIP_ASSIGN_OR_RETURN(auto objects, ListDbObjects(target_.get(), name));
  if (objects.empty()) return walship::Status::OK();
  const std::string aside =
      name + "/deleted/" + std::to_string(Clock::Real()->NowUnixMs()) + "/";
  WALSHIP_RETURN_IF_ERROR(MoveObjects(name, objects, aside));
  uint64_t last = 0;
  for (const auto& o : objects) last = std::max(last, o.max_txid);
  spdlog::info("backup: {} was deleted; moved its archive ({} objects, TXIDs up to {}) to {} in {}",
               name, objects.size(), last, aside, target_->Describe());
  return walship::Status::OK();
}

}  // namespace walship::backup
