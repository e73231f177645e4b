#include "backup/archiver.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "backup/bundle.h"
#include "base/thread_name.h"
#include "env/env.h"

namespace walship::backup {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

int64_t NowMs() { return walship::Clock::Real()->NowUnixMs(); }

}  // namespace

Result<std::unique_ptr<Archiver>> Archiver::Create(store::Store* store,
                                                   std::unique_ptr<ArchiveTarget> target,
                                                   ArchiverOptions options) {
  WALSHIP_ASSIGN_OR_RETURN(ObjectCodec codec, ObjectCodec::Create(options.encryption_key));
  if (options.delay.count() <= 0) options.delay = milliseconds(1);
  return std::unique_ptr<Archiver>(
      new Archiver(store, std::move(target), std::move(options), codec));
}

Archiver::Archiver(store::Store* store, std::unique_ptr<ArchiveTarget> target,
                   ArchiverOptions options, ObjectCodec codec)
    : store_(store), target_(std::move(target)), options_(std::move(options)), codec_(codec) {
  const auto now = Clock::now();
  for (auto interval : options_.level_intervals) next_compaction_.push_back(now + interval);
  next_retention_ = now + options_.retention_check_interval;
}

Archiver::~Archiver() { Stop(); }

void Archiver::Start() {
  listener_id_ = store_->AddCommitListener(
      [this](const std::string& db, const ltx::Header& header, uint64_t) {
        OnCommit(db, header);
      });
  delete_listener_id_ = store_->AddDeleteListener(
      [this](const std::string& db, const store::Position&) { OnDelete(db); });
  spdlog::info("backup: archiving to {}{}", target_->Describe(),
               codec_.encrypted() ? " (AES-256-GCM, key id " + codec_.key_id_hex() + ")" : "");
  thread_ = std::jthread([this](std::stop_token stop) {
    NameThisThread("ws-archiver");
    Loop(stop);
  });
}

void Archiver::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
  // What committed up to now goes up before the node stops (best effort;
  // compaction and retention wait for the next start).
  for (store::Db* db : store_->List()) SyncDb(db, /*force=*/true);
  SetAsideDeletedAll();
  if (listener_id_) store_->RemoveCommitListener(listener_id_);
  if (delete_listener_id_) store_->RemoveDeleteListener(delete_listener_id_);
  listener_id_ = delete_listener_id_ = 0;
}

void Archiver::OnCommit(const std::string& db, const ltx::Header& header) {
  // Called with the Db mutex held: record and return.
  std::lock_guard lock(mu_);
  DbState& st = dbs_[db];
  st.local_txid = header.max_txid;
  st.pending.emplace_back(header.max_txid, header.timestamp_ms);
  if (!st.dirty_since) st.dirty_since = Clock::now();
}

void Archiver::OnDelete(const std::string& db) {
  {
    std::lock_guard lock(mu_);
    dbs_.erase(db);
    deleted_[db] = Clock::now();
  }
  cv_.notify_all();
}

void Archiver::SetAsideDeletedAll() {
  constexpr auto kRetry = std::chrono::seconds(5);
  std::vector<std::string> due;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, when] : deleted_) {
      if (Clock::now() >= when) due.push_back(name);
    }
  }
  for (const std::string& name : due) {
    walship::Status st = SetAsideDeleted(name);
    std::lock_guard lock(mu_);
    if (st.ok()) {
      deleted_.erase(name);
      continue;
    }
    stats_.errors++;
    deleted_[name] = Clock::now() + kRetry;
    spdlog::warn("backup: {} was deleted, but its archive in {} could not be set aside (retrying "
                 "in 5 s): {}", name, target_->Describe(), st.ToString());
  }
}

void Archiver::Loop(std::stop_token stop) {
  const milliseconds tick = std::clamp(options_.delay / 4, milliseconds(10), milliseconds(250));
  while (!stop.stop_requested()) {
    Pass(/*force=*/false);
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, stop, tick, [] { return false; });
  }
}

void Archiver::RunOnce() { Pass(/*force=*/true); }

void Archiver::Pass(bool force) {
  // First: a database created again under a deleted name starts afresh.
  SetAsideDeletedAll();
  for (store::Db* db : store_->List()) SyncDb(db, force);
  CompactAll(force);
  if (force || Clock::now() >= next_retention_) {
    RetainAll();
    next_retention_ = Clock::now() + options_.retention_check_interval;
  }
}

