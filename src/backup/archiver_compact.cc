// Compaction and retention of the archive (docs/backup.md).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "backup/archiver.h"
#include "backup/bundle.h"
#include "ltx/merge.h"

namespace walship::backup {

namespace {
constexpr size_t kMaxMergeObjects = 2048;
constexpr uint64_t kMaxMergeBytes = 256ull << 20;
}  // namespace

void Archiver::CompactAll(bool force) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, st] : dbs_) {
      if (st.initialized) names.push_back(name);
    }
  }
  for (size_t i = 0; i < next_compaction_.size() && int(i) < kMaxLevel; i++) {
    if (!force && now < next_compaction_[i]) continue;
    next_compaction_[i] = now + options_.level_intervals[i];
    const int level = int(i) + 1;
    for (const std::string& name : names) {
      walship::Status s = CompactLevel(name, level);
      if (!s.ok()) {
        std::lock_guard lock(mu_);
        stats_.errors++;
        dbs_[name].last_error = s.ToString();
        spdlog::warn("backup: {}: compaction into L{} failed: {}", name, level, s.ToString());
      }
    }
  }
}

walship::Status Archiver::CompactLevel(const std::string& db, int level) {
  WALSHIP_ASSIGN_OR_RETURN(auto objects, ListDbObjects(target_.get(), db));
  uint64_t covered = 0;
  for (const auto& o : objects) {
    if (o.level == level) covered = std::max(covered, o.max_txid);
  }
  // The run of level-1 objects right after what this level covers; after a
  // break in the chain (a snapshot bridged a gap) it starts at the break.
  std::vector<const ArchivedObject*> run;
  uint64_t bytes = 0;
  for (const auto& o : objects) {
    if (o.level != level - 1 || o.min_txid <= covered) continue;
    if (!run.empty() && o.min_txid != run.back()->max_txid + 1) break;
    if (run.size() >= kMaxMergeObjects || bytes >= kMaxMergeBytes) break;
    run.push_back(&o);
    bytes += o.size;
  }
  if (run.size() < 2) return walship::Status::OK();
  std::vector<std::string> payloads;
  std::vector<std::string_view> files;
  payloads.reserve(run.size());
  for (const ArchivedObject* o : run) {
    WALSHIP_ASSIGN_OR_RETURN(std::string object, target_->Get(o->key));
    WALSHIP_ASSIGN_OR_RETURN(std::string payload, codec_.Open(o->key, object));
    payloads.push_back(std::move(payload));
    auto entries = DecodeBundle(payloads.back());
    if (!entries.ok()) return entries.status().WithContext("object " + o->Describe());
    files.insert(files.end(), entries->begin(), entries->end());
  }
  auto merged = ltx::Merge(files);
  if (!merged.ok()) {
    return merged.status().WithContext("merging " + run.front()->Describe() + " .. " +
                                       run.back()->Describe());
  }
  const uint64_t min = run.front()->min_txid, max = run.back()->max_txid;
  WALSHIP_RETURN_IF_ERROR(PutObject(LevelKey(db, level, min, max), EncodeBundle({*merged})));
  spdlog::debug("backup: {}: compacted {} L{} objects into L{} TXID {}-{}", db, run.size(),
                level - 1, level, min, max);
  std::lock_guard lock(mu_);
  stats_.compactions++;
  dbs_[db].level_max[level] = max;
  return walship::Status::OK();
}

void Archiver::RetainAll() {
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, st] : dbs_) {
      if (st.initialized) names.push_back(name);
    }
  }
  for (const std::string& name : names) {
    walship::Status s = RetainDb(name);
    if (!s.ok()) {
      std::lock_guard lock(mu_);
      stats_.errors++;
      spdlog::warn("backup: {}: retention failed: {}", name, s.ToString());
    }
  }
}

walship::Status Archiver::RetainDb(const std::string& db) {
  WALSHIP_ASSIGN_OR_RETURN(auto objects, ListDbObjects(target_.get(), db));
  const int64_t cutoff = walship::Clock::Real()->NowUnixMs() - options_.retention.count();
  // The newest snapshot written before the window opened is the oldest
  // restore point still needed; everything it supersedes can go.
  const ArchivedObject* base = nullptr;
  for (const auto& o : objects) {
    if (o.snapshot() && o.modified_ms > 0 && o.modified_ms <= cutoff &&
        (!base || o.max_txid > base->max_txid)) {
      base = &o;
    }
  }
  if (!base) return walship::Status::OK();
  const uint64_t floor = base->max_txid;
  size_t deleted = 0;
  for (const auto& o : objects) {
    const bool obsolete = o.snapshot() ? o.max_txid < floor : o.max_txid <= floor;
    if (!obsolete) continue;
    WALSHIP_RETURN_IF_ERROR(target_->Delete(o.key));
    deleted++;
  }
  if (deleted) {
    spdlog::info("backup: {}: retention deleted {} objects up to TXID {}", db, deleted, floor);
    std::lock_guard lock(mu_);
    stats_.deletions += deleted;
  }
  return walship::Status::OK();
}

}  // namespace walship::backup