void Archiver::SyncDb(store::Db* db, bool force) {
  if (db->deleted()) return;  // listed before it was deleted
  const std::string& name = db->name();
  const auto now = Clock::now();
  bool initialized, has_snapshot, due, snapshot_due;
  {
    std::lock_guard lock(mu_);
    DbState& st = dbs_[name];
    if (st.failures > 0 && now < st.next_attempt && !force) return;
    initialized = st.initialized;
    has_snapshot = st.has_snapshot;
    due = force || (st.dirty_since && now >= *st.dirty_since + options_.delay);
    snapshot_due = st.has_snapshot && NowMs() - st.last_snapshot_ms >= options_.snapshot_interval.count();
  }
  walship::Status s;
  if (!initialized) {
    s = InitDb(db);
  } else if (!has_snapshot) {
    // The database had no transaction when it was first seen: the chain
    // begins with a snapshot as soon as it has one.
    if (db->pos().txid > 0) s = TakeSnapshot(db, /*resets_chain=*/true);
  } else if (due || snapshot_due) {
    s = ShipPending(db);
    if (s.ok() && snapshot_due) s = TakeSnapshot(db, /*resets_chain=*/false);
  }
  if (!s.ok()) return RecordFailure(name, s);
  std::lock_guard lock(mu_);
  DbState& st = dbs_[name];
  if (st.failures > 0) spdlog::info("backup: {}: archiving again after {} failed attempts", name, st.failures);
  st.failures = 0;
  st.last_error.clear();
}

walship::Status Archiver::InitDb(store::Db* db) {
  const std::string& name = db->name();
  WALSHIP_ASSIGN_OR_RETURN(auto objects, ListDbObjects(target_.get(), name));
  const uint64_t local = db->pos().txid;
  uint64_t tail = 0;
  for (const auto& o : objects) {
    if (o.snapshot() || o.level == 0) tail = std::max(tail, o.max_txid);
  }
  if (tail > 0) {
    WALSHIP_ASSIGN_OR_RETURN(bool deleted, EndsAtTombstone(db, objects, tail));
    if (deleted) {
      WALSHIP_RETURN_IF_ERROR(SetAsideDeleted(name));
      objects.clear();
      tail = 0;
    }
  }
  // An archive ahead of this database, or whose last transaction is not this
  // database's: a former primary archived commits that never replicated.
  bool diverged = tail > local;
  if (!diverged && tail > 0) {
    WALSHIP_ASSIGN_OR_RETURN(bool same, EndsOnHistory(db, objects, tail));
    diverged = !same;
  }
  if (diverged) WALSHIP_RETURN_IF_ERROR(SetAsideDiverged(db, &objects));
  bool has_snapshot = false;
  uint64_t archived = 0;
  std::map<int, uint64_t> level_max;
  for (const auto& o : objects) {
    if (o.snapshot()) has_snapshot = true;
    if (o.snapshot() || o.level == 0) archived = std::max(archived, o.max_txid);
    if (o.level > 0) level_max[o.level] = std::max(level_max[o.level], o.max_txid);
  }
  {
    std::lock_guard lock(mu_);
    DbState& st = dbs_[name];
    st.initialized = true;
    st.has_snapshot = has_snapshot;
    st.archived_txid = archived;
    st.local_txid = std::max(st.local_txid, local);
    st.level_max = level_max;
    st.last_snapshot_ms = has_snapshot ? NowMs() : 0;
    while (!st.pending.empty() && st.pending.front().first <= archived) st.pending.pop_front();
    if (archived < local && !st.dirty_since) st.dirty_since = Clock::now() - options_.delay;
  }
  spdlog::info("backup: {}: archive at TXID {}, database at TXID {}{}", name, archived, local,
               has_snapshot ? "" : "; writing the first snapshot");
  if (!has_snapshot && local > 0) return TakeSnapshot(db, /*resets_chain=*/true);
  return walship::Status::OK();
}

walship::Status Archiver::ShipPending(store::Db* db) {
  const std::string& name = db->name();
  uint64_t archived;
  {
    std::lock_guard lock(mu_);
    archived = dbs_[name].archived_txid;
  }
  std::vector<store::LtxFileInfo> pending = db->LtxFilesAfter(archived, options_.max_batch_files + 1);
  if (pending.empty()) {
    std::lock_guard lock(mu_);
    DbState& st = dbs_[name];
    while (!st.pending.empty() && st.pending.front().first <= st.archived_txid) st.pending.pop_front();
    if (st.pending.empty()) st.dirty_since.reset();
    return walship::Status::OK();
  }
  if (pending.front().min_txid != archived + 1) {
    spdlog::warn("backup: {}: local LTX files start at TXID {} but the archive ends at {}; "
                 "writing a snapshot to bridge the gap", name, pending.front().min_txid, archived);
    return TakeSnapshot(db, /*resets_chain=*/true);
  }
  std::vector<std::string> batch;
  uint64_t bytes = 0, first = pending.front().min_txid, last = archived;
  uint64_t prev_post = 0;
  env::Env* env = env::Env::Posix();
  for (const auto& f : pending) {
    if (f.min_txid != last + 1 || batch.size() >= options_.max_batch_files ||
        (bytes >= options_.max_batch_bytes && !batch.empty())) {
      break;
    }
    const std::string what =
        f.bytes ? "txid " + std::to_string(f.max_txid) + " of " + name + " (in memory)" : f.path;
    std::string data;
    if (f.bytes) {
      data = *f.bytes;  // a recent transaction, held in memory
    } else {
      WALSHIP_ASSIGN_OR_RETURN(data, env->ReadFile(f.path));
    }
    auto summary = SummarizeLtx(data);
    if (!summary.ok()) return summary.status().WithContext(what);
    const LtxSummary& s = *summary;
    if (!batch.empty() && !s.header.NoChecksum() && s.header.pre_apply_checksum != prev_post) {
      return walship::Status::Corruption("local LTX " + what +
                                         " does not continue the checksum of the file before it");
    }
    prev_post = s.trailer.post_apply_checksum;
    bytes += data.size();
    batch.push_back(std::move(data));
    last = f.max_txid;
  }
  WALSHIP_RETURN_IF_ERROR(PutObject(LevelKey(name, 0, first, last), EncodeBundle(batch)));
  spdlog::debug("backup: {}: archived TXID {}-{} ({} files, {} bytes)", name, first, last,
                batch.size(), bytes);
  std::lock_guard lock(mu_);
  DbState& st = dbs_[name];
  st.archived_txid = last;
  while (!st.pending.empty() && st.pending.front().first <= last) st.pending.pop_front();
  st.dirty_since.reset();
  if (last < pending.back().max_txid) {
    st.dirty_since = Clock::now() - options_.delay;  // more is waiting: go on at once
  } else if (!st.pending.empty()) {
    st.dirty_since = Clock::now();
  }
  return walship::Status::OK();
}

walship::Status Archiver::TakeSnapshot(store::Db* db, bool resets_chain) {
  const std::string& name = db->name();
  env::Env* env = env::Env::Posix();
  const std::string dir = env::JoinPath(store_->data_dir(), "tmp");
  WALSHIP_RETURN_IF_ERROR(env->MkdirAll(dir));
  const std::string path =
      env::JoinPath(dir, "backup-snapshot-" + std::to_string(::getpid()) + "-" + name + ".ltx");
  auto header = db->WriteSnapshot(path);
  if (!header.ok()) {
    if (header.status().IsNotFound()) return walship::Status::OK();  // no transaction yet
    return header.status().WithContext("snapshot of " + name);
  }
  auto data = env->ReadFile(path);
  (void)env->Remove(path);
  if (!data.ok()) return data.status();
  WALSHIP_RETURN_IF_ERROR(PutObject(SnapshotKey(name, header->max_txid), EncodeBundle({*data})));
  spdlog::info("backup: {}: snapshot at TXID {} ({} bytes)", name, header->max_txid, data->size());
  std::lock_guard lock(mu_);
  DbState& st = dbs_[name];
  st.has_snapshot = true;
  st.last_snapshot_ms = NowMs();
  stats_.snapshots++;
  if (resets_chain && header->max_txid > st.archived_txid) {
    st.archived_txid = header->max_txid;
    while (!st.pending.empty() && st.pending.front().first <= st.archived_txid) st.pending.pop_front();
    if (st.pending.empty()) st.dirty_since.reset();
  }
  return walship::Status::OK();
}

walship::Status Archiver::PutObject(const std::string& key, const std::string& payload) {
  WALSHIP_ASSIGN_OR_RETURN(std::string sealed, codec_.Seal(key, payload));
  walship::Status s = target_->Put(key, sealed);
  std::lock_guard lock(mu_);
  if (!s.ok()) return s;
  stats_.uploads++;
  stats_.upload_bytes += sealed.size();
  return s;
}

void Archiver::RecordFailure(const std::string& db, const walship::Status& s) {
  std::lock_guard lock(mu_);
  DbState& st = dbs_[db];
  stats_.errors++;
  st.failures++;
  const auto backoff = std::min<milliseconds>(milliseconds(500 << std::min(st.failures - 1, 6)),
                                              milliseconds(30000));
  st.next_attempt = Clock::now() + backoff;
  st.last_error = s.ToString();
  if (st.failures == 1 || st.failures % 10 == 0) {
    spdlog::warn("backup: {}: {} (attempt {}; retrying in {} ms)", db, s.ToString(), st.failures,
                 backoff.count());
  }
}

uint64_t Archiver::ArchivedTxid(const std::string& db) const {
  std::lock_guard lock(mu_);
  auto it = dbs_.find(db);
  return it == dbs_.end() ? 0 : it->second.archived_txid;
}

std::vector<ArchiveStatus> Archiver::Positions() const {
  std::lock_guard lock(mu_);
  std::vector<ArchiveStatus> out;
  const int64_t now = NowMs();
  for (const auto& [name, st] : dbs_) {
    ArchiveStatus s;
    s.db = name;
    s.archived_txid = st.archived_txid;
    s.local_txid = st.local_txid;
    s.lag_ms = st.pending.empty() ? 0 : std::max<int64_t>(0, now - st.pending.front().second);
    s.last_error = st.last_error;
    out.push_back(std::move(s));
  }
  return out;
}

ArchiverStats Archiver::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace walship::backup
